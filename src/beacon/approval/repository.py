"""Every query on the approval gate's tables: drafts, decisions, releases, the teachers' bank of
approved comments (``FeedbackExample``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.approval.models import Decision, Draft, FeedbackExample, Release


async def get_draft(session: AsyncSession, draft_id: uuid.UUID) -> Draft | None:
    return await session.get(Draft, draft_id)


async def insert_once(session: AsyncSession, table, **values) -> bool:
    """Insert unless a row with this primary key exists: graph nodes may re-run after a crash.
    True when this call inserted it."""
    # Only a repeated primary key is "already there": any other constraint (one final decision
    # per draft, the approval gate) must raise, never be swallowed.
    inserted = await session.scalar(
        insert(table).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(table.__table__.c.id)
    )
    return inserted is not None


async def insert_many_once(session: AsyncSession, table, rows: list[dict]) -> None:
    """Insert-once for many rows in one round trip."""
    if rows:
        await session.execute(insert(table).on_conflict_do_nothing(index_elements=["id"]), rows)


async def supersede_pending(session: AsyncSession, submission_id: uuid.UUID, keep: uuid.UUID,
                            among: list[uuid.UUID] | None = None) -> None:
    """Other drafts of the work still pending become superseded (``among``: only these, e.g. one
    competency's earlier drafts when the work is drafted per competency)."""
    if among is not None and not among:
        return
    query = (update(Draft)
             .where(Draft.submission_id == submission_id, Draft.status == "pending_review", Draft.id != keep))
    if among is not None:
        query = query.where(Draft.id.in_(among))
    await session.execute(query.values(status="superseded"))


async def regenerated_from(session: AsyncSession, draft_id: uuid.UUID) -> Draft | None:
    """The draft a regeneration of this one produced, once it exists."""
    return await session.scalar(select(Draft).where(Draft.regenerated_from_id == draft_id).limit(1))


async def regenerate_decision(session: AsyncSession, draft_id: uuid.UUID) -> Decision | None:
    """The teacher's request to regenerate this draft (with its instructions), if there was one."""
    return await session.scalar(select(Decision).where(Decision.draft_id == draft_id, Decision.action == "regenerate")
                                .order_by(Decision.created_at.desc()).limit(1))


async def release_of(session: AsyncSession, draft_id: uuid.UUID) -> Release | None:
    return await session.scalar(select(Release).where(Release.draft_id == draft_id))


async def latest_release_for_submission(session: AsyncSession, submission_id: uuid.UUID,
                                        competency_id: str | None = None) -> Release | None:
    """The work's latest release (``competency_id``: the latest on that competency)."""
    query = select(Release).join(Draft, Draft.id == Release.draft_id).where(Draft.submission_id == submission_id)
    if competency_id is not None:
        query = query.where(Release.content["rubric_id"].astext == competency_id)
    return await session.scalar(query.order_by(Release.released_at.desc()).limit(1))


async def releases_for_submission(session: AsyncSession, submission_id: uuid.UUID) -> list[Release]:
    """Every release on the work, oldest first (work drafted per competency has one per competency)."""
    rows = await session.scalars(
        select(Release).join(Draft, Draft.id == Release.draft_id)
        .where(Draft.submission_id == submission_id).order_by(Release.released_at, Release.id)
    )
    return list(rows.all())


async def latest_draft_for_submission(session: AsyncSession, submission_id: uuid.UUID) -> Draft | None:
    return await session.scalar(
        select(Draft).where(Draft.submission_id == submission_id).order_by(Draft.created_at.desc()).limit(1)
    )


async def similar_examples(
    session: AsyncSession, teacher_id: uuid.UUID, competency_id: str, model: str, vector: list[float], limit: int = 3
):
    rows = await session.scalars(
        select(FeedbackExample)
        .where(
            FeedbackExample.teacher_id == teacher_id,
            FeedbackExample.competency_id == competency_id,
            FeedbackExample.embed_model == model,
        )
        .order_by(FeedbackExample.embedding.cosine_distance(vector))
        .limit(limit)
    )
    return list(rows.all())


async def releases_of_student(session: AsyncSession, student_id: uuid.UUID) -> list[Release]:
    rows = await session.scalars(
        select(Release).where(Release.student_id == student_id).order_by(Release.released_at.desc())
    )
    return list(rows.all())


async def release_for_student(session: AsyncSession, release_id: uuid.UUID, student_id: uuid.UUID) -> Release | None:
    return await session.scalar(
        select(Release).where(Release.id == release_id, Release.student_id == student_id)
    )
