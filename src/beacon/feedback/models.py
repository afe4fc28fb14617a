"""Student work as submitted. A revision is a new submission linked to the one it revises."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from beacon.db.base import Base, created_at, uuid_pk

SUBMISSION_STATUSES = ("queued", "drafting", "pending_review", "released", "returned", "failed")


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_class_ids", "class_ids", postgresql_using="gin"),
        CheckConstraint("length(body) > 0", name="body_not_empty"),
        CheckConstraint(f"status IN {SUBMISSION_STATUSES}", name="status_known"),
        CheckConstraint("revision_of_id IS NULL OR revision_of_id <> id", name="not_own_revision"),
        Index("ix_submissions_student_created", "student_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="SET NULL"), index=True
    )
    revision_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    source_filename: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), server_default="queued", default="queued")
    # Whose work this is: the assignment's class, or the classes the student was in when handing
    # it in (or asking). Their teachers (while the student stays in the class) review it.
    class_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}", default=list)
    created_at: Mapped[datetime] = created_at()
