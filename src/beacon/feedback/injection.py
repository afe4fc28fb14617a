"""Spotting instructions aimed at an AI inside student text. Student text is data: Beacon never
follows it, and tells the teacher when someone tried."""

from __future__ import annotations

import re

_PATTERNS = [
    r"\b(ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(instruction|rubric|rule|prompt|above|previous|everything)s?\b",
    r"\b(give|assign|award|grade|rate|score)\b[^.!?\n]{0,30}\b(me|this|my (essay|work|paper))\b[^.!?\n]{0,30}\b(highest|top|full|maximum|max|perfect|best|level\s*4|a\+|100)\b",
    r"\b(give|assign|award|rate|score|mark)\b[^.!?\n]{0,40}\b(highest|top|full|maximum|perfect|best)\s+(level|score|grade|mark)s?\b",
    r"\b(you are|act as|pretend (to be|you are)|from now on you)\b[^.!?\n]{0,40}\b(ai|assistant|chatbot|language model|gpt|grader|teacher)\b",
    r"\b(system prompt|developer message|jailbreak|new instructions)\b",
    r"</?\s*(system|assistant|instructions?|student_work)\s*>",
    r"\bas an ai\b",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def find_injections(text: str) -> list[tuple[int, int, str]]:
    """Spans (start, end, text) that read as instructions to a model."""
    return [(m.start(), m.end(), m.group(0)) for m in _INJECTION.finditer(text)]


def mask_injections(text: str) -> str:
    """The text with every sentence that holds an instruction to a model blanked out (same
    length, so offsets still point into the original): what an assessment may look at."""
    masked = list(text)
    for start, end, _ in find_injections(text):
        left = max(text.rfind(mark, 0, start) for mark in ".!?\n") + 1
        rights = [i for i in (text.find(mark, end) for mark in ".!?\n") if i != -1]
        right = min(rights) + 1 if rights else len(text)
        for i in range(left, right):
            if not text[i].isspace():
                masked[i] = " "
    return "".join(masked)
