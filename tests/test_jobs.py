"""Drafting jobs are deferred in the submission's own transaction, once per submission."""

from __future__ import annotations

from sqlalchemy import text

from beacon.feedback.service import submit_for_feedback
from beacon.jobs import DRAFT_TASK, defer_in, feedback_lock
from tests.factories import make_class


async def _jobs(session, submission_id) -> list:
    rows = await session.execute(
        text("SELECT task_name, status, args->>'submission_id' FROM procrastinate_jobs WHERE queueing_lock = :l"),
        {"l": feedback_lock(submission_id)},
    )
    return rows.all()


async def test_submission_and_job_are_one_unit(session):
    _, _, _, [student] = await make_class(session)
    savepoint = await session.begin_nested()
    stored = await submit_for_feedback(session, student_id=student.id, title="Essay", body="My claim is clear.")
    assert await _jobs(session, stored.id) == [(DRAFT_TASK, "todo", str(stored.id))]
    await savepoint.rollback()  # the request fails after submitting: neither row survives
    assert await _jobs(session, stored.id) == []


async def test_one_waiting_job_per_submission(session):
    _, _, _, [student] = await make_class(session)
    stored = await submit_for_feedback(session, student_id=student.id, title="Essay", body="My claim is clear.")
    again = await defer_in(session, DRAFT_TASK, feedback_lock(stored.id), submission_id=str(stored.id))
    assert again is False
    assert len(await _jobs(session, stored.id)) == 1
