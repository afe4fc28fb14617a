"""Project proposals: what a student asks for, what a model must return, what Beacon stores,
what the teacher decides. One review payload schema is shared by the workflow's interrupt and
the review app."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from beacon.text import Ident, Line, Paragraph


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ProjectAsk(_Model):
    """A student's request, as sent (API, page, CLI)."""

    interests: str = Field(min_length=1, max_length=2000)
    tags: list[Ident] = Field(default_factory=list, max_length=20)
    weeks: int | None = Field(default=None, ge=1, le=20)
    working: Literal["solo", "group", "either"] = "either"
    materials: str = Field(default="", max_length=1000)
    competency_ids: list[Ident] = Field(default_factory=list, max_length=5)

    @field_validator("interests")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say what you are interested in")
        return value.strip()


class CriterionRef(_Model):
    competency_id: Ident
    criterion_id: Ident


class CriterionAim(_Model):
    """Where one focus criterion stands on the student's mastery record, and what one more piece
    of evidence, from a project, would do to it. Beacon's numbers, never a model's."""

    criterion_id: Ident
    title: Line = ""
    value: float | None = None  # by the school's method; None: no evidence yet
    evidence: int = 0  # pieces of evidence so far
    required: int = 1  # pieces needed before the competency can be met
    threshold: float = 3
    aim: int = 3  # the level the project's evidence should reach (the lowest that meets, if one can)
    projected: float | None = None  # the value after a rating at ``aim``; None: not worked out
    meets: bool = False  # a rating at ``aim`` would make this criterion meet the threshold and requirement
    movement: Paragraph = ""  # all of it in words, for the teacher and the student


class TargetCompetency(_Model):
    """A competency a proposal grows, with the criteria it focuses on (ids at this version) and
    how far evidence on them would move the student (filled in by Beacon from its targets)."""

    competency_id: Ident
    rubric_version: int = 0
    title: Line = ""
    criteria: list[Ident] = Field(min_length=1, max_length=30)
    aims: list[CriterionAim] = Field(default_factory=list, max_length=30)


class Milestone(_Model):
    title: str = Field(min_length=1, max_length=200)
    evidence: str = Field(min_length=1, max_length=600)
    criteria: list[CriterionRef] = Field(default_factory=list, max_length=30)


class Proposal(_Model):
    title: str = Field(min_length=1, max_length=200)
    driving_question: str = Field(min_length=1, max_length=400)
    product_kind: str = Field(min_length=1, max_length=60)
    why_it_fits: str = Field(min_length=1, max_length=800)
    interests_used: list[Line] = Field(default_factory=list, max_length=20)
    competencies: list[TargetCompetency] = Field(min_length=1, max_length=10)
    milestones: list[Milestone] = Field(min_length=2, max_length=8)
    final_product: str = Field(min_length=1, max_length=400)
    audience: str = Field(min_length=1, max_length=300)
    scaffolds: list[Paragraph] = Field(default_factory=list, max_length=8)
    resources: list[Paragraph] = Field(default_factory=list, max_length=8)
    duration_weeks: int = Field(ge=1, le=20)
    checkpoints: list[Paragraph] = Field(default_factory=list, max_length=6)
    safety_note: Paragraph | None = None


class ProposedProjects(_Model):
    """What a model returns."""

    proposals: list[Proposal] = Field(min_length=1, max_length=5)


class Target(_Model):
    """Why a competency was chosen for this student (shown to the teacher): its status on the
    record and, per focus criterion, where it stands and what a project would move."""

    competency_id: Ident
    title: Line
    rubric_version: int
    criteria: list[Ident] = Field(max_length=30)
    reason: Paragraph
    status: Ident = ""  # on the record: not_started, emerging, approaching; met only when asked for (or nothing else fits); "" if none
    aims: list[CriterionAim] = Field(default_factory=list, max_length=30)


class ProjectContent(_Model):
    """The body of a project draft (``drafts.content``); a release copies the approved proposals."""

    kind: Literal["project"] = "project"
    interests: list[Line] = Field(max_length=40)
    targets: list[Target] = Field(max_length=10)
    proposals: list[Proposal] = Field(max_length=10)


class ProjectDecision(_Model):
    """A teacher's decision on a project draft: approve all or some (``proposals``: indexes into
    the draft's proposals, none means all), optionally edited; reject; or regenerate."""

    action: Literal["approve", "reject", "regenerate"]
    teacher_id: str
    proposals: list[int] | None = Field(default=None, max_length=20)
    edited_content: ProjectContent | None = None
    reason: Paragraph | None = None
    instructions: Paragraph | None = None


class ProjectReviewPayload(_Model):
    draft_id: str
    request_id: str
    student_id: str
    content: ProjectContent
    flags: list[str]
    model: str
    prompt_hash: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
