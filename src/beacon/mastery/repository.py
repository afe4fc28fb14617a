"""Every query the mastery record makes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Text, and_, cast, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.approval.models import Draft, Release
from beacon.feedback.models import Submission
from beacon.mastery.models import Rating, SupportDismissal
from beacon.rubrics.models import Competency
from beacon.school.models import Assignment, AssignmentCompetency, Enrollment, User


async def add_ratings(session: AsyncSession, rows: list[dict]) -> None:
    """Insert once (a retried request writes the same deterministic ids, and nothing twice)."""
    if rows:
        await session.execute(insert(Rating).on_conflict_do_nothing(index_elements=["id"]), rows)


def _current(student_ids):
    """Ratings no later rating supersedes, of these students."""
    superseded = select(Rating.supersedes_id).where(Rating.supersedes_id.is_not(None),
                                                    Rating.student_id.in_(student_ids))
    return and_(Rating.student_id.in_(student_ids), Rating.id.not_in(superseded))


async def current_ratings(session: AsyncSession, student_id: uuid.UUID, competency_id: str | None = None) -> list[Rating]:
    """A student's ratings that still count, by work date."""
    return await current_ratings_of(session, [student_id], competency_id)


async def current_ratings_of(session: AsyncSession, student_ids: Sequence[uuid.UUID],
                             competency_id: str | None = None) -> list[Rating]:
    """The ratings that still count of these students, by student, competency and work date."""
    if not student_ids:
        return []
    query = select(Rating).where(_current(list(student_ids)))
    if competency_id is not None:
        query = query.where(Rating.competency_id == competency_id)
    return list((await session.scalars(query.order_by(Rating.student_id, Rating.competency_id,
                                                      Rating.work_date, Rating.id))).all())


# What the calculation reads of a rating: a row of plain values, not an ORM object (a school's
# overview reads hundreds of thousands).
# Ids come as text: parsing then printing 800,000 UUIDs was a third of the overview's time.
FACTS = (cast(Rating.id, Text).label("id"), Rating.student_id, Rating.competency_id, Rating.criterion_id,
         Rating.level, Rating.work_date, Rating.source, cast(Rating.release_id, Text).label("release_id"))


async def rating_facts(session: AsyncSession, student_ids: Sequence[uuid.UUID]):
    """The current ratings of many students at once, as rows of ``FACTS``."""
    if not student_ids:
        return []
    result = await session.execute(select(*FACTS).where(_current(list(student_ids))))
    return result.all()


async def get_rating(session: AsyncSession, rating_id: uuid.UUID) -> Rating | None:
    return await session.get(Rating, rating_id)


async def is_superseded(session: AsyncSession, rating_id: uuid.UUID) -> bool:
    return await session.scalar(select(func.count()).where(Rating.supersedes_id == rating_id)) > 0


async def ratings_of_release(session: AsyncSession, release_id: uuid.UUID) -> list[Rating]:
    return list((await session.scalars(select(Rating).where(Rating.release_id == release_id)
                                       .order_by(Rating.criterion_id))).all())


async def raters(session: AsyncSession, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    return dict((await session.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))).all())


async def add_dismissal(session: AsyncSession, row: SupportDismissal) -> None:
    session.add(row)
    await session.flush()


async def dismissed(session: AsyncSession, student_ids: Sequence[uuid.UUID]) -> set[tuple[str, str, str, str]]:
    """(student, competency, kind, cause) of every dismissed flag of these students."""
    if not student_ids:
        return set()
    rows = await session.execute(
        select(SupportDismissal.student_id, SupportDismissal.competency_id, SupportDismissal.kind,
               SupportDismissal.cause).where(SupportDismissal.student_id.in_(list(student_ids))))
    return {(str(s), c, k, cause) for s, c, k, cause in rows.all()}


async def flagged_drafts(session: AsyncSession, student_ids: Sequence[uuid.UUID], since: datetime):
    """(student, draft id, created) of feedback drafts since ``since`` flagged for a teacher's
    judgement or a suspected injection."""
    if not student_ids:
        return []
    flags = func.jsonb_array_elements_text(Draft.flags).table_valued("value").render_derived()
    hit = select(1).select_from(flags).where(
        flags.c.value.like("needs_teacher_judgement%") | (flags.c.value == "prompt_injection")).exists()
    rows = await session.execute(
        select(Draft.student_id, Draft.id, Draft.created_at)
        .where(Draft.kind == "feedback", Draft.student_id.in_(list(student_ids)), Draft.created_at >= since, hit)
        .order_by(Draft.created_at))
    return rows.all()


async def unrevised_releases(session: AsyncSession, student_ids: Sequence[uuid.UUID], before: datetime) -> dict:
    """Feedback released before ``before`` whose work no revision followed: release id → released at."""
    if not student_ids:
        return {}
    revised = select(Submission.revision_of_id).where(Submission.revision_of_id.is_not(None),
                                                      Submission.student_id.in_(list(student_ids)))
    rows = await session.execute(
        select(Release.id, Release.released_at)
        .join(Draft, Draft.id == Release.draft_id)
        .where(Release.student_id.in_(list(student_ids)), Draft.kind == "feedback",
               Release.released_at < before, Draft.submission_id.not_in(revised)))
    return dict(rows.all())


async def students_of_class(session: AsyncSession, class_id: uuid.UUID) -> list[User]:
    rows = await session.scalars(
        select(User).join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.class_id == class_id, Enrollment.role_in_class == "student")
        .order_by(User.full_name, User.id))
    return list(rows.all())


async def students_of_school(session: AsyncSession, school_id: uuid.UUID) -> list[User]:
    rows = await session.scalars(select(User).where(User.school_id == school_id, User.role == "student")
                                 .order_by(User.full_name, User.id))
    return list(rows.all())


async def class_competencies(session: AsyncSession, class_id: uuid.UUID) -> list[tuple[str, str]]:
    """The competencies the class's assignments give evidence of: (id, title), by title."""
    rows = await session.execute(
        select(Competency.id, Competency.title).distinct()
        .join(AssignmentCompetency, AssignmentCompetency.competency_id == Competency.id)
        .join(Assignment, Assignment.id == AssignmentCompetency.assignment_id)
        .where(Assignment.class_id == class_id).order_by(Competency.title))
    return [tuple(r) for r in rows.all()]
