"""Every query the review domain makes: drafts, decisions, releases, audit, the feedback bank."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.review.models import AuditEvent, Decision, Draft, Release


async def get_draft(session: AsyncSession, draft_id: uuid.UUID) -> Draft | None:
    return await session.get(Draft, draft_id)


async def insert_once(session: AsyncSession, table, **values) -> None:
    """Insert unless a row with this primary key exists: graph nodes may re-run after a crash."""
    await session.execute(insert(table).values(**values).on_conflict_do_nothing())


async def set_draft_status(session: AsyncSession, draft_id: uuid.UUID, status: str) -> None:
    await session.execute(update(Draft).where(Draft.id == draft_id).values(status=status))


async def supersede_pending(session: AsyncSession, submission_id: uuid.UUID, keep: uuid.UUID) -> None:
    await session.execute(
        update(Draft)
        .where(Draft.submission_id == submission_id, Draft.status == "pending_review", Draft.id != keep)
        .values(status="superseded")
    )


async def decision(session: AsyncSession, decision_id: uuid.UUID) -> Decision | None:
    return await session.get(Decision, decision_id)


async def release_of(session: AsyncSession, draft_id: uuid.UUID) -> Release | None:
    return await session.scalar(select(Release).where(Release.draft_id == draft_id))


async def latest_release_for_submission(session: AsyncSession, submission_id: uuid.UUID) -> Release | None:
    return await session.scalar(
        select(Release)
        .join(Draft, Draft.id == Release.draft_id)
        .where(Draft.submission_id == submission_id)
        .order_by(Release.released_at.desc())
        .limit(1)
    )


async def latest_draft_for_submission(session: AsyncSession, submission_id: uuid.UUID) -> Draft | None:
    return await session.scalar(
        select(Draft).where(Draft.submission_id == submission_id).order_by(Draft.created_at.desc()).limit(1)
    )


async def audit_trail(session: AsyncSession, subject_type: str, subject_id: str) -> list[AuditEvent]:
    rows = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id)
    )
    return list(rows.all())


async def add_audit(session: AsyncSession, *, actor_id, action: str, subject_type: str, subject_id: str, data: dict) -> None:
    session.add(AuditEvent(actor_id=actor_id, action=action, subject_type=subject_type, subject_id=subject_id, data=data))
    await session.flush()


async def similar_examples(
    session: AsyncSession, teacher_id: uuid.UUID, competency_id: str, model: str, vector: list[float], limit: int = 3
):
    from beacon.review.models import FeedbackExample

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


async def queue_for_teacher(session: AsyncSession, teacher_id: uuid.UUID, limit: int = 200) -> list[Draft]:
    """Drafts waiting for review, of students in this teacher's classes, oldest first."""
    from sqlalchemy import and_
    from sqlalchemy.orm import aliased

    from beacon.school.models import Enrollment

    taught, teaching = aliased(Enrollment), aliased(Enrollment)
    students = (
        select(taught.user_id)
        .join(teaching, and_(teaching.class_id == taught.class_id, teaching.role_in_class == "teacher"))
        .where(teaching.user_id == teacher_id, taught.role_in_class == "student")
    )
    rows = await session.scalars(
        select(Draft)
        .where(Draft.status == "pending_review", Draft.student_id.in_(students))
        .order_by(Draft.created_at)
        .limit(limit)
    )
    return list(rows.all())
