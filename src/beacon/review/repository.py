"""Every query the teacher's review desk makes: the queue, scope (who teaches whose work), failed
and stranded work across both kinds of draft."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, literal, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from beacon.approval.models import Draft, Release
from beacon.feedback.models import Submission
from beacon.projects.models import ProjectRequest
from beacon.school.models import Enrollment, SchoolClass, User


@dataclass(frozen=True)
class QueueItem:
    """A pending draft with what a teacher needs to judge it from the queue."""

    draft: Draft
    student_name: str
    title: str


def _teaches_work(teacher_id: uuid.UUID, class_ids, student_id, class_id: uuid.UUID | None = None):
    """Whether this teacher teaches one of the work's classes (``class_ids``) that its student is
    still in (and, if given, that class): the one rule for who reviews a piece of work. The
    schema's decision trigger applies the same rule (migration 0006)."""
    teaching, taught = aliased(Enrollment), aliased(Enrollment)
    query = (
        select(teaching.class_id)
        .join(taught, and_(taught.class_id == teaching.class_id, taught.user_id == student_id,
                           taught.role_in_class == "student"))
        .where(teaching.user_id == teacher_id, teaching.role_in_class == "teacher",
               teaching.class_id == func.any(class_ids))
    )
    return (query.where(teaching.class_id == class_id) if class_id else query).exists()


def _draft_in_scope(teacher_id: uuid.UUID, class_id: uuid.UUID | None = None):
    """A draft's work (submission or project request) belongs to a class this teacher teaches."""
    classes = func.coalesce(
        select(Submission.class_ids).where(Submission.id == Draft.submission_id).correlate(Draft).scalar_subquery(),
        select(ProjectRequest.class_ids).where(ProjectRequest.id == Draft.project_request_id)
        .correlate(Draft).scalar_subquery(),
    )
    return _teaches_work(teacher_id, classes, Draft.student_id, class_id)


async def teaches_work(session: AsyncSession, teacher_id: uuid.UUID, item) -> bool:
    """Whether this teacher reviews this submission or project request."""
    return bool(await session.scalar(select(_teaches_work(teacher_id, item.class_ids, item.student_id))))


async def queue_for_teacher(
    session: AsyncSession,
    teacher_id: uuid.UUID,
    *,
    class_id: uuid.UUID | None = None,
    assignment_id: uuid.UUID | None = None,
    competency_id: str | None = None,
    flag: str | None = None,
    limit: int = 200,
) -> list[QueueItem]:
    """Drafts waiting for review whose work belongs to this teacher's classes (``class_id``: one
    of them), oldest first, with the student's name and the work's title in the same query."""
    query = (
        select(Draft, User.full_name, Submission.title)
        .join(User, User.id == Draft.student_id)
        .outerjoin(Submission, Submission.id == Draft.submission_id)
        .where(Draft.status == "pending_review", _draft_in_scope(teacher_id, class_id))
    )
    if assignment_id:
        query = query.where(Submission.assignment_id == assignment_id)
    if competency_id:
        query = query.where(Draft.content["rubric_id"].astext == competency_id)
    if flag:
        # Flags are "name" or "name:criterion"; filtering by a name matches both.
        flags = func.jsonb_array_elements_text(Draft.flags).table_valued("value").alias("flag")
        query = query.where(
            select(flags.c.value).where(or_(flags.c.value == flag, flags.c.value.startswith(f"{flag}:"))).exists()
        )
    rows = await session.execute(query.order_by(Draft.created_at, Draft.id).limit(limit))
    return [QueueItem(draft, name, title or "Project ideas") for draft, name, title in rows.all()]


async def draft_taught_by(session: AsyncSession, draft_id: uuid.UUID, teacher_id: uuid.UUID, *,
                          for_update: bool = False) -> Draft | None:
    """The draft, if its work belongs to a class this teacher teaches (``for_update``: locked
    until the transaction ends, so concurrent decisions on it queue up)."""
    query = select(Draft).where(Draft.id == draft_id, _draft_in_scope(teacher_id))
    if for_update:
        query = query.with_for_update(of=Draft).execution_options(populate_existing=True)
    return await session.scalar(query)


