"""Grounding checks on a proposed draft, against the submission and the exact rubric version.

Pure functions: they never call a model. What fails is removed and flagged, never silently
kept; the workflow may ask the model for one repair round before accepting the flags."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from beacon.feedback.schemas import (
    CriterionResult,
    DraftContent,
    Evidence,
    ProposedAssessment,
    ProposedFeedback,
)
from beacon.rubrics.schemas import RubricDefinition

MIN_WORDS, MAX_WORDS = 40, 450
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")


@lru_cache(maxsize=16)
def score_language(levels: int) -> re.Pattern[str]:
    """Talk of results on a scale of ``levels``: "level 3", "11/12", "9 out of 12", a percentage,
    grade words. Other fractions ("3/4 cup" on a 12-level rubric) are not scores. Every repeat is
    bounded and none is nested: linear time on any text."""
    on_scale = "|".join(str(n) for n in range(levels, 0, -1))  # "12" tried before "1"
    return re.compile(
        rf"\b(level\s{{0,3}}\d{{1,2}}|scores?|scored|grades?|graded|(?:{on_scale})\s{{0,3}}(?:/|out\s{{1,3}}of)\s{{0,3}}{levels}"
        rf"|\d{{1,3}}\s{{0,3}}%|proficient)\b|\d{{1,3}}\s{{0,3}}%",
        re.IGNORECASE,
    )


@dataclass
class Verification:
    content: DraftContent
    flags: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what a repair round should fix

    @property
    def needs_repair(self) -> bool:
        return bool(self.problems)


def locate(quote: str, work: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``work``: exact, else ignoring differences in white space and
    curly quotes. Never fuzzy beyond that: evidence must be the student's own words."""
    quote = quote.strip().strip('"“”').strip()
    if len(quote) < 3:
        return None
    at = work.find(quote)
    if at != -1:
        return at, at + len(quote)
    pattern = r"\s+".join(
        "".join(re.escape(ch) if ch not in "\"'“”‘’" else "[\"'“”‘’]" for ch in token)
        for token in quote.split()
    )
    match = re.search(pattern, work)
    return (match.start(), match.end()) if match else None


def compose(feedback: ProposedFeedback, language: str) -> str:
    heads = {
        "en": ("What is working", "Next steps", "Since your last version", "A question for your revision"),
        "es": ("Lo que funciona", "Próximos pasos", "Desde tu última versión", "Una pregunta para tu revisión"),
    }.get(language) or ("What is working", "Next steps", "Since your last version", "A question for your revision")
    parts = [heads[0] + ":\n" + "\n".join(f"- {s}" for s in feedback.strengths)]
    if feedback.improvements:
        parts.append(heads[2] + ":\n" + "\n".join(f"- {s}" for s in feedback.improvements))
    parts.append(heads[1] + ":\n" + "\n".join(f"- {s}" for s in feedback.next_steps))
    parts.append(f"{heads[3]}: {feedback.question}")
    return "\n\n".join(parts)


JUDGEMENT_BELOW = 0.4  # a criterion's confidence under this asks for the teacher's own judgement


def plausibility(results: list[CriterionResult]) -> list[str]:
    """Flags for a draft that looks empty or mechanical (a small model's failure modes): no
    confidence anywhere, one quote standing for every criterion, or every level the same with
    nothing behind it. Any of them keeps the draft out of bulk approval. Per criterion, a low
    confidence says the level needs the teacher's judgement."""
    flags = []
    if len(results) >= 3:
        if all(r.confidence == 0 for r in results):
            flags.append("implausible:no_confidence")
        quotes = [tuple(e.start for e in r.evidence) for r in results]
        if quotes[0] and len(set(quotes)) == 1:
            flags.append("implausible:one_quote_for_every_criterion")
        if len({r.level for r in results}) == 1 and all(r.confidence < JUDGEMENT_BELOW for r in results):
            flags.append("implausible:every_level_equal")
    flags += [f"needs_teacher_judgement:{r.criterion_id}" for r in results if r.confidence < JUDGEMENT_BELOW]
    return flags


