"""The two ways a draft gets written: a litellm model through prompts, or the offline model.
Both return the same proposed assessment and feedback, which verification then checks."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from beacon.config import get_settings
from beacon.feedback.injection import mask_injections
from beacon.feedback.offline import _TEXTS, THRESHOLDS, OfflineDrafter
from beacon.feedback.schemas import ProposedAssessment, ProposedFeedback
from beacon.llm.client import ModelClient, Usage
from beacon.llm.prompts import content_hash, render
from beacon.offload import cpu
from beacon.rubrics.schemas import RubricDefinition
from beacon.rubrics.translations import translated

LANGUAGES = {"en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese", "de": "German",
             "zh": "Chinese", "ar": "Arabic", "vi": "Vietnamese"}
PROMPTS = ("system.j2", "assess.j2", "feedback.j2")
_FENCE_TAGS = ("<student_work>", "</student_work>", "<student_interests>", "</student_interests>")


@dataclass
class DraftingContext:
    work: str  # redacted: this is all a provider may see
    rubric: RubricDefinition
    grade: int
    language: str = "en"
    previous_levels: dict[str, int] | None = None
    examples: list[str] = field(default_factory=list)  # teacher-approved comments, most similar first
    bank: dict[str, str] = field(default_factory=dict)  # criterion id -> approved next step
    instructions: str | None = None


def requested_language(preferred: str, instructions: str | None) -> str:
    """A teacher's "in Spanish" wins over the profile's preferred language."""
    wanted = (instructions or "").lower()
    for code, name in LANGUAGES.items():
        if f"in {name.lower()}" in wanted or (code == "es" and "español" in wanted):
            return code
    return preferred if preferred in LANGUAGES else "en"


def fenced(work: str) -> str:
    """Student text cannot close its own delimiters."""
    for tag in _FENCE_TAGS:
        work = work.replace(tag, "[tag removed]")
    return work


class Drafter(Protocol):
    name: str
    offline: bool
    prompt_hash: str

    async def assess(self, ctx: DraftingContext, problems: list[str] | None = None) -> tuple[ProposedAssessment, Usage, str]: ...

    async def write(self, ctx: DraftingContext, assessment: ProposedAssessment, problems: list[str] | None = None) -> tuple[ProposedFeedback, Usage, str]: ...


_drafter: OfflineDrafter | None = None  # one per process: the pool's children build their own


def _shared_drafter() -> OfflineDrafter:
    global _drafter
    _drafter = _drafter or OfflineDrafter()
    return _drafter


def _offline_assess(work: str, rubric, grade: int):
    return _shared_drafter().assess(work, rubric, grade)


def in_language(rubric, language: str):
    """The rubric's student-facing text in ``language`` when the library has it (else as is)."""
    if language == "en":
        return rubric

    return translated(rubric, language, get_settings().rubrics_dir / "translations") or rubric


def _offline_write(rubric, assessment, **kwargs):
    return _shared_drafter().write(rubric, assessment, **kwargs)


def _masked_assess(work: str, rubric: dict, grade: int):
    """Instructions in the work are data for the teacher, not signals of quality: unseen here."""
    return _offline_assess(mask_injections(work), rubric, grade)


class OfflineModel:
    name = "offline"
    offline = True
    # The offline model's "prompt" is its templates and thresholds: hash those.
    prompt_hash = hashlib.sha256(json.dumps([_TEXTS, THRESHOLDS], sort_keys=True).encode()).hexdigest()

    async def assess(self, ctx, problems=None):
        started = time.perf_counter()
        # CPU work (the masking included), off the event loop the web app shares (``offload``).
        assessment = await cpu(_masked_assess, ctx.work, ctx.rubric, ctx.grade, size=len(ctx.work))
        return assessment, Usage.local_call(started), self.name

    async def write(self, ctx, assessment, problems=None):
        started = time.perf_counter()
        language = requested_language(ctx.language, ctx.instructions)
        feedback = await cpu(
            _offline_write, in_language(ctx.rubric, language), assessment, size=len(ctx.work), grade=ctx.grade,
            language=language,
            previous_levels=ctx.previous_levels, bank=ctx.bank, instructions=ctx.instructions, work=ctx.work,
        )
        return feedback, Usage.local_call(started), self.name


