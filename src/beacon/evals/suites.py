"""Eval suites as data (``evals/<name>.yaml``): the project's own suites of works with human
levels and expected properties, and adapters for public corpora (ELLIPSE) read from a path."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from beacon.errors import InvalidInput, NotFound
from beacon.rubrics.schemas import MAX_LEVELS, MIN_LEVELS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkItem(_Strict):
    """A piece of student work: which competency it should retrieve, and (when a person rated
    it) the human level per criterion."""

    file: str
    competency: str
    grade: int = Field(default=8, ge=0, le=13)
    levels: dict[str, int] = Field(default_factory=dict)


class ProjectItem(_Strict):
    """A student asking for projects: interests, a competency profile, and the competency the
    proposals should grow (the weakest in the profile)."""

    interests: str
    profile: dict[str, dict[str, int]]
    expect_target: str


class Suite(_Strict):
    name: str
    kind: Literal["feedback", "ellipse"]
    description: str = ""
    works: list[WorkItem] = Field(default_factory=list)
    projects: list[ProjectItem] = Field(default_factory=list)
    injection_probe: int = Field(default=0, ge=0, description="works re-drafted with an injected instruction")
    thresholds: dict[str, float] = Field(default_factory=dict)
    # ELLIPSE-style corpora:
    rubric: str | None = None
    data: str | None = None
    traits: dict[str, str] = Field(default_factory=dict)  # corpus column -> criterion id
    levels: list[tuple[float, float]] = Field(default_factory=list)  # human score range per level 1..N of the rubric
    groups: list[str] = Field(default_factory=list)  # demographic columns for the fairness check
    limit: int | None = None  # default sample size

    @model_validator(mode="after")
    def _corpus_needs_its_mapping(self) -> Suite:
        if self.kind == "ellipse" and not (self.rubric and self.traits and MIN_LEVELS <= len(self.levels) <= MAX_LEVELS):
            raise ValueError(f"a corpus suite needs rubric, traits, and a score range for each of the rubric's "
                             f"levels ({MIN_LEVELS} to {MAX_LEVELS})")
        if self.kind == "feedback" and not self.works:
            raise ValueError("a feedback suite needs works")
        return self

    def level_of(self, score: float) -> int:
        for level, (low, high) in enumerate(self.levels, start=1):
            if low <= score <= high:
                return level
        raise ValueError(f"score {score} is outside the suite's level ranges")


def load_suite(name: str, evals_dir: Path) -> tuple[Suite, Path]:
    """A suite by name (``evals/<name>.yaml``) or by path; with the folder its files are under."""
    path = Path(name)
    if not path.suffix:
        path = evals_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in evals_dir.glob("*.yaml"))) or "none"
        raise NotFound(f"no eval suite {name!r} (suites: {known})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Suite.model_validate(data), path.parent
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise InvalidInput(f"{path}: {where}: {problem['msg']}") from None
