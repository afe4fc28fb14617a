"""Text that PostgreSQL can store: no NUL, no unpaired UTF-16 surrogate.

People's input is refused at the boundary when it carries either (``web/guard.py``: a clear
422); text Beacon makes itself from a model's answer is cleaned here instead, so a stray
character never wedges a draft."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

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


# Limits for text people send, at the schema (a 2 MB "tag" once froze the server for minutes).
Ident = Annotated[str, StringConstraints(max_length=100)]  # ids, codes, tags
Line = Annotated[str, StringConstraints(max_length=400)]  # a title, a name, a sentence
Paragraph = Annotated[str, StringConstraints(max_length=5_000)]  # a reason, a comment, a step
Document = Annotated[str, StringConstraints(max_length=50_000)]  # a whole piece of feedback


BAD_TEXT = "text may not contain NUL characters or unpaired surrogates"


def check_form(form) -> None:
    """A parsed multipart form's text fields and file names, as the body guard checks other
    bodies: a clear 422 before anything is stored."""
    from fastapi import HTTPException
    from starlette.datastructures import UploadFile

    for value in form.values():
        text = (value.filename or "") if isinstance(value, UploadFile) else value
        if isinstance(text, str) and unstorable(text):
            raise HTTPException(422, BAD_TEXT)


def first_name(full_name: str) -> str:
    """How a family's page or an email names a student ("Maya Okafor" → "Maya")."""
    return (full_name.split() or [full_name])[0]


# --- Which language a student's text is in, for screen readers (lang="...") ------------------
# Beacon stores no language for a piece of work, and its page may be in another (a Spanish-reading
# family, an English essay): a screen reader voices text by its lang. A guess from the commonest
# short words of the languages Beacon has pages in; unsure (too short, mixed) is None, and the
# page's language stands, as before.
_COMMON = {
    "en": frozenset("the and of to is that it we are because this for with they be have our should was would "
                    "their which not".split()),
    "es": frozenset("el la los las que y es un una por para con se del porque nuestro nuestra son más está "
                    "este esta pero sus muy".split()),
}
_WORD = re.compile(r"[a-záéíóúñü]+")
GUESS_WORDS = 400  # the first words are enough, and a long essay costs no more


def guess_language(text: str | None) -> str | None:
    """"en" or "es" when the text's common words clearly say so, else None."""
    words = _WORD.findall((text or "")[:4000].lower())[:GUESS_WORDS]
    hits = sorted(((sum(w in common for w in words), lang) for lang, common in _COMMON.items()), reverse=True)
    (best, lang), (second, _) = hits[0], hits[1]
    return lang if best >= 2 and best > 2 * second else None
