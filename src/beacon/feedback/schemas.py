"""Feedback drafts: what a model must return, what verification produces, what the CLI and
the review app show. One payload schema (``ReviewPayload``) is shared by the workflow's
teacher-review interrupt and the review app."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from beacon.rubrics.schemas import MAX_LEVELS
from beacon.text import Document, Ident, Line, Paragraph


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- What a model returns (quotes as text: Beacon finds their offsets itself) -------------

class ProposedCriterion(_Model):
    criterion_id: str
    # Any rubric's scale; verification holds it to this rubric's own (``verify``).
    level: int = Field(ge=1, le=MAX_LEVELS)
    quotes: list[str] = Field(default_factory=list, max_length=3)
    rationale: str = Field(min_length=1, max_length=800)
    confidence: float = Field(ge=0.0, le=1.0)


class ProposedAssessment(_Model):
    criteria: list[ProposedCriterion] = Field(min_length=1)


class ProposedFeedback(_Model):
    strengths: list[str] = Field(min_length=1, max_length=3)
    next_steps: list[str] = Field(min_length=1, max_length=3)
    question: str = Field(min_length=1, max_length=400)
    improvements: list[str] = Field(default_factory=list, max_length=3)


# --- What Beacon stores and shows ----------------------------------------------------------

class Evidence(_Model):
    quote: Paragraph
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class CriterionResult(_Model):
    criterion_id: Ident
    title: Line
    # Any rubric's scale; a teacher's edit is held to the draft's rubric (review.service).
    level: int = Field(ge=1, le=MAX_LEVELS)
    level_label: Line
    evidence: list[Evidence] = Field(max_length=10)
    rationale: Paragraph
    confidence: float = Field(ge=0.0, le=1.0)


class DraftContent(_Model):
    """The body of a feedback draft (``drafts.content``); a release copies the approved one."""

    rubric_id: Ident
    rubric_version: int
    criteria: list[CriterionResult] = Field(max_length=30)
    strengths: list[Paragraph] = Field(max_length=10)
    next_steps: list[Paragraph] = Field(max_length=10)
    question: Paragraph
    improvements: list[Paragraph] = Field(default_factory=list, max_length=10)
    feedback: Document
    language: Ident = "en"


class Provenance(_Model):
    model: str
    offline: bool
    prompt_hash: str
    rubric_version_id: int
    retrieval: list[dict] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0


class ReviewPayload(_Model):
    """What the workflow hands the teacher at the review stop (and the review app renders)."""

    draft_id: str
    submission_id: str
    student_id: str
    content: DraftContent
    flags: list[str]
    provenance: Provenance


class TeacherDecision(_Model):
    """What the teacher resumes the workflow with."""

    action: Literal["approve", "reject", "regenerate"]
    teacher_id: str
    edited_content: DraftContent | None = None
    reason: Paragraph | None = None
    instructions: Paragraph | None = None
    rubric_id: Ident | None = None  # regenerate: draft against this competency
