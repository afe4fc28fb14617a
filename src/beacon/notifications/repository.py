"""Notifications and preferences, as rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.notifications.models import KINDS, Notification, NotificationPreference


async def add_once(session: AsyncSession, *, user_id: uuid.UUID, kind: str, subject: str, link: str,
                   reference: str, release_id: uuid.UUID | None = None) -> uuid.UUID | None:
    """A notification, unless this person already has one for this event (then None)."""
    added = await session.execute(
        insert(Notification).values(user_id=user_id, kind=kind, subject=subject, link=link, reference=reference,
                                    release_id=release_id)
        .on_conflict_do_nothing(constraint="uq_notifications_once").returning(Notification.id))
    return added.scalar_one_or_none()


async def of_user(session: AsyncSession, user_id: uuid.UUID, limit: int = 100) -> list[Notification]:
    rows = await session.scalars(select(Notification).where(Notification.user_id == user_id)
                                 .order_by(Notification.created_at.desc(), Notification.id).limit(limit))
    return list(rows.all())


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return await session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


async def mark_read(session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> bool:
    """Read by its own person only (anyone else's id finds nothing)."""
    done = await session.execute(
        update(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
        .values(read_at=func.coalesce(Notification.read_at, func.now())))
    return done.rowcount > 0


async def mark_emailed(session: AsyncSession, notification_id: uuid.UUID) -> None:
    await session.execute(update(Notification).where(Notification.id == notification_id)
                          .values(emailed_at=datetime.now(UTC)))


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> dict[str, bool]:
    """Email on or off per kind (on when the person never chose)."""
    row = await session.get(NotificationPreference, user_id, populate_existing=True)
    return {kind: True if row is None else getattr(row, f"email_{kind}") for kind in KINDS}


async def set_preferences(session: AsyncSession, user_id: uuid.UUID, email: dict[str, bool]) -> dict[str, bool]:
    """Change the kinds given (the others stay as they were); returns them all."""
    values = {f"email_{kind}": bool(on) for kind, on in email.items() if kind in KINDS}
    await session.execute(
        insert(NotificationPreference).values(user_id=user_id, **values)
        .on_conflict_do_update(index_elements=["user_id"], set_={**values, "updated_at": func.now()}))
    return await preferences(session, user_id)
