"""Small builders for rows tests need; each flushes so ids exist, none commits."""

from __future__ import annotations

import contextlib
import uuid

from beacon.approval.models import Decision, Draft, Release
from beacon.feedback.service import submit
from beacon.rubrics import repository as rubrics_repo
from beacon.school import service as school
from beacon.school.schemas import StudentSeed


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def make_class(session, *, students: int = 1):
    """A school with one class: a teacher and ``students`` students."""
    sch = await school.ensure_school(session, _unique("school"), "Test School")
    teacher = await school.ensure_user(session, sch, f"{_unique('t')}@example.org", "Tess Teacher", "teacher")
    klass = await school.ensure_class(session, sch, _unique("class"))
    await school.enroll(session, klass, teacher, "teacher")
    pupils = [
        await school.ensure_student(
            session, sch, klass,
            StudentSeed(first_name=f"Stu{i}", last_name="Dent", email=f"{_unique('s')}@example.org", grade=8),
        )
        for i in range(students)
    ]
    return sch, klass, teacher, pupils


async def make_draft(session, student, *, competency: str = "argument-writing", flags: list[str] | None = None,
                     assignment_id=None) -> Draft:
    version = await rubrics_repo.current_version(session, competency)
    sub = await submit(session, student_id=student.id, title="Essay", body="Wind turbines help our town.",
                       assignment_id=assignment_id)
    draft = Draft(
        kind="feedback",
        student_id=student.id,
        submission_id=sub.id,
        rubric_version_id=version.id,
        content={"feedback": "Draft text", "rubric_id": competency},
        flags=flags or [],
        model="offline",
        prompt_hash="0" * 64,
    )
    session.add(draft)
    await session.flush()
    return draft


async def decide(session, draft, teacher, action: str, **fields) -> Decision:
    decision = Decision(draft_id=draft.id, teacher_id=teacher.id, action=action, **fields)
    session.add(decision)
    await session.flush()
    return decision


async def release(session, draft, decision, *, teacher_id=None, student_id=None, content=None) -> Release:
    row = Release(
        draft_id=draft.id,
        decision_id=decision.id,
        teacher_id=teacher_id or decision.teacher_id,
        student_id=student_id or draft.student_id,
        content=content or draft.content,  # releases are immutable once written: give it its content
    )
    session.add(row)
    await session.flush()
    return row


@contextlib.asynccontextmanager
async def acting_as(session, user):
    """As in a request ``user`` signed in to: a live session, and audit events in their name."""
    from datetime import UTC, datetime, timedelta

    from beacon.db.actor import acting_session
    from beacon.school.repository import open_session

    token = acting_session.set(await open_session(session, user.id, "cookie", datetime.now(UTC) + timedelta(hours=1)))
    try:
        yield
    finally:
        acting_session.reset(token)
