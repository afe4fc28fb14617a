"""A student's own goals and reflections (issue 15): a goal on a competency in their words, and
an answer to the revision question of feedback released to them. The student writes both; their
teachers read them beside the next draft (review/context.py) and their family on the progress
page; nobody else. Every write is audited with its text."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.approval import repository as releases
from beacon.db.audit import add_audit
from beacon.errors import Conflict, InvalidInput, NotFound
from beacon.mastery import repository
from beacon.mastery.models import GOAL_MAX_CHARS, REFLECTION_MAX_CHARS, Goal, Reflection
from beacon.rubrics import repository as rubrics
from beacon.school.models import User


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _words(value: str, limit: int, what: str) -> str:
    """The student's text, trimmed, refused when empty or over the limit (the schema refuses it too)."""
    cleaned = (value or "").strip()
    if not cleaned:
        raise InvalidInput(f"write your {what} first")
    if len(cleaned) > limit:
        raise InvalidInput(f"a {what} is at most {limit} characters (this one has {len(cleaned)})")
    return cleaned


# --- Goals ------------------------------------------------------------------------------------

async def open_goals(session: AsyncSession, student_id: uuid.UUID) -> dict[str, Goal]:
    """The student's open goal per competency."""
    return {g.competency_id: g for g in await repository.open_goals_of(session, student_id)}


async def open_goal(session: AsyncSession, student_id: uuid.UUID, competency_id: str) -> Goal | None:
    return (await open_goals(session, student_id)).get(competency_id)


async def set_goal(session: AsyncSession, student: User, competency_id: str, goal_text: str,
                   target_level: int | None = None) -> Goal:
    """Set (or change) the student's goal on a competency of the library. A change closes the
    open goal as withdrawn and opens the new one: what the teacher read before stays on record."""
    cleaned = _words(goal_text, GOAL_MAX_CHARS, "goal")
    version = await rubrics.current_version(session, competency_id)
    if version is None:
        raise InvalidInput(f"there is no competency {competency_id!r}")
    levels = len(version.definition.get("levels", []))
    if target_level is not None and not 1 <= target_level <= levels:
        raise InvalidInput(f"a level on {competency_id} is from 1 to {levels}")
    # Two tabs setting a goal at once take turns, so the second replaces the first (no 500
    # from the one-open-goal index).
    await repository.lock_goal_slot(session, student.id, competency_id)
    replaced = await open_goal(session, student.id, competency_id)
    if replaced is not None:
        replaced.withdrawn_at = _now()
        await session.flush()
    goal = Goal(student_id=student.id, competency_id=competency_id, text=cleaned, target_level=target_level)
    session.add(goal)
    await session.flush()
    await add_audit(session, actor_id=student.id, action="goal.set", subject_type="student",
                    subject_id=str(student.id), data={"goal_id": str(goal.id), "competency_id": competency_id,
                                                      "text": cleaned, "target_level": target_level,
                                                      "replaces": str(replaced.id) if replaced else None})
    return goal


async def _open_goal(session: AsyncSession, student: User, goal_id: uuid.UUID) -> Goal:
    """The student's own goal, still open, locked: another's is "not found", a closed one a conflict."""
    goal = await repository.goal_for_update(session, goal_id, student.id)
    if goal is None:
        raise NotFound("goal")
    if goal.achieved_at or goal.withdrawn_at:
        raise Conflict("that goal is already closed")
    return goal


async def withdraw_goal(session: AsyncSession, student: User, goal_id: uuid.UUID) -> Goal:
    goal = await _open_goal(session, student, goal_id)
    goal.withdrawn_at = _now()
    await add_audit(session, actor_id=student.id, action="goal.withdrawn", subject_type="student",
                    subject_id=str(student.id), data={"goal_id": str(goal.id), "competency_id": goal.competency_id})
    return goal


async def achieve_goal(session: AsyncSession, student: User, goal_id: uuid.UUID) -> Goal:
    """The student says they reached their own open goal: it closes as achieved (kept, and shown
    as reached), so a new goal on the competency can open. The student's word, not the record's:
    the page only suggests it when the record shows the target level reached."""
    goal = await _open_goal(session, student, goal_id)
    goal.achieved_at = _now()
    await session.flush()
    await add_audit(session, actor_id=student.id, action="goal.achieved", subject_type="student",
                    subject_id=str(student.id), data={"goal_id": str(goal.id), "competency_id": goal.competency_id,
                                                      "text": goal.text, "target_level": goal.target_level})
    return goal


ACHIEVED_SHOWN = 5  # "Goals reached": the last few, a record of moments rather than a ledger


async def achieved_goals(session: AsyncSession, student_id: uuid.UUID, *, competency_id: str | None = None,
                         limit: int = ACHIEVED_SHOWN) -> list[Goal]:
    """The student's goals reached, latest first (on one competency where given)."""
    return await repository.achieved_goals_of(session, student_id, competency_id, limit)


# --- Reflections --------------------------------------------------------------------------------

async def reflection_on(session: AsyncSession, release_id: uuid.UUID) -> Reflection | None:
    return await repository.reflection_of_release(session, release_id)


async def reflections_of(session: AsyncSession, student_id: uuid.UUID) -> dict[str, Reflection]:
    """The student's reflections by release id (as text: the progress page's key)."""
    return {str(r.release_id): r for r in await repository.reflections_of_student(session, student_id)}


async def revised_since(session: AsyncSession, release) -> bool:
    """Whether the student has handed in a revision of the work this feedback was on since it was released."""
    return bool(await repository.revisions_since(session, release.draft_id, release.released_at))


async def write_reflection(session: AsyncSession, student: User, release_id: uuid.UUID, reflection_text: str) -> Reflection:
    """The student's answer to the revision question of feedback released to them: one per
    release, rewritten in place until they hand in a revision of that work; from then on it is
    what their teacher reads beside the new draft, so it stays as it was."""
    release = await releases.release_for_student(session, release_id, student.id)
    if release is None:
        raise NotFound("release")
    if release.content.get("kind") == "project":
        raise InvalidInput("project ideas have no revision question to answer")
    cleaned = _words(reflection_text, REFLECTION_MAX_CHARS, "reflection")
    if await revised_since(session, release):
        raise Conflict("you have handed in a revision since: this reflection stays as your teacher read it")
    written = await repository.put_reflection(session, student_id=student.id, release_id=release.id, written=cleaned)
    await add_audit(session, actor_id=student.id, action="reflection.written", subject_type="release",
                    subject_id=str(release.id), data={"reflection_id": str(written.id), "text": cleaned})
    return written
