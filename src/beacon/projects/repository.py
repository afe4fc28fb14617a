"""Every query the projects domain makes."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.approval.models import Draft, Release
from beacon.feedback.models import Submission
from beacon.projects.models import ProjectRequest
from beacon.school.models import Assignment, AssignmentCompetency, Enrollment


async def get_request(session: AsyncSession, request_id: uuid.UUID) -> ProjectRequest | None:
    return await session.get(ProjectRequest, request_id)


async def add(session: AsyncSession, row) -> None:
    session.add(row)
    await session.flush()


async def requests_of(session: AsyncSession, student_id: uuid.UUID) -> list[ProjectRequest]:
    rows = await session.scalars(
        select(ProjectRequest).where(ProjectRequest.student_id == student_id).order_by(ProjectRequest.created_at.desc())
    )
    return list(rows.all())


async def releases_of_kind(session: AsyncSession, student_id: uuid.UUID, kind: str) -> list[Release]:
    """A student's releases of feedback or of project ideas, newest first."""
    rows = await session.scalars(
        select(Release).join(Draft, Draft.id == Release.draft_id)
        .where(Release.student_id == student_id, Draft.kind == kind)
        .order_by(Release.released_at.desc())
    )
    return list(rows.all())


async def targeted_by_teachers(session: AsyncSession, student_id: uuid.UUID) -> list[str]:
    """Competencies of assignments in the student's classes, most recent first."""
    rows = await session.execute(
        select(AssignmentCompetency.competency_id, Assignment.created_at)
        .join(Assignment, Assignment.id == AssignmentCompetency.assignment_id)
        .join(Enrollment, Enrollment.class_id == Assignment.class_id)
        .where(Enrollment.user_id == student_id, Enrollment.role_in_class == "student",
               Assignment.student_id.is_(None))
        .order_by(Assignment.created_at.desc())
    )
    return list(dict.fromkeys(row[0] for row in rows.all()))


async def supersede_pending(session: AsyncSession, request_id: uuid.UUID, keep: uuid.UUID) -> None:
    await session.execute(
        update(Draft)
        .where(Draft.project_request_id == request_id, Draft.status == "pending_review", Draft.id != keep)
        .values(status="superseded")
    )


async def started_from(session: AsyncSession, release_id: uuid.UUID) -> list[Assignment]:
    rows = await session.scalars(select(Assignment).where(Assignment.source_release_id == release_id))
    return list(rows.all())


async def shared_class(session: AsyncSession, student_id: uuid.UUID, teacher_id: uuid.UUID) -> uuid.UUID | None:
    """A class the teacher teaches and the student is in (a started project lives there)."""
    from sqlalchemy import and_
    from sqlalchemy.orm import aliased

    s, t = aliased(Enrollment), aliased(Enrollment)
    return await session.scalar(
        select(s.class_id)
        .join(t, and_(t.class_id == s.class_id, t.user_id == teacher_id, t.role_in_class == "teacher"))
        .where(s.user_id == student_id, s.role_in_class == "student")
        .limit(1)
    )


async def started_by(session: AsyncSession, student_id: uuid.UUID) -> list[tuple[Assignment, list[str]]]:
    """The projects a student started (their own assignments), newest first, each with its competencies."""
    started = list((await session.scalars(select(Assignment).where(Assignment.student_id == student_id)
                                          .order_by(Assignment.created_at.desc(), Assignment.id))).all())
    if not started:
        return []
    rows = await session.execute(select(AssignmentCompetency.assignment_id, AssignmentCompetency.competency_id)
                                 .where(AssignmentCompetency.assignment_id.in_([a.id for a in started])))
    competencies: dict[uuid.UUID, list[str]] = {}
    for assignment_id, competency_id in rows.all():
        competencies.setdefault(assignment_id, []).append(competency_id)
    return [(a, sorted(competencies.get(a.id, []))) for a in started]


async def released_work_for(session: AsyncSession, student_id: uuid.UUID, assignment_ids: list[uuid.UUID]):
    """(assignment id, submission id, title, release id, released at) of the student's work handed
    in for these assignments whose feedback was released, oldest release first."""
    if not assignment_ids:
        return []
    rows = await session.execute(
        select(Submission.assignment_id, Submission.id, Submission.title, Release.id, Release.released_at)
        .join(Draft, Draft.submission_id == Submission.id).join(Release, Release.draft_id == Draft.id)
        .where(Submission.student_id == student_id, Submission.assignment_id.in_(assignment_ids),
               Release.student_id == student_id, Draft.kind == "feedback")
        .order_by(Release.released_at, Release.id))
    return rows.all()
