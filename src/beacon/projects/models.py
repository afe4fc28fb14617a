"""A student's request for project ideas. What Beacon proposes is a draft (kind "project") that a
teacher decides on like any other; a started project becomes a personal assignment."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from beacon.db.base import Base, created_at, uuid_pk

REQUEST_STATUSES = ("queued", "designing", "pending_review", "released", "returned", "failed")


class ProjectRequest(Base):
    __tablename__ = "project_requests"
    __table_args__ = (
        Index("ix_project_requests_class_ids", "class_ids", postgresql_using="gin"),
        CheckConstraint(f"status IN {REQUEST_STATUSES}", name="status_known"),
        CheckConstraint("length(interests) > 0", name="interests_not_empty"),
        CheckConstraint("weeks IS NULL OR weeks BETWEEN 1 AND 20", name="weeks_range"),
        CheckConstraint("working IN ('solo', 'group', 'either')", name="working_known"),
        Index("ix_project_requests_student_created", "student_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The student's own words, kept as written (shown back to them and to the teacher).
    interests: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}", default=list)
    weeks: Mapped[int | None] = mapped_column(Integer)
    working: Mapped[str] = mapped_column(String(8), server_default="either", default="either")
    materials: Mapped[str] = mapped_column(Text, server_default="", default="")
    # Competencies asked for explicitly (CLI --competency, or a teacher); empty: from the profile.
    competency_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}", default=list)
    status: Mapped[str] = mapped_column(String(20), server_default="queued", default="queued")
    # Whose work this is: the assignment's class, or the classes the student was in when handing
    # it in (or asking). Their teachers (while the student stays in the class) review it.
    class_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}", default=list)
    created_at: Mapped[datetime] = created_at()
