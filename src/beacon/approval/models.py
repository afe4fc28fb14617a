"""Drafts, teacher decisions, releases and the teachers' bank of approved comments (the audit
trail is ``db/audit.py``).

The approval gate lives in the schema: a release row can only exist with a foreign key to an
*approve* decision, made by a user whose role is *teacher*, on that same draft, for that same
student. Students read releases only. Decisions and releases write their audit events by trigger,
and audit events cannot be changed or deleted.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from beacon.db.base import Base, created_at, uuid_pk

DRAFT_KINDS = ("feedback", "project")
DRAFT_STATUSES = ("pending_review", "approved", "rejected", "superseded")
DECISION_ACTIONS = ("approve", "reject", "regenerate")


class Draft(Base):
    """Something Beacon generated for a student, waiting on (or past) a teacher's decision."""

    __tablename__ = "drafts"
    __table_args__ = (
        CheckConstraint(f"kind IN {DRAFT_KINDS}", name="kind_known"),
        CheckConstraint(f"status IN {DRAFT_STATUSES}", name="status_known"),
        CheckConstraint(
            "kind <> 'feedback' OR (submission_id IS NOT NULL AND rubric_version_id IS NOT NULL)",
            name="feedback_has_submission_and_rubric",
        ),
        CheckConstraint("kind <> 'project' OR project_request_id IS NOT NULL", name="project_has_request"),
        UniqueConstraint("id", "student_id", name="uq_drafts_id_student"),
        Index("ix_drafts_status_created", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(16))
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    submission_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    rubric_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("rubric_versions.id", ondelete="RESTRICT")
    )
    project_request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("project_requests.id", ondelete="CASCADE"), index=True
    )
    regenerated_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("drafts.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), server_default="pending_review", default="pending_review")
    content: Mapped[dict] = mapped_column(JSONB)
    flags: Mapped[list[str]] = mapped_column(JSONB, server_default="[]", default=list)
    # Provenance: enough to explain and reproduce how this draft was made.
    model: Mapped[str] = mapped_column(String(200))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    retrieval: Mapped[list] = mapped_column(JSONB, server_default="[]", default=list)
    prompt_tokens: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), server_default="0", default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    created_at: Mapped[datetime] = created_at()


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(f"action IN {DECISION_ACTIONS}", name="action_known"),
        CheckConstraint("teacher_role = 'teacher'", name="made_by_teacher"),
        CheckConstraint("action <> 'reject' OR length(trim(reason)) > 0", name="reject_has_reason"),
        ForeignKeyConstraint(
            ["teacher_id", "teacher_role"], ["users.id", "users.role"], ondelete="RESTRICT"
        ),
        # Referenced by releases, so a release names the exact approving decision.
        UniqueConstraint("id", "draft_id", "teacher_id", "action", name="uq_decisions_release_key"),
        # A draft is approved or rejected at most once.
        Index(
            "uq_decisions_final_per_draft",
            "draft_id",
            unique=True,
            postgresql_where=text("action IN ('approve', 'reject')"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    draft_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("drafts.id", ondelete="RESTRICT"), index=True)
    teacher_id: Mapped[uuid.UUID] = mapped_column()
    teacher_role: Mapped[str] = mapped_column(String(16), server_default="teacher", default="teacher")
    action: Mapped[str] = mapped_column(String(16))
    edited_content: Mapped[dict | None] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
    instructions: Mapped[str | None] = mapped_column(Text)
    rubric_id: Mapped[str | None] = mapped_column(String(100))  # regenerate against this competency
    bulk: Mapped[bool] = mapped_column(server_default=text("false"), default=False)  # approved from the queue
    created_at: Mapped[datetime] = created_at()


class Release(Base):
    """What a student may read: only ever created from a teacher's approve decision."""

    __tablename__ = "releases"
    __table_args__ = (
        CheckConstraint("decision_action = 'approve'", name="from_approval"),
        ForeignKeyConstraint(
            ["decision_id", "draft_id", "teacher_id", "decision_action"],
            ["decisions.id", "decisions.draft_id", "decisions.teacher_id", "decisions.action"],
            ondelete="RESTRICT",
        ),
        ForeignKeyConstraint(
            ["draft_id", "student_id"], ["drafts.id", "drafts.student_id"], ondelete="RESTRICT"
        ),
        UniqueConstraint("draft_id"),
        Index("ix_releases_student_released", "student_id", "released_at"),
        Index("ix_releases_teacher_released", "teacher_id", "released_at", "id"),  # the released list (0018)
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    draft_id: Mapped[uuid.UUID] = mapped_column()
    decision_id: Mapped[uuid.UUID] = mapped_column()
    teacher_id: Mapped[uuid.UUID] = mapped_column()
    decision_action: Mapped[str] = mapped_column(String(16), server_default="approve", default="approve")
    student_id: Mapped[uuid.UUID] = mapped_column()
    # The approved text and levels as the student sees them (the teacher's edits included).
    content: Mapped[dict] = mapped_column(JSONB)
    released_at: Mapped[datetime] = created_at()


class FeedbackExample(Base):
    """A teacher-approved comment, kept as an example of that teacher's voice. Its vector is the
    (redacted) work it was written about, so a new work finds comments on similar work."""

    __tablename__ = "feedback_examples"
    __table_args__ = (Index("ix_feedback_examples_teacher_competency", "teacher_id", "competency_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    teacher_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    competency_id: Mapped[str] = mapped_column(ForeignKey("competencies.id", ondelete="CASCADE"))
    criterion_key: Mapped[str | None] = mapped_column(String(80))
    draft_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    comment: Mapped[str] = mapped_column(Text)
    embed_model: Mapped[str] = mapped_column(String(200))
    embedding = mapped_column(Vector(), nullable=False)
    created_at: Mapped[datetime] = created_at()