async def next_pending_for_teacher(session: AsyncSession, teacher_id: uuid.UUID, after: uuid.UUID | None) -> Draft | None:
    """The oldest draft waiting for this teacher, other than ``after`` (the one just looked at)."""
    query = select(Draft).where(Draft.status == "pending_review", _draft_in_scope(teacher_id))
    if after is not None:
        query = query.where(Draft.id != after)
    return await session.scalar(query.order_by(Draft.created_at, Draft.id).limit(1))


async def classes_taught(session: AsyncSession, teacher_id: uuid.UUID) -> list[SchoolClass]:
    rows = await session.scalars(
        select(SchoolClass)
        .join(Enrollment, Enrollment.class_id == SchoolClass.id)
        .where(Enrollment.user_id == teacher_id, Enrollment.role_in_class == "teacher")
        .order_by(SchoolClass.name)
    )
    return list(rows.all())


@dataclass(frozen=True)
class FailedWork:
    """Work whose drafting gave up (after every retry): someone must try it again."""

    kind: str  # "feedback" or "project"
    id: uuid.UUID
    student_name: str
    title: str
    created_at: object


async def failed_work(session: AsyncSession, *, teacher_id: uuid.UUID | None = None,
                      school_id: uuid.UUID | None = None, limit: int = 100) -> list[FailedWork]:
    """Failed submissions and project requests of a teacher's students (or a school's)."""
    def scoped(query, model):
        if teacher_id is not None:
            return query.where(_teaches_work(teacher_id, model.class_ids, model.student_id))
        return query.where(User.school_id == school_id)

    found: list[FailedWork] = []
    for kind, model, title in (("feedback", Submission, Submission.title),
                               ("project", ProjectRequest, ProjectRequest.interests)):
        query = (select(model.id, User.full_name, title, model.created_at)
                 .join(User, User.id == model.student_id).where(model.status == "failed"))
        rows = await session.execute(scoped(query, model).order_by(model.created_at).limit(limit))
        found += [FailedWork(kind, i, name, str(t)[:120], at) for i, name, t, at in rows.all()]
    return sorted(found, key=lambda w: w.created_at)[:limit]


# --- Beside a draft, and after it: the last feedback on a competency, what a teacher released --

@dataclass(frozen=True)
class LastFeedback:
    """The latest feedback released to a student on a competency, and whether they acted on it."""

    draft_id: uuid.UUID
    released_at: datetime
    feedback: str
    revised_at: datetime | None  # the first revision handed in after the release, if any
    release_id: uuid.UUID | None = None  # where the student's reflection on it is kept


async def last_feedback_on(session: AsyncSession, teacher_id: uuid.UUID, student_id: uuid.UUID,
                           competency_id: str, *, other_than: uuid.UUID) -> LastFeedback | None:
    """The student's latest release on this competency other than ``other_than``'s (the draft
    being looked at), among work this teacher reviews: the link to it must open for them."""
    revised = (select(func.min(Submission.created_at))
               .where(Submission.revision_of_id == Draft.submission_id, Submission.created_at > Release.released_at)
               .correlate(Draft, Release).scalar_subquery())
    row = (await session.execute(
        select(Draft.id, Release.released_at, Release.content["feedback"].astext, revised, Release.id)
        .join(Release, Release.draft_id == Draft.id)
        .where(Draft.kind == "feedback", Draft.student_id == student_id, Draft.id != other_than,
               Release.content["rubric_id"].astext == competency_id, _draft_in_scope(teacher_id))
        .order_by(Release.released_at.desc(), Release.id.desc()).limit(1))).first()
    return LastFeedback(row[0], row[1], row[2] or "", row[3], row[4]) if row else None


@dataclass(frozen=True)
class ReleasedItem:
    """One release as the teacher's released list shows it."""

    release: Release
    kind: str  # "feedback" or "project"
    student_name: str
    title: str


