"""Turning what a student hands in into submission text, or a clear refusal."""

from __future__ import annotations

import sys
from pathlib import Path

from beacon.errors import InvalidInput, NotFound

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ""}


def decode_work(raw: bytes, name: str, max_chars: int) -> str:
    """Text of a work: UTF-8 (BOM tolerated), not binary, not empty, not over the limit."""
    if len(raw) > max_chars * 4:  # UTF-8 is at most 4 bytes a character
        raise InvalidInput(f"{name} is too large: Beacon takes at most {max_chars:,} characters")
    if b"\x00" in raw[:8192]:
        raise InvalidInput(f"{name} looks like a binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{name} is not UTF-8 text (binary, or another encoding)") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InvalidInput(f"{name} is empty: there is no work to read")
    if len(text) > max_chars:
        raise InvalidInput(f"{name} is too large: {len(text):,} characters, the limit is {max_chars:,}")
    return text


def read_work(source: str, max_chars: int) -> tuple[str, str]:
    """``source`` is a path or ``-`` for standard input. Returns (name, text)."""
    if source == "-":
        return "standard input", decode_work(sys.stdin.buffer.read(max_chars * 4 + 1), "standard input", max_chars)
    path = Path(source)
    if not path.exists():
        raise NotFound(f"{source}: no such file")
    if not path.is_file():
        raise InvalidInput(f"{source} is not a file")
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise InvalidInput(f"{source}: only plain text (.txt, .md) can be read here, not {path.suffix}")
    with path.open("rb") as handle:
        raw = handle.read(max_chars * 4 + 1)
    return path.name, decode_work(raw, path.name, max_chars)
