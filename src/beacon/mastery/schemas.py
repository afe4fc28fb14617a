"""What a teacher sends to the mastery record: a demonstration logged by hand (evidence Beacon
cannot read), a missed criterion, an override, a baseline, a correction; and a needs-support
flag dismissed with a note. Every field is bounded."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from beacon.text import Ident, Paragraph

# What a teacher may log; "draft" ratings come only from an approved release.
LOGGED_SOURCES = ("teacher", "missed", "override", "baseline")


class CriterionRating(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion_id: Ident
    # Missing only for "missed": the work did not address the criterion, so there is no level.
    level: int | None = Field(default=None, ge=1, le=12)


class NewRatings(BaseModel):
    """One demonstration, for one or more students (a group presentation rates each member)."""

    model_config = ConfigDict(extra="forbid")

    student_ids: list[uuid.UUID] = Field(min_length=1, max_length=60)
    competency_id: Ident
    source: Literal["teacher", "missed", "override", "baseline"] = "teacher"
    work_date: date  # when the demonstration happened
    ratings: list[CriterionRating] = Field(min_length=1, max_length=12)
    note: Paragraph = ""
    artifact_url: HttpUrl | None = Field(default=None)
    # A correction: the rating this one replaces (one student, one criterion).
    supersedes_id: uuid.UUID | None = None

    @field_validator("work_date")
    @classmethod
    def _not_in_the_future(cls, when: date) -> date:
        if when > date.today() or when.year < 2000:
            raise ValueError("the work's date is today or earlier (and after 2000)")
        return when

    @field_validator("artifact_url")
    @classmethod
    def _short_link(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and len(str(url)) > 2000:
            raise ValueError("the artifact link is at most 2,000 characters")
        return url

    @model_validator(mode="after")
    def _consistent(self) -> NewRatings:
        if len(set(self.student_ids)) != len(self.student_ids):
            raise ValueError("a student is listed twice")
        if len({r.criterion_id for r in self.ratings}) != len(self.ratings):
            raise ValueError("a criterion is rated twice")
        for r in self.ratings:
            if (r.level is None) != (self.source == "missed"):
                raise ValueError("a missed criterion has no level; every other rating has one")
        if self.supersedes_id and (len(self.student_ids) != 1 or len(self.ratings) != 1):
            raise ValueError("a correction replaces one rating: one student, one criterion")
        return self


class Dismissal(BaseModel):
    """A teacher's "I know, and here is why": the flag stays away until its cause changes."""

    model_config = ConfigDict(extra="forbid")

    student_id: uuid.UUID
    competency_id: Ident = ""  # empty for a flag about the student's work as a whole
    kind: Ident
    cause: Ident
    note: Paragraph = Field(min_length=1)

    @field_validator("note")
    @classmethod
    def _said_something(cls, note: str) -> str:
        if not note.strip():
            raise ValueError("say why, for whoever reads the flag next")
        return note.strip()


class NewGoal(BaseModel):
    """A student's goal on a competency; the service holds the text to its limit (a clear 422)."""

    model_config = ConfigDict(extra="forbid")

    competency_id: Ident
    text: str = Field(max_length=20_000)
    target_level: int | None = Field(default=None, ge=1, le=12)


class NewReflection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=20_000)
