"""Every query the mastery record makes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Text, and_, any_, bindparam, cast, func, select, text, type_coerce, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from beacon.approval.models import Draft, Release
from beacon.feedback.models import Submission
from beacon.mastery.models import (Goal, PortfolioLink, PublishedReport, Rating, Reflection, StoredStanding,
                                   SupportDismissal)
from beacon.rubrics.models import Competency
from beacon.school.models import Assignment, AssignmentCompetency, Enrollment, School, User


async def add_ratings(session: AsyncSession, rows: list[dict]) -> None:
    """Insert once (a retried request writes the same deterministic ids, and nothing twice). One
    statement with every row, not one per row: the standings trigger fires once per statement."""
    if rows:
        await session.execute(insert(Rating).values(rows).on_conflict_do_nothing(index_elements=["id"]))


def _among(column, ids):
    """``column = ANY(:ids)``, one array parameter: a school's 600 students are one bind, not
    600 to render and send on every query."""
    return column == any_(bindparam(None, value=list(ids), type_=ARRAY(column.type)))


def _current(student_ids):
    """Ratings no later rating supersedes, of these students."""
    superseded = select(Rating.supersedes_id).where(Rating.supersedes_id.is_not(None),
                                                    _among(Rating.student_id, student_ids))
    return and_(_among(Rating.student_id, student_ids), Rating.id.not_in(superseded))


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


async def rating_facts(session: AsyncSession, student_ids: Sequence[uuid.UUID],
                       competency_ids: Sequence[str] | None = None):
    """The current ratings of many students at once (on these competencies), as rows of ``FACTS``."""
    if not student_ids:
        return []
    query = select(*FACTS).where(_current(list(student_ids)))
    if competency_ids is not None:
        query = query.where(Rating.competency_id.in_(list(competency_ids)))
    return (await session.execute(query)).all()


# What a school's overview reads of a stored standing: no JSON to decode.
SUMMARY = (StoredStanding.student_id, StoredStanding.competency_id, StoredStanding.generation,
           StoredStanding.computed, StoredStanding.inputs, StoredStanding.status, StoredStanding.last_work,
           StoredStanding.latest_id, StoredStanding.latest_level, StoredStanding.latest_release,
           # psycopg already gives text[] as a list: skip SQLAlchemy's per-item processing.
           type_coerce(StoredStanding.flags, NullType()).label("flags"))
STANDING = (*SUMMARY, StoredStanding.value, StoredStanding.concerns, StoredStanding.detail)
STORED = ("status", "value", "last_work", "latest_id", "latest_level", "latest_release", "concerns", "flags", "detail")


async def standings_of(session: AsyncSession, student_ids: Sequence[uuid.UUID], *, detail: bool = True) -> list:
    """The stored standings of these students, fresh or not, as read-only mappings (``detail=False``:
    the ``SUMMARY`` columns only)."""
    if not student_ids:
        return []
    rows = await session.execute(select(*(STANDING if detail else SUMMARY))
                                 .where(_among(StoredStanding.student_id, student_ids)))
    return list(rows.mappings())


_STORE = (update(StoredStanding.__table__)
          .where(StoredStanding.student_id == bindparam("b_student_id"),
                 StoredStanding.competency_id == bindparam("b_competency_id"),
                 StoredStanding.generation == bindparam("b_generation"))
          .values(computed=bindparam("b_generation"), inputs=bindparam("b_inputs"),
                  **{k: bindparam(f"b_{k}", type_=StoredStanding.__table__.c[k].type) for k in STORED}))


async def store_standings(session: AsyncSession, rows: list[dict]) -> None:
    """Store recalculated standings, each only if no rating was added since its calculation
    began (the generation it was calculated at is still the row's)."""
    if rows:
        await session.execute(_STORE, [{f"b_{k}": r[k] for k in (
            "student_id", "competency_id", "generation", "inputs", *STORED)} for r in rows])


async def get_rating(session: AsyncSession, rating_id: uuid.UUID) -> Rating | None:
    return await session.get(Rating, rating_id)


async def ratings_by_ids(session: AsyncSession, ids: list[uuid.UUID]) -> list[Rating]:
    """The ratings with these ids that exist, in the order given."""
    found = {r.id: r for r in (await session.scalars(select(Rating).where(Rating.id.in_(ids)))).all()}
    return [found[i] for i in ids if i in found]


async def is_superseded(session: AsyncSession, rating_id: uuid.UUID) -> bool:
    return await session.scalar(select(func.count()).where(Rating.supersedes_id == rating_id)) > 0


async def ratings_of_release(session: AsyncSession, release_id: uuid.UUID) -> list[Rating]:
    return list((await session.scalars(select(Rating).where(Rating.release_id == release_id)
                                       .order_by(Rating.criterion_id))).all())


async def release_titles(session: AsyncSession, student_id: uuid.UUID, release_ids: set[uuid.UUID]) -> dict[str, str]:
    """The title of the work each of the student's releases is feedback on: release id (text) → title."""
    if not release_ids:
        return {}
    rows = await session.execute(
        select(cast(Release.id, Text), Submission.title).join(Draft, Draft.id == Release.draft_id)
        .join(Submission, Submission.id == Draft.submission_id)
        .where(Release.student_id == student_id, _among(Release.id, release_ids)))
    return dict(rows.all())


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
               SupportDismissal.cause).where(_among(SupportDismissal.student_id, student_ids)))
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
        .where(Draft.kind == "feedback", _among(Draft.student_id, student_ids), Draft.created_at >= since, hit)
        .order_by(Draft.created_at))
    return rows.all()