class LLMModel:
    offline = False

    def __init__(self, client: ModelClient, prompts_dir: Path, *, per_criterion: bool = False) -> None:
        self.client = client
        self.prompts_dir = prompts_dir
        self.per_criterion = per_criterion
        self.name = client.models[0]
        self.prompt_hash = content_hash(prompts_dir, *PROMPTS)

    def _messages(self, template: str, **values) -> list[dict]:
        return [
            {"role": "system", "content": render(self.prompts_dir, "system.j2")},
            {"role": "user", "content": render(self.prompts_dir, template, **values)},
        ]

    async def assess(self, ctx, problems=None):
        if not self.per_criterion:
            return await self._assess(ctx, ctx.rubric, problems)
        # A small model does better with one short question at a time: the same prompt and
        # schema, for a rubric of one criterion, once per criterion.
        total, criteria, model = Usage(), [], self.name
        for criterion in ctx.rubric.criteria:
            one = ctx.rubric.model_copy(update={"criteria": [criterion]})
            assessment, usage, model = await self._assess(ctx, one, problems)
            total.add(usage)
            criteria += assessment.criteria
        return ProposedAssessment(criteria=criteria), total, model

    async def _assess(self, ctx, rubric, problems):
        messages = self._messages(
            "assess.j2", rubric=rubric, grade=ctx.grade, work=fenced(ctx.work),
            previous=ctx.previous_levels or {}, problems=problems or [], instructions=ctx.instructions or "",
        )
        answer = await self.client.structured(messages, ProposedAssessment, json_schema=assessment_schema(rubric),
                                              max_tokens=assessment_budget(rubric))
        return answer.value, answer.usage, answer.model

    async def write(self, ctx, assessment, problems=None):
        rows = []
        for proposed in assessment.criteria:
            criterion = ctx.rubric.criterion(proposed.criterion_id)
            if criterion is None or not ctx.rubric.on_scale(proposed.level):
                continue  # verification flags it; the student text must not build on it
            rows.append({
                "criterion_id": criterion.id,
                "title": criterion.title,
                "level": proposed.level,
                "descriptor": criterion.levels[proposed.level],
                "next_descriptor": criterion.levels[min(ctx.rubric.top_level, proposed.level + 1)],
                "quote": proposed.quotes[0] if proposed.quotes else "",
            })
        # Only what the feedback is built from: the two strongest and the two weakest criteria.
        strongest = sorted(rows, key=lambda r: (-r["level"], not r["quote"]))[:2]
        weakest = sorted(rows, key=lambda r: r["level"])[:2]
        previous = ctx.previous_levels or {}
        improved = [r["title"] for r in rows if r["criterion_id"] in previous and r["level"] > previous[r["criterion_id"]]]
        language = requested_language(ctx.language, ctx.instructions)
        messages = self._messages(
            "feedback.j2", grade=ctx.grade, language_name=LANGUAGES[language], rubric=ctx.rubric,
            strengths=strongest, next_steps=weakest, improved=improved, examples=ctx.examples[:3],
            instructions=ctx.instructions or "", problems=problems or [],
        )
        answer = await self.client.structured(messages, ProposedFeedback, json_schema=FEEDBACK_SCHEMA,
                                              max_tokens=FEEDBACK_BUDGET)
        return answer.value, answer.usage, answer.model


# --- The answers' schemas, as tight as the rubric allows -------------------------------------
# Closed lists for criterion ids and levels, the exact number of entries and a cap on every
# string: a small model constrained by this stops with valid JSON instead of copying a template.
QUOTE_CHARS, RATIONALE_CHARS, SENTENCE_CHARS = 300, 400, 400


def _text(max_chars: int) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": max_chars}


def assessment_schema(rubric) -> dict:
    n = len(rubric.criteria)
    entry = {
        "type": "object", "additionalProperties": False,
        "required": ["criterion_id", "level", "quotes", "rationale", "confidence"],
        "properties": {
            "criterion_id": {"type": "string", "enum": [c.id for c in rubric.criteria]},
            "level": {"type": "integer", "enum": [lv.level for lv in rubric.levels]},
            "quotes": {"type": "array", "items": _text(QUOTE_CHARS), "minItems": 1, "maxItems": 3},
            "rationale": _text(RATIONALE_CHARS),
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }
    return {"type": "object", "additionalProperties": False, "required": ["criteria"],
            "properties": {"criteria": {"type": "array", "items": entry, "minItems": n, "maxItems": n}}}


def _sentences(most: int, least: int = 1) -> dict:
    return {"type": "array", "items": _text(SENTENCE_CHARS), "minItems": least, "maxItems": most}


FEEDBACK_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["strengths", "next_steps", "question", "improvements"],
    "properties": {"strengths": _sentences(2), "next_steps": _sentences(2), "question": _text(SENTENCE_CHARS),
                   "improvements": _sentences(3, least=0)},
}
# About four characters a token; room for the JSON around the text, and a margin.
FEEDBACK_BUDGET = int((7 * SENTENCE_CHARS) / 4 * 1.3) + 100


def assessment_budget(rubric) -> int:
    per_criterion = (3 * QUOTE_CHARS + RATIONALE_CHARS) / 4 + 40
    return int(len(rubric.criteria) * per_criterion * 1.2) + 60


def drafter_for(settings) -> Drafter:
    if settings.model == "offline":
        return OfflineModel()
    client = ModelClient(
        [settings.model, *settings.fallback_models],
        api_base=settings.model_api_base,
        timeout_s=settings.model_timeout_s,
        retries=settings.model_retries,
        max_tokens=settings.model_max_tokens,
        json_mode=settings.model_json_mode,
    )
    return LLMModel(client, settings.prompts_dir, per_criterion=settings.model_per_criterion)
