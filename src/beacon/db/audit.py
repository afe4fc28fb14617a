"""The audit trail: who did what to which subject, and when. Written only through the database
function ``beacon_audit`` (the app role cannot insert or change rows itself)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from beacon.db.actor import acting_session
from beacon.db.base import Base, created_at


class AuditEvent(Base):
    """Append-only record of who did what. UPDATE and DELETE are refused by trigger."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = created_at()
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict] = mapped_column(JSONB, server_default="{}", default=dict)


async def audit_trail(session: AsyncSession, subject_type: str, subject_id: str) -> list[AuditEvent]:
    rows = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id)
    )
    return list(rows.all())


async def add_audit(session: AsyncSession, *, actor_id, action: str, subject_type: str, subject_id: str, data: dict) -> None:
    """An audit event, through the one function the app role may write them with: in a signed-in
    request the actor is that session's person (naming anyone else is refused); elsewhere the
    actor is Beacon itself and ``actor_id`` is kept as the person it acted for."""
    await session.execute(
        text("SELECT beacon_audit(CAST(:session AS uuid), CAST(:actor AS uuid), :action, :subject_type, "
             ":subject_id, CAST(:data AS jsonb))"),
        {"session": acting_session.get(), "actor": actor_id, "action": action, "subject_type": subject_type,
         "subject_id": subject_id, "data": json.dumps(data or {}, default=str)})
