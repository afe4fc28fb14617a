"""The rubric file format (docs/rubric-format.md) and what retrieval returns."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
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
LEVEL_NUMBERS = (1, 2, 3, 4)

Slug = Annotated[str, StringConstraints(pattern=SLUG, max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PerformanceLevel(_Strict):
    level: int = Field(ge=1, le=4)
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
        if tuple(sorted(levels)) != LEVEL_NUMBERS:
            raise ValueError(f"needs exactly one descriptor for each of levels 1-4, got {sorted(levels)}")
        return dict(sorted(levels.items()))


class RubricDefinition(_Strict):
    id: Slug
    title: Phrase
    subject: str
    grade_band: Annotated[str, StringConstraints(pattern=r"^(K|\d{1,2})-(\d{1,2})$")]
    description: Text
    keywords: list[Phrase] = Field(min_length=3, max_length=40)
    mastery_threshold: int = Field(ge=2, le=4)
    # How many ratings each criterion needs before the competency can be met (the mastery record).
    evidence_required: int = Field(default=2, ge=1, le=10)
    # This competency's calculation, overriding the school's (mastery/calculation.METHODS).
    calculation: MasteryMethod | None = None
    levels: list[PerformanceLevel]
    criteria: list[CriterionDefinition] = Field(min_length=3, max_length=6)

    @field_validator("subject")
    @classmethod
    def _known_subject(cls, subject: str) -> str:
        if subject not in SUBJECTS:
            raise ValueError(f"must be one of: {', '.join(SUBJECTS)}")
        return subject

    @field_validator("levels")
    @classmethod
    def _four_levels_in_order(cls, levels: list[PerformanceLevel]) -> list[PerformanceLevel]:
        if tuple(level.level for level in levels) != LEVEL_NUMBERS:
            raise ValueError("needs exactly 4 levels numbered 1, 2, 3, 4 in that order")
        return levels

    @model_validator(mode="after")
    def _criteria_unique(self) -> RubricDefinition:
        seen: set[str] = set()
        for criterion in self.criteria:
            if criterion.id in seen:
                raise ValueError(f"criterion id {criterion.id!r} is used twice")
            seen.add(criterion.id)
        return self

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
