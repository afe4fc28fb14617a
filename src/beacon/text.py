"""Text that PostgreSQL can store: no NUL, no unpaired UTF-16 surrogate.

People's input is refused at the boundary when it carries either (``web/guard.py``: a clear
422); text Beacon makes itself from a model's answer is cleaned here instead, so a stray
character never wedges a draft."""

from __future__ import annotations

import re

# One character class, no repetition: linear on any input.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> bool:
    """Whether PostgreSQL would refuse this text (NUL) or it cannot be encoded (lone surrogate)."""
    return _UNSTORABLE.search(text) is not None


def scrub(value):
    """The same value with NUL removed and lone surrogates replaced, in every nested string."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value
