"""Every query the feedback domain makes."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.feedback.models import Submission


async def get(session: AsyncSession, submission_id: uuid.UUID) -> Submission | None:
    return await session.get(Submission, submission_id)


async def same_work(session: AsyncSession, student_id: uuid.UUID, body_sha256: str) -> Submission | None:
    return await session.scalar(
        select(Submission)
        .where(Submission.student_id == student_id, Submission.body_sha256 == body_sha256)
        .order_by(Submission.created_at.desc())
        .limit(1)
    )


async def add(session: AsyncSession, submission: Submission) -> Submission:
    session.add(submission)
    await session.flush()
    return submission


async def submissions_of(session: AsyncSession, student_id: uuid.UUID) -> list[Submission]:
    rows = await session.scalars(
        select(Submission).where(Submission.student_id == student_id).order_by(Submission.created_at.desc())
    )
    return list(rows.all())