async def unrevised_releases(session: AsyncSession, student_ids: Sequence[uuid.UUID], before: datetime) -> dict:
    """Feedback released before ``before`` whose work no revision followed: release id → released at."""
    if not student_ids:
        return {}
    revised = select(Submission.revision_of_id).where(Submission.revision_of_id.is_not(None),
                                                      _among(Submission.student_id, student_ids))
    rows = await session.execute(
        select(Release.id, Release.released_at)
        .join(Draft, Draft.id == Release.draft_id)
        .where(_among(Release.student_id, student_ids), Draft.kind == "feedback",
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


async def school_mastery_settings(session: AsyncSession, school_id: uuid.UUID) -> dict:
    """The school's own settings for the record (``mastery_*`` keys of School.settings)."""
    found = await session.get(School, school_id)
    return {k: v for k, v in (found.settings or {}).items() if k.startswith("mastery_")} if found else {}


async def schools_with_students(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.scalars(select(User.school_id).where(User.role == "student").distinct()
                                 .order_by(User.school_id))
    return list(rows.all())


# --- Published reports ------------------------------------------------------------------------

async def put_published_report(session: AsyncSession, *, student_id: uuid.UUID, class_id: uuid.UUID, start, end,
                               published_by: uuid.UUID, data: dict) -> PublishedReport:
    """One row per student, class and period: a republish replaces its data and moment, its id stays."""
    return await session.scalar(
        insert(PublishedReport).values(student_id=student_id, class_id=class_id, period_start=start, period_end=end,
                                       published_by=published_by, data=data)
        .on_conflict_do_update(constraint="uq_published_reports_period",
                               set_={"data": data, "published_at": func.now(), "published_by": published_by})
        .returning(PublishedReport).execution_options(populate_existing=True))


async def published_reports(session: AsyncSession, student_id: uuid.UUID, *, limit: int = 50) -> list[PublishedReport]:
    """A student's published reports, newest first (a family's list of their child's too)."""
    return list(await session.scalars(
        select(PublishedReport).where(PublishedReport.student_id == student_id)
        .order_by(PublishedReport.published_at.desc(), PublishedReport.id.desc()).limit(limit)))


async def published_report(session: AsyncSession, student_id: uuid.UUID, report_id: uuid.UUID) -> PublishedReport | None:
    """The student's published report ``report_id``; None if it is not theirs."""
    return await session.scalar(select(PublishedReport).where(PublishedReport.id == report_id,
                                                              PublishedReport.student_id == student_id))


# --- Goals, reflections, portfolio links ------------------------------------------------------

async def lock_goal_slot(session: AsyncSession, student_id: uuid.UUID, competency_id: str) -> None:
    """Until the transaction ends, one writer at a time of the student's goal on a competency."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                          {"key": f"goal:{student_id}:{competency_id}"})


async def open_goals_of(session: AsyncSession, student_id: uuid.UUID) -> list[Goal]:
    """The student's goals neither achieved nor withdrawn."""
    rows = await session.scalars(select(Goal).where(
        Goal.student_id == student_id, Goal.achieved_at.is_(None), Goal.withdrawn_at.is_(None)))
    return list(rows)


async def goal_for_update(session: AsyncSession, goal_id: uuid.UUID, student_id: uuid.UUID) -> Goal | None:
    """The student's goal ``goal_id``, row-locked; None if it is not theirs."""
    return await session.scalar(select(Goal).where(Goal.id == goal_id, Goal.student_id == student_id).with_for_update())


async def achieved_goals_of(session: AsyncSession, student_id: uuid.UUID, competency_id: str | None,
                            limit: int) -> list[Goal]:
    """The student's achieved goals, latest first (on one competency where given)."""
    query = select(Goal).where(Goal.student_id == student_id, Goal.achieved_at.is_not(None))
    if competency_id is not None:
        query = query.where(Goal.competency_id == competency_id)
    return list(await session.scalars(query.order_by(Goal.achieved_at.desc(), Goal.id).limit(limit)))


async def reflection_of_release(session: AsyncSession, release_id: uuid.UUID) -> Reflection | None:
    return await session.scalar(select(Reflection).where(Reflection.release_id == release_id))


async def reflections_of_student(session: AsyncSession, student_id: uuid.UUID) -> list[Reflection]:
    rows = await session.scalars(select(Reflection).where(Reflection.student_id == student_id))
    return list(rows)


async def revisions_since(session: AsyncSession, draft_id: uuid.UUID, since: datetime) -> int:
    """How many revisions of the work draft ``draft_id`` was on were handed in after ``since``."""
    return await session.scalar(
        select(func.count()).select_from(Submission).join(Draft, Draft.submission_id == Submission.revision_of_id)
        .where(Draft.id == draft_id, Submission.created_at > since))


async def put_reflection(session: AsyncSession, *, student_id: uuid.UUID, release_id: uuid.UUID,
                         written: str) -> Reflection:
    """One row per release: a rewrite replaces its text and moment, its id stays."""
    return await session.scalar(
        insert(Reflection).values(student_id=student_id, release_id=release_id, text=written)
        .on_conflict_do_update(index_elements=[Reflection.release_id], set_={"text": written, "updated_at": func.now()})
        .returning(Reflection).execution_options(populate_existing=True))


async def open_portfolio_links(session: AsyncSession, student_id: uuid.UUID) -> list[PortfolioLink]:
    """The student's links not revoked, oldest first."""
    rows = await session.scalars(select(PortfolioLink).where(
        PortfolioLink.student_id == student_id, PortfolioLink.revoked_at.is_(None)).order_by(PortfolioLink.created_at))
    return list(rows)


async def open_portfolio_link_by_hash(session: AsyncSession, token_hash: str) -> PortfolioLink | None:
    return await session.scalar(select(PortfolioLink).where(
        PortfolioLink.token_hash == token_hash, PortfolioLink.revoked_at.is_(None)))


async def portfolio_link_for_update(session: AsyncSession, link_id: uuid.UUID) -> PortfolioLink | None:
    """The link ``link_id``, row-locked, revoked or not."""
    return await session.scalar(select(PortfolioLink).where(PortfolioLink.id == link_id).with_for_update())