def verify(
    *,
    work: str,
    rubric: RubricDefinition,
    rubric_version: int,
    assessment: ProposedAssessment,
    feedback: ProposedFeedback,
    language: str,
    injections: list[tuple[int, int, str]],
    score_language_allowed: bool = False,
) -> Verification:
    flags: list[str] = []
    problems: list[str] = []
    known = {c.id for c in rubric.criteria}
    results: dict[str, CriterionResult] = {}
    for proposed in assessment.criteria:
        if proposed.criterion_id not in known:
            flags.append(f"invented_criterion:{proposed.criterion_id}")
            problems.append(f"criterion {proposed.criterion_id!r} is not in this rubric; use only {sorted(known)}")
            continue
        if proposed.criterion_id in results:
            problems.append(f"criterion {proposed.criterion_id!r} was assessed twice")
            continue
        if not rubric.on_scale(proposed.level):
            # Not this rubric's level (a 4-level answer is not a 12-level one): never kept.
            flags.append(f"level_off_scale:{proposed.criterion_id}")
            problems.append(f"criterion {proposed.criterion_id!r}: level {proposed.level} is not on this rubric; "
                            f"use a level from 1 to {rubric.top_level}")
            continue
        evidence = []
        for quote in proposed.quotes:
            span = locate(quote, work)
            if span is None:
                flags.append(f"quote_not_found:{proposed.criterion_id}")
                problems.append(f"the quote {quote[:80]!r} for {proposed.criterion_id!r} is not in the work; quote it exactly")
                continue
            if any(e.start == span[0] for e in evidence):
                continue
            evidence.append(Evidence(quote=work[span[0]:span[1]], start=span[0], end=span[1]))
        criterion = rubric.criterion(proposed.criterion_id)
        results[proposed.criterion_id] = CriterionResult(
            criterion_id=proposed.criterion_id,
            title=criterion.title,
            level=proposed.level,
            level_label=rubric.level_label(proposed.level),
            evidence=evidence,
            rationale=proposed.rationale.strip(),
            confidence=proposed.confidence,
        )
        if not evidence:
            # At the first level "nothing shows it yet" is the finding itself; above it, a level
            # with nothing quoted is a claim the teacher must check.
            flags.append(f"{'no_evidence' if proposed.level > 1 else 'not_shown'}:{proposed.criterion_id}")
    flags += plausibility(list(results.values()))
    missing = [c.id for c in rubric.criteria if c.id not in results]
    for cid in missing:
        flags.append(f"missing_criterion:{cid}")
        problems.append(f"criterion {cid!r} was not assessed")

    text = compose(feedback, language)
    words = len(text.split())
    if words > MAX_WORDS:
        flags.append("too_long")
        problems.append(f"the feedback has {words} words; keep it under {MAX_WORDS}")
    elif words < MIN_WORDS:
        flags.append("too_short")
        problems.append(f"the feedback has {words} words; write at least {MIN_WORDS}")
    if not score_language_allowed and score_language(rubric.top_level).search(_QUOTED.sub("", text)):
        flags.append("score_language")
        problems.append("the student text mentions levels, scores or grades; describe the work instead")
    if not feedback.question.strip().endswith("?"):
        problems.append("the question must be a question")
    if injections:
        flags.append("prompt_injection")

    content = DraftContent(
        rubric_id=rubric.id,
        rubric_version=rubric_version,
        criteria=[results[c.id] for c in rubric.criteria if c.id in results],
        strengths=feedback.strengths,
        next_steps=feedback.next_steps,
        question=feedback.question,
        improvements=feedback.improvements,
        feedback=text,
        language=language,
    )
    return Verification(content, sorted(set(flags), key=flags.index), problems)