async def released_by(session: AsyncSession, teacher_id: uuid.UUID, *, class_id: uuid.UUID | None = None,
                      since: datetime | None = None, until: datetime | None = None,
                      before: uuid.UUID | None = None, limit: int = 50) -> tuple[list[ReleasedItem], uuid.UUID | None]:
    """What this teacher released (a release names its approving decision's teacher: the schema
    ties them), newest first, narrowed to work of ``class_id`` and to ``since <= released_at <
    until``; a page of ``limit`` after the release ``before``, and the cursor of the next page."""
    classes = func.coalesce(Submission.class_ids, ProjectRequest.class_ids)
    query = (select(Release, Draft.kind, User.full_name, Submission.title)
             .join(Draft, Draft.id == Release.draft_id)
             .join(User, User.id == Release.student_id)
             .outerjoin(Submission, Submission.id == Draft.submission_id)
             .outerjoin(ProjectRequest, ProjectRequest.id == Draft.project_request_id)
             .where(Release.teacher_id == teacher_id))
    if class_id:
        query = query.where(literal(class_id) == func.any(classes))
    if since:
        query = query.where(Release.released_at >= since)
    if until:
        query = query.where(Release.released_at < until)
    if before:
        anchor = await session.scalar(select(Release).where(Release.id == before, Release.teacher_id == teacher_id))
        if anchor is None:
            return [], None
        # (time, id): releases approved in one bulk transaction share their time.
        query = query.where(tuple_(Release.released_at, Release.id) < tuple_(anchor.released_at, anchor.id))
    rows = (await session.execute(
        query.order_by(Release.released_at.desc(), Release.id.desc()).limit(limit + 1))).all()
    items = [ReleasedItem(r, kind, name, title or "Project ideas") for r, kind, name, title in rows[:limit]]
    return items, (items[-1].release.id if len(rows) > limit else None)


# --- Maintenance: work whose job is gone, threads of finished work ---------------------------

# (table, busy statuses, thread prefix, draft column, the keys of a work's threads) for each kind
# of work a workflow drafts. A submission's threads: its own, and one per competency of its
# assignment (work drafted per competency: "feedback:<id>:<competency id>"); exact keys, so the
# lookups stay on the locks' and checkpoints' indexes.
WORK_TABLES = (
    ("submissions", ("queued", "drafting"), "feedback", "submission_id",
     ("SELECT w.id::text UNION ALL SELECT w.id::text || ':' || ac.competency_id"
      " FROM assignment_competencies ac WHERE ac.assignment_id = w.assignment_id")),
    ("project_requests", ("queued", "designing"), "projects", "project_request_id", "SELECT w.id::text"),
)


async def fail_stranded(session: AsyncSession) -> list[uuid.UUID]:
    """Mark ``failed`` busy work (older than a minute: its job is deferred with it) that has no
    job waiting or running for any of its threads. Returns the ids."""
    failed: list[uuid.UUID] = []
    for table, busy, prefix, _, keys in WORK_TABLES:
        rows = await session.execute(text(f"""
            UPDATE {table} w SET status = 'failed'
             WHERE w.status = ANY(:busy)
               AND w.created_at < now() - interval '1 minute'
               AND NOT EXISTS (
                   SELECT 1 FROM ({keys}) k(key) JOIN procrastinate_jobs j
                       ON j.queueing_lock = :prefix || ':' || k.key OR j.lock = :prefix || ':' || k.key
                    WHERE j.status IN ('todo', 'doing'))
            RETURNING w.id"""), {"busy": list(busy), "prefix": prefix})
        failed += rows.scalars().all()
    return failed


async def finished_with_threads(session: AsyncSession, kind: int, days: int, limit: int) -> list[str]:
    """The keys of the workflow threads that still have checkpoints, of work of
    ``WORK_TABLES[kind]`` released or returned with no decision in the last ``days`` days."""
    table, _, prefix, column, keys = WORK_TABLES[kind]
    rows = await session.execute(text(f"""
        SELECT k.key FROM {table} w CROSS JOIN LATERAL ({keys}) k(key)
         WHERE w.status IN ('released', 'returned')
           AND EXISTS (SELECT 1 FROM checkpoints c WHERE c.thread_id = :prefix || ':' || k.key)
           AND NOT EXISTS (
               SELECT 1 FROM drafts d JOIN decisions x ON x.draft_id = d.id
                WHERE d.{column} = w.id AND x.created_at > now() - make_interval(days => :days))
         LIMIT :limit"""), {"prefix": prefix, "days": days, "limit": limit})
    return list(rows.scalars().all())
