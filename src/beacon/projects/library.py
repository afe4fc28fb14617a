"""The project pattern library (``projects/library/*.yaml``), validated whole when first used."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

LIBRARY = Path(__file__).resolve().parent / "library"
PHASES = ("plan", "gather", "make", "refine", "share")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatternMilestone(_Strict):
    phase: Literal["plan", "gather", "make", "refine", "share"]
    title: str
    evidence: str


class Pattern(_Strict):
    id: str
    kind: str
    product: str
    titles: list[str] = Field(min_length=1)
    # Driving questions written for what this kind of product does with an interest: each
    # proposal of a request is a different pattern, so no two share a question frame.
    questions: list[str] = Field(min_length=1)
    fits: list[str] = Field(min_length=1)
    affinity: list[str] = Field(default_factory=list)
    working: Literal["solo", "group", "either"]
    weeks: tuple[int, int]
    materials: str
    milestones: list[PatternMilestone] = Field(min_length=3)
    final_product: str
    audiences: list[str] = Field(min_length=1)
    scaffolds: list[str] = Field(default_factory=list)
    resources: list[str] = Field(min_length=1)
    safety: str | None = None


class CompetencyUse(_Strict):
    question: str
    phases: dict[Literal["plan", "gather", "make", "refine", "share"], list[str]]


class PatternLibrary(_Strict):
    patterns: tuple[Pattern, ...]
    competencies: dict[str, CompetencyUse]


@lru_cache(maxsize=1)
def pattern_library(directory: Path = LIBRARY) -> PatternLibrary:
    patterns = yaml.safe_load((directory / "patterns.yaml").read_text(encoding="utf-8"))
    competencies = yaml.safe_load((directory / "competencies.yaml").read_text(encoding="utf-8"))
    return PatternLibrary(patterns=tuple(Pattern.model_validate(p) for p in patterns),
                          competencies={k: CompetencyUse.model_validate(v) for k, v in competencies.items()})
