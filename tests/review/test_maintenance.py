"""Retention: finished work's workflow threads are deleted after the retention period; the
record (draft, decision, release) stays, and nothing is drafted again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from beacon.approval.models import Draft, Release
from beacon.feedback.service import submit_for_feedback
from beacon.review import service as review
from beacon.review.maintenance import prune
from beacon.runtime import open_feedback, run_jobs, workflows_for
from beacon.school.models import SignInThrottle
from tests.classroom import ESSAY


async def test_finished_threads_are_pruned_and_the_record_stays(runtime, classroom):
    async with runtime.db.transaction() as session:
        done = await submit_for_feedback(session, student_id=classroom.student_id, title="Done", body=ESSAY)
        waiting = await submit_for_feedback(session, student_id=classroom.student_id, title="Waiting",
                                            body=ESSAY.replace("ridge", "hill"))
    async with open_feedback(runtime) as workflow:
        await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
        draft = await workflow.pending_review(done.id)
        await review.decide_draft(runtime.db, uuid.UUID(draft.draft_id), teacher_id=classroom.teacher_id,
                                  action="approve")
        await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
        config = {"configurable": {"thread_id": f"feedback:{done.id}"}}
        assert (await workflow.graph.aget_state(config)).values

        await prune(runtime.db, [workflow, workflows_for(runtime, workflow).projects], days=30)
        assert (await workflow.graph.aget_state(config)).values  # decided today: kept
        async with runtime.db.transaction() as session:  # sign-in counts: an old one, a running lock
            session.add_all([
                SignInThrottle(key=f"account:old-{done.id}", failures=3, window_started_at=datetime.now(UTC) - timedelta(days=2)),
                SignInThrottle(key=f"account:locked-{done.id}", failures=9, window_started_at=datetime.now(UTC) - timedelta(days=2),
                               locked_until=datetime.now(UTC) + timedelta(minutes=10))])
        pruned = await prune(runtime.db, [workflow, workflows_for(runtime, workflow).projects], days=0)
        assert pruned["threads"] >= 1 and pruned["sign_in_counts"] >= 1
        async with runtime.db.transaction() as session:
            left = (await session.scalars(select(SignInThrottle.key).where(SignInThrottle.key.like(f"%-{done.id}")))).all()
        assert left == [f"account:locked-{done.id}"]
        assert not (await workflow.graph.aget_state(config)).values
        assert await workflow.pending_review(waiting.id) is not None  # unfinished work keeps its thread
        assert await workflow.run_to_review(done.id) is None  # a job for pruned work redrafts nothing
    async with runtime.db.transaction() as session:
        drafts = (await session.scalars(select(Draft).where(Draft.submission_id == done.id))).all()
        releases = (await session.scalars(select(Release).where(Release.draft_id == drafts[0].id))).all()
    assert [d.status for d in drafts] == ["approved"] and len(releases) == 1
