"""Eval runs a coach starts from the web app: queued as a job, their summary and report kept."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from beacon.db.base import Base, created_at, uuid_pk

RUN_STATUSES = ("queued", "running", "done", "failed")


class EvalRun(Base):
    __tablename__ = "eval_runs"
    __table_args__ = (CheckConstraint(f"status IN {RUN_STATUSES}", name="status_known"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    suite: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))
    item_limit: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="queued", default="queued")
    summary: Mapped[dict | None] = mapped_column(JSONB)
    report_html: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
