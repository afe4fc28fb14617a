"""The rubric file format (docs/rubric-format.md) and what retrieval returns."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from beacon.config import MasteryMethod

SUBJECTS = (
    "English Language Arts",
    "Science",
    "Mathematics",
    "Social Studies",
    "World Languages",
    "Arts",
    "Durable Skills",
)
SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# A rubric's scale: 3 to 12 levels, numbered 1..N (Building 21's continua have 12).
MIN_LEVELS, MAX_LEVELS = 3, 12

Slug = Annotated[str, StringConstraints(pattern=SLUG, max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _numbering_problem(numbers: list[int]) -> str | None:
    """Why ``numbers`` are not levels 1..N in order, each once (None: they are)."""
    if not MIN_LEVELS <= len(numbers) <= MAX_LEVELS:
        return f"{MIN_LEVELS} to {MAX_LEVELS} levels are allowed, got {len(numbers)}"
    if numbers == list(range(1, len(numbers) + 1)):
        return None
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    missing = sorted(set(range(1, len(numbers) + 1)) - set(numbers))
    why = (f"level {twice[0]} is given twice" if twice else f"level {missing[0]} is missing" if missing
           else "they are out of order")
    return f"levels are numbered 1 to {len(numbers)} in order, each once: {why} (got {numbers})"


class PerformanceLevel(_Strict):
    level: int = Field(ge=1)  # at most MAX_LEVELS: the rubric's list says so, with the count
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class CriterionDefinition(_Strict):
    id: Slug
    title: Phrase
    description: Text
    look_fors: list[Phrase] = Field(min_length=1, max_length=10)
    revision_moves: list[Phrase] = Field(min_length=1, max_length=8)
    levels: dict[int, Text]

    @field_validator("levels")
    @classmethod
    def _one_descriptor_per_level(cls, levels: dict[int, str]) -> dict[int, str]:
        # Keys are unique already: sorted, a gap is the only way to miss "1..N".
        if problem := _numbering_problem(sorted(levels)):
            raise ValueError(f"one descriptor for each level: {problem}")
        return dict(sorted(levels.items()))


class RubricDefinition(_Strict):
    id: Slug
    title: Phrase
    subject: str
    grade_band: Annotated[str, StringConstraints(pattern=r"^(K|\d{1,2})-(\d{1,2})$")]
    description: Text
    keywords: list[Phrase] = Field(min_length=3, max_length=40)
    # How many ratings each criterion needs before the competency can be met (the mastery record).
    evidence_required: int = Field(default=2, ge=1, le=10)
    # This competency's calculation, overriding the school's (mastery/calculation.METHODS).
    calculation: MasteryMethod | None = None
    levels: list[PerformanceLevel]
    # The level every criterion needs for mastery: after ``levels``, so it is checked against them.
    mastery_threshold: int = Field(ge=2, le=MAX_LEVELS)
    criteria: list[CriterionDefinition] = Field(min_length=3, max_length=6)

    @field_validator("subject")
    @classmethod
    def _known_subject(cls, subject: str) -> str:
        if subject not in SUBJECTS:
            raise ValueError(f"must be one of: {', '.join(SUBJECTS)}")
        return subject

    @field_validator("levels")
    @classmethod
    def _levels_in_order(cls, levels: list[PerformanceLevel]) -> list[PerformanceLevel]:
        if problem := _numbering_problem([level.level for level in levels]):
            raise ValueError(problem)
        return levels

    @field_validator("mastery_threshold")
    @classmethod
    def _threshold_on_the_scale(cls, threshold: int, info: ValidationInfo) -> int:
        top = len(info.data.get("levels") or ())
        if top and threshold > top:
            raise ValueError(f"is {threshold}, above the top level ({top}): it must be a level from 2 to {top}")
        return threshold

    @field_validator("criteria")
    @classmethod
    def _criteria_on_the_scale(cls, criteria: list[CriterionDefinition], info: ValidationInfo) -> list[CriterionDefinition]:
        # A field validator, not a model one: reported beside the file's other problems.
        if "levels" not in info.data:
            return criteria  # the scale itself is wrong: that is the problem reported
        top = len(info.data["levels"])
        off = [f"{c.id!r} has levels 1 to {len(c.levels)}" for c in criteria if len(c.levels) != top]
        if off:
            raise ValueError(f"the rubric has levels 1 to {top}, each criterion needs a descriptor for each: {'; '.join(off)}")
        return criteria

    @model_validator(mode="after")
    def _criteria_unique(self) -> RubricDefinition:
        seen: set[str] = set()
        for criterion in self.criteria:
            if criterion.id in seen:
                raise ValueError(f"criterion id {criterion.id!r} is used twice")
            seen.add(criterion.id)
        return self

    @property
    def top_level(self) -> int:
        return len(self.levels)

    def on_scale(self, level: int) -> bool:
        return 1 <= level <= self.top_level

    def level_label(self, level: int) -> str:
        return self.levels[level - 1].label

    def criterion(self, criterion_id: str) -> CriterionDefinition | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)


def grade_in_band(grade: int, band: str) -> bool:
    low, high = band.split("-")
    return (0 if low == "K" else int(low)) <= grade <= int(high)


class CriterionMatch(BaseModel):
    criterion_id: str
    title: str
    score: float


class CompetencyMatch(BaseModel):
    """One ranked competency for a piece of work: the ``rubrics match --json`` contract."""

    id: str
    title: str
    subject: str
    rubric_version: int
    rubric_version_id: int
    score: float = Field(description="the ranking score: how much of the competency's evidence the work makes, "
                                     "plus a smaller share of topic closeness")
    confidence: float = Field(default=0.0, description="calibrated chance this is the competency a teacher would pick")
    unsure: bool = Field(default=False, description="true on the first match when confidence is too low: a teacher picks")
    evidence_fit: float = Field(default=0.0, description="0..1: the weighted share of the competency's moves the work makes")
    moves: list[str] = Field(default_factory=list, description="the competency's moves the work plainly makes")
    topic: float = Field(default=0.0, description="fused vector + full-text rank score, 1.0 = first in both searches")
    similarity: float = Field(description="cosine similarity of the best-matching passage")
    text_rank: float = Field(description="full-text rank of the best-matching passage")
    criteria: list[CriterionMatch]
    why: list[str] = Field(description="the work's words that the rubric shares, strongest first")


def is_slug(value: str) -> bool:
    return re.fullmatch(SLUG, value) is not None
