"""Notifications (one per person per event) and each person's email preferences."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from beacon.db.base import Base, created_at, uuid_pk

KINDS = ("feedback_released", "ideas_approved", "report_published")


class Notification(Base):
    """Something ready for one person: a release of their own (or their child's) or a report.
    ``subject`` is in their language, written when it was made; ``link`` is a path inside Beacon."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS}", name="kind_known"),
        CheckConstraint("link LIKE '/%'", name="link_inside"),
        # One per person per event: a decision or a publication run again notifies nobody twice.
        UniqueConstraint("user_id", "kind", "reference", name="uq_notifications_once"),
        Index("ix_notifications_user_created", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500))
    # What it is about: "release:<id>" or "report:<class id>:<from>:<to>".
    reference: Mapped[str] = mapped_column(String(200))
    release_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = created_at()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationPreference(Base):
    """Which kinds a person is emailed about; no row means every kind (email on by default)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email_feedback_released: Mapped[bool] = mapped_column(Boolean, server_default="true", default=True)
    email_ideas_approved: Mapped[bool] = mapped_column(Boolean, server_default="true", default=True)
    email_report_published: Mapped[bool] = mapped_column(Boolean, server_default="true", default=True)
    updated_at: Mapped[datetime] = created_at()
