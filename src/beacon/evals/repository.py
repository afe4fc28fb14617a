"""Every query the evals domain makes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from beacon.approval.models import Decision, Draft, Release
from beacon.evals.models import EvalRun
from beacon.school.models import User


@dataclass(frozen=True)
class DecidedDraft:
    draft: Draft
    decision: Decision
    release: Release | None
    teacher_name: str


async def decisions_in_school(session: AsyncSession, school_id: uuid.UUID, limit: int = 5000) -> list[DecidedDraft]:
    """Every teacher decision on a feedback draft of a student of this school, newest first, with
    the release it produced (approvals)."""
    student, teacher = aliased(User), aliased(User)
    rows = await session.execute(
        select(Draft, Decision, Release, teacher.full_name)
        .join(Decision, Decision.draft_id == Draft.id)
        .join(student, student.id == Draft.student_id)
        .join(teacher, teacher.id == Decision.teacher_id)
        .outerjoin(Release, Release.decision_id == Decision.id)
        .where(student.school_id == school_id, Draft.kind == "feedback")
        .order_by(Decision.created_at.desc(), Decision.id)
        .limit(limit)
    )
    return [DecidedDraft(*row) for row in rows.all()]


async def runs_of_school(session: AsyncSession, school_id: uuid.UUID, limit: int = 50):
    rows = await session.scalars(
        select(EvalRun).where(EvalRun.school_id == school_id).order_by(EvalRun.created_at.desc()).limit(limit)
    )
    return list(rows.all())


async def get_run(session: AsyncSession, run_id: uuid.UUID):
    return await session.get(EvalRun, run_id)
