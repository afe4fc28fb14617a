"""Every query the mastery record makes."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.mastery.models import Rating


async def add_ratings(session: AsyncSession, rows: list[dict]) -> None:
    """Insert once (a retried request writes the same deterministic ids, and nothing twice)."""
    if rows:
        await session.execute(insert(Rating).on_conflict_do_nothing(index_elements=["id"]), rows)


async def current_ratings(session: AsyncSession, student_id: uuid.UUID, competency_id: str | None = None) -> list[Rating]:
    """A student's ratings that still count: every one no later rating supersedes, by work date."""
    superseded = select(Rating.supersedes_id).where(Rating.supersedes_id.is_not(None), Rating.student_id == student_id)
    query = select(Rating).where(Rating.student_id == student_id, Rating.id.not_in(superseded))
    if competency_id is not None:
        query = query.where(Rating.competency_id == competency_id)
    return list((await session.scalars(query.order_by(Rating.work_date, Rating.id))).all())


async def ratings_of_release(session: AsyncSession, release_id: uuid.UUID) -> list[Rating]:
    return list((await session.scalars(select(Rating).where(Rating.release_id == release_id)
                                       .order_by(Rating.criterion_id))).all())
