"""Every query the review domain makes: drafts, decisions, releases, audit, the feedback bank."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from beacon.db.actor import acting_session
from beacon.feedback.models import Submission
from beacon.review.models import AuditEvent, Decision, Draft, Release
from beacon.school.models import Enrollment, SchoolClass, User


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


async def supersede_pending(session: AsyncSession, submission_id: uuid.UUID, keep: uuid.UUID) -> None:
    await session.execute(
        update(Draft)
        .where(Draft.submission_id == submission_id, Draft.status == "pending_review", Draft.id != keep)
        .values(status="superseded")
    )


async def regenerated_from(session: AsyncSession, draft_id: uuid.UUID) -> Draft | None:
    """The draft a regeneration of this one produced, once it exists."""
    return await session.scalar(select(Draft).where(Draft.regenerated_from_id == draft_id).limit(1))


async def regenerate_decision(session: AsyncSession, draft_id: uuid.UUID) -> Decision | None:
    """The teacher's request to regenerate this draft (with its instructions), if there was one."""
    return await session.scalar(select(Decision).where(Decision.draft_id == draft_id, Decision.action == "regenerate")
                                .order_by(Decision.created_at.desc()).limit(1))


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
    """An audit event, through the one function the app role may write them with: in a signed-in
    request the actor is that session's person (naming anyone else is refused); elsewhere the
    actor is Beacon itself and ``actor_id`` is kept as the person it acted for."""
    await session.execute(
        text("SELECT beacon_audit(CAST(:session AS uuid), CAST(:actor AS uuid), :action, :subject_type, "
             ":subject_id, CAST(:data AS jsonb))"),
        {"session": acting_session.get(), "actor": actor_id, "action": action, "subject_type": subject_type,
         "subject_id": subject_id, "data": json.dumps(data or {}, default=str)})


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
    from beacon.projects.models import ProjectRequest

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
    from beacon.projects.models import ProjectRequest

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


# --- Maintenance: work whose job is gone, threads of finished work ---------------------------

# (table, busy statuses, thread prefix, draft column) for each kind of work a workflow drafts.
WORK_TABLES = (
    ("submissions", ("queued", "drafting"), "feedback", "submission_id"),
    ("project_requests", ("queued", "designing"), "projects", "project_request_id"),
)


async def fail_stranded(session: AsyncSession) -> list[uuid.UUID]:
    """Mark ``failed`` busy work (older than a minute: its job is deferred with it) that has no
    job waiting or running for it. Returns the ids."""
    failed: list[uuid.UUID] = []
    for table, busy, prefix, _ in WORK_TABLES:
        rows = await session.execute(text(f"""
            UPDATE {table} w SET status = 'failed'
             WHERE w.status = ANY(:busy)
               AND w.created_at < now() - interval '1 minute'
               AND NOT EXISTS (
                   SELECT 1 FROM procrastinate_jobs j
                    WHERE (j.queueing_lock = :prefix || ':' || w.id::text OR j.lock = :prefix || ':' || w.id::text)
                      AND j.status IN ('todo', 'doing'))
            RETURNING w.id"""), {"busy": list(busy), "prefix": prefix})
        failed += rows.scalars().all()
    return failed


async def finished_with_threads(session: AsyncSession, kind: int, days: int, limit: int) -> list[uuid.UUID]:
    """Work of ``WORK_TABLES[kind]`` released or returned, with no decision in the last ``days``
    days, whose workflow thread still has checkpoints."""
    table, _, prefix, column = WORK_TABLES[kind]
    rows = await session.execute(text(f"""
        SELECT w.id FROM {table} w
         WHERE w.status IN ('released', 'returned')
           AND EXISTS (SELECT 1 FROM checkpoints c WHERE c.thread_id = :prefix || ':' || w.id::text)
           AND NOT EXISTS (
               SELECT 1 FROM drafts d JOIN decisions x ON x.draft_id = d.id
                WHERE d.{column} = w.id AND x.created_at > now() - make_interval(days => :days))
         LIMIT :limit"""), {"prefix": prefix, "days": days, "limit": limit})
    return list(rows.scalars().all())
