"""Reading and validating the rubric library files. Nothing here touches the database:
a library either validates whole, or the caller gets every problem and loads nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from beacon.rubrics.schemas import RubricDefinition

MAX_RUBRIC_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


@dataclass
class Library:
    rubrics: list[tuple[Path, RubricDefinition]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rubrics)


def content_hash(rubric: RubricDefinition) -> str:
    """A stable fingerprint of everything a rubric says: any change makes a new version."""
    canonical = json.dumps(rubric.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _field_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(file)"


def read_rubric_file(path: Path) -> tuple[RubricDefinition | None, list[Problem]]:
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(name, "(file)", f"cannot be read: {exc.strerror or exc}")]
    if not raw.strip():
        return None, [Problem(name, "(file)", "is empty")]
    if len(raw) > MAX_RUBRIC_FILE_BYTES:
        return None, [Problem(name, "(file)", f"is larger than {MAX_RUBRIC_FILE_BYTES // 1024} KiB")]
    if b"\x00" in raw:
        return None, [Problem(name, "(file)", "is binary, not YAML text")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(name, "(file)", f"is not UTF-8 text (byte {exc.start})")]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [Problem(name, where, f"malformed YAML: {reason}")]
    if not isinstance(data, dict):
        return None, [Problem(name, "(file)", "must be a YAML mapping with id, title, criteria, ...")]
    try:
        rubric = RubricDefinition.model_validate(data)
    except ValidationError as exc:
        return None, [
            Problem(name, _field_path(err["loc"]), err["msg"].removeprefix("Value error, "))
            for err in exc.errors()
        ]
    if rubric.id != path.stem:
        return None, [Problem(name, "id", f"is {rubric.id!r} but the file is named {path.stem!r}.yaml")]
    return rubric, []


def read_library(directory: Path) -> Library:
    library = Library()
    if not directory.is_dir():
        library.problems.append(Problem(str(directory), "(folder)", "does not exist"))
        return library
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        library.problems.append(Problem(str(directory), "(folder)", "holds no .yaml rubric files"))
    seen: dict[str, str] = {}
    for path in files:
        rubric, problems = read_rubric_file(path)
        library.problems.extend(problems)
        if rubric is None:
            continue
        if rubric.id in seen:
            library.problems.append(Problem(path.name, "id", f"{rubric.id!r} is already used by {seen[rubric.id]}"))
            continue
        seen[rubric.id] = path.name
        library.rubrics.append((path, rubric))
    return library
