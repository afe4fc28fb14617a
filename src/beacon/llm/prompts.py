"""Prompt templates in ``prompts/*.j2``: Jinja2 with StrictUndefined (a missing variable is an
error, not an empty string). Each draft records the content hash of the templates it used."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import jinja2


@cache
def environment(directory: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # prompts are plain text; student text is fenced, not escaped
        keep_trailing_newline=True,
    )


def render(directory: Path, name: str, **values) -> str:
    return environment(directory).get_template(name).render(**values)


def content_hash(directory: Path, *names: str) -> str:
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode())
        digest.update((directory / name).read_bytes())
    return digest.hexdigest()
