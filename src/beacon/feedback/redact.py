"""Names and contact details out before anything reaches a model provider; back in for display.

The roster (the student, classmates, teachers) is known, so names are matched exactly (full
name, then first and last names alone, whole words, any case). Any email address, @handle,
phone number and street address is replaced, roster or not. Placeholders are stable within a submission, so a model's "[CLASSMATE_1]" means
the same person everywhere. Offsets in the redacted text map back to the original, so evidence
quoted from what the model saw is shown as the student's own words."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from beacon.feedback.injection import find_injections

# Linear on any input: every pattern starts only where a token starts (a lookbehind on one
# character) and every repetition is bounded, so a 200,000-letter "word" costs one short try
# per position instead of a scan to its end from each of them.
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z])")
HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?(?![\w@])")
PHONE = re.compile(
    r"(?<![\w+.\-])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{2,4}\)[ .\-]?|\d{2,4}[ .\-])\d{3,4}[ .\-]\d{3,4}(?![\w\-])"
)
STREET = re.compile(
    r"(?<![\w\-])\d{1,5}[A-Za-z]?,?[ ]+(?:[A-Z][A-Za-z'\-]{1,20}[ ]+){1,4}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Close|"
    r"Crescent|Highway|Hwy|Parkway|Pkwy|Square|Sq)\b"
)
_PLACEHOLDER = re.compile(r"\[(?:STUDENT|(?:CLASSMATE|TEACHER|EMAIL|HANDLE|PHONE|ADDRESS)_\d+)\]")
# (pattern, placeholder prefix) for contact details found whoever they belong to.
CONTACTS = ((EMAIL, "EMAIL"), (HANDLE, "HANDLE"), (PHONE, "PHONE"), (STREET, "ADDRESS"))


@dataclass(frozen=True)
class Person:
    full_name: str
    role: str  # "student" (the author), "classmate", "teacher"


def people_of(roster: list[dict]) -> list[Person]:
    """The people to redact, from ``roster_people``'s rows as a workflow keeps them."""
    return [Person(p["full_name"], p["role"]) for p in roster]


def roster_people(roster, author_id) -> list[dict]:
    """(user, role in class) pairs as the people to redact: the author, classmates, teachers."""
    return [{"full_name": u.full_name,
             "role": "student" if u.id == author_id else ("teacher" if role == "teacher" else "classmate")}
            for u, role in roster]


@dataclass
class Redaction:
    text: str
    # placeholder -> how to show it again (a first name, or the email itself)
    replacements: dict[str, str] = field(default_factory=dict)
    # (redacted_start, redacted_end, original_start, original_end) of each replacement, in order
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)

    def restore(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.replacements.get(m.group(0), m.group(0)), text)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the redacted text to the original text."""
        return self._map(start, is_end=False), self._map(end, is_end=True)

    def _map(self, offset: int, *, is_end: bool) -> int:
        shift = 0
        index = bisect.bisect_right([s[0] for s in self.spans], offset) - 1
        if index >= 0:
            r_start, r_end, o_start, o_end = self.spans[index]
            if r_start <= offset < r_end or (is_end and offset == r_end):
                return o_end if (is_end and offset > r_start) else o_start
            shift = o_end - r_end
        return offset + shift


def _name_parts(full_name: str) -> list[str]:
    parts = [p for p in re.split(r"\s+", full_name.strip()) if len(p) >= 2]
    return [full_name.strip(), *parts] if len(parts) > 1 else parts


def redact(text: str, people: list[Person]) -> Redaction:
    found: list[tuple[int, int, str]] = []  # (start, end, placeholder) on the original text
    taken = [False] * (len(text) + 1)
    replacements: dict[str, str] = {}

    def claim(start: int, end: int, placeholder: str) -> None:
        if any(taken[start:end]):
            return
        for i in range(start, end):
            taken[i] = True
        found.append((start, end, placeholder))

    for pattern, prefix in CONTACTS:  # emails first: their local parts may look like handles
        seen: dict[str, str] = {}
        for m in pattern.finditer(text):
            placeholder = seen.setdefault(m.group(0).lower(), f"[{prefix}_{len(seen) + 1}]")
            replacements[placeholder] = m.group(0)
            claim(m.start(), m.end(), placeholder)

    counters = {"classmate": 0, "teacher": 0}
    names: list[tuple[str, str]] = []
    for person in people:
        if person.role == "student":
            placeholder = "[STUDENT]"
        else:
            counters[person.role] = counters.get(person.role, 0) + 1
            placeholder = f"[{person.role.upper()}_{counters[person.role]}]"
        replacements.setdefault(placeholder, (person.full_name.split() or [person.full_name])[0])
        names.extend((part, placeholder) for part in _name_parts(person.full_name))
    for name, placeholder in sorted(names, key=lambda n: -len(n[0])):  # full names first
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text, flags=re.IGNORECASE):
            claim(m.start(), m.end(), placeholder)

    out, spans, cursor, position = [], [], 0, 0
    for start, end, placeholder in sorted(found):
        out.append(text[cursor:start])
        position += start - cursor
        spans.append((position, position + len(placeholder), start, end))
        out.append(placeholder)
        position += len(placeholder)
        cursor = end
    out.append(text[cursor:])
    return Redaction("".join(out), replacements, spans)


_WORDS = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*")


def mentions_a_person(text: str, names) -> bool:
    """Whether a text names any of these people (a whole word of a name, as capitalised in the
    name) or carries any contact detail. Used to keep a teacher's comment about one student
    out of another student's draft and out of every prompt."""
    if any(pattern.search(text) for pattern, _ in CONTACTS):
        return True
    words = set(_WORDS.findall(text))
    return any(part in words for name in names for part in name.split() if len(part) >= 2)


def redact_work(text: str, people: list[Person]):
    """Redaction and the injection spans of a work, in one call (run in the process pool)."""
    return redact(text, people), find_injections(text)
