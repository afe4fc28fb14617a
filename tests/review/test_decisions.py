"""Decisions told the truth: concurrent decisions on one draft have exactly one winner, every
loser is told what happened, and the student gets exactly what the teacher reviewed, even
when a worker died between writing the draft and checkpointing its thread."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import func, select

from beacon.approval.decisions import content_hash
from beacon.approval.models import Decision, Draft, Release
from beacon.db.audit import AuditEvent
from beacon.errors import Conflict, InvalidInput
from beacon.feedback.models import Submission
from beacon.feedback.schemas import DraftContent
from beacon.feedback.service import submit, submit_for_feedback
from beacon.review import service as review
from beacon.rubrics.models import RubricVersion
from beacon.runtime import open_feedback, run_jobs, workflows_for
from tests.classroom import ESSAY


@pytest.fixture
async def workflow(runtime):
    async with open_feedback(runtime, InMemorySaver()) as wf:
        yield wf


async def _fresh_draft(runtime, workflow, classroom) -> tuple[uuid.UUID, uuid.UUID]:
    async with runtime.db.transaction() as session:
        sub = await submit(session, student_id=classroom.student_id, title="Turbines", body=ESSAY)
    payload = await workflow.run_to_review(sub.id)
    return sub.id, uuid.UUID(payload.draft_id)


async def _state(runtime, draft_id, submission_id):
    async with runtime.db.transaction() as session:
        draft = await session.get(Draft, draft_id)
        decisions = (await session.scalars(select(Decision).where(Decision.draft_id == draft_id))).all()
        releases = (await session.scalars(select(Release).where(Release.draft_id == draft_id))).all()
        work = await session.get(Submission, submission_id)
        audits = (await session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_type == "draft", AuditEvent.subject_id == str(draft_id)))).all()
        return draft.status, list(decisions), list(releases), work.status, list(audits)


def _edited(content: dict, text: str) -> DraftContent:
    edited = DraftContent.model_validate(content)
    edited.feedback = text
    return edited


# One competing decision: its kind and, for an approval, the edit it carries.
DECISIONS = st.sampled_from(["approve", "approve_edit_a", "approve_edit_b", "reject", "regenerate", "bulk"])


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(mix=st.lists(DECISIONS, min_size=2, max_size=8))
async def test_concurrent_decisions_have_one_winner_and_every_answer_is_true(runtime, workflow, classroom, mix):
    submission_id, draft_id = await _fresh_draft(runtime, workflow, classroom)
    async with runtime.db.transaction() as session:
        content = (await session.get(Draft, draft_id)).content

    async def one(kind: str):
        teacher = classroom.teacher_id
        try:
            if kind == "bulk":
                outcome = await review.bulk_approve(runtime.db, teacher, [draft_id])
                return ("approve", None) if outcome[draft_id] is None else ("lost", outcome[draft_id])
            if kind.startswith("approve"):
                edit = {"approve": None, "approve_edit_a": "Edit A", "approve_edit_b": "Edit B"}[kind]
                await review.decide_draft(runtime.db, draft_id, teacher_id=teacher, action="approve",
                                          edited_content=_edited(content, edit) if edit else None)
                return ("approve", edit)
            fields = {"reason": "not yet"} if kind == "reject" else {"instructions": "shorter"}
            await review.decide_draft(runtime.db, draft_id, teacher_id=teacher, action=kind, **fields)
            return (kind, None)
        except Conflict as exc:
            return ("lost", str(exc))

    answers = await asyncio.gather(*(one(kind) for kind in mix))
    winners = [a for a in answers if a[0] != "lost"]
    assert len(winners) == 1, answers
    [(action, edit)] = winners
    status, decisions, releases, work, audits = await _state(runtime, draft_id, submission_id)
    assert [d.action for d in decisions] == [action]
    assert status == {"approve": "approved", "reject": "rejected", "regenerate": "superseded"}[action]
    assert work == {"approve": "released", "reject": "returned", "regenerate": "queued"}[action]
    assert audits == ([f"decision.{action}"] + (["release.created"] if action == "approve" else []))
    if action == "approve":
        [release] = releases
        assert release.content["feedback"] == (edit or content["feedback"])
    else:
        assert releases == []
    said = {"approve": "already approved by Rosa Alvarez", "reject": "already rejected by Rosa Alvarez",
            "regenerate": "already sent back for regeneration by Rosa Alvarez"}[action]
    for kind, message in answers:
        if kind == "lost":
            assert message.startswith(said), message


async def test_a_decision_on_a_draft_that_changed_since_it_was_seen_is_refused(runtime, workflow, classroom):
    _, draft_id = await _fresh_draft(runtime, workflow, classroom)
    async with runtime.db.transaction() as session:
        seen = content_hash((await session.get(Draft, draft_id)).content)
    with pytest.raises(Conflict, match="changed since you opened it"):
        await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="approve",
                                  seen_hash="0" * 64)
    taken = await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="approve",
                                      seen_hash=seen)
    assert taken.release.content == taken.draft.content


async def test_approving_a_superseded_draft_is_refused_and_releases_nothing(runtime, workflow, classroom):
    submission_id, draft_id = await _fresh_draft(runtime, workflow, classroom)
    await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="regenerate",
                              instructions="in Spanish")
    with pytest.raises(Conflict, match="sent back for regeneration"):
        await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="approve")
    with pytest.raises(InvalidInput):
        await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="publish")
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    waiting = await workflow.pending_review(submission_id)
    assert waiting.draft_id != str(draft_id) and waiting.content.language == "es"
    async with runtime.db.transaction() as session:
        assert (await session.scalar(select(func.count()).select_from(Release).join(Draft).where(
            Draft.submission_id == submission_id))) == 0


# A worker that dies (SIGKILL-like: no clean-up, no checkpoint) right after save_draft committed
# the draft row, having drafted text that a re-run will not reproduce.
CRASH_AFTER_SAVE = """
import asyncio, os, sys
import beacon.feedback.graph as graph
from beacon.feedback.drafters import OfflineModel
from beacon.runtime import open_runtime, open_feedback

real_write = OfflineModel.write
async def write(self, ctx, assessment, **kw):
    feedback, usage, model = await real_write(self, ctx, assessment, **kw)
    feedback.question = "CRASHED RUN: " + feedback.question
    return feedback, usage, model
OfflineModel.write = write
graph.interrupt = lambda payload: os._exit(9)  # dies at the review stop, before any checkpoint

async def main():
    async with open_runtime() as rt, open_feedback(rt) as wf:
        await wf.run_to_review(sys.argv[1])
asyncio.run(main())
"""


def _crash(submission_id) -> None:
    import tempfile

    # Output to a file, not a pipe: the dead process's pool children may outlive it briefly.
    with tempfile.TemporaryFile() as err:
        done = subprocess.run([sys.executable, "-c", CRASH_AFTER_SAVE, str(submission_id)], env=os.environ,
                              stdout=subprocess.DEVNULL, stderr=err, timeout=120)
        err.seek(0)
        assert done.returncode == 9, err.read().decode(errors="replace")


async def test_after_a_crash_between_draft_and_checkpoint_the_student_gets_what_the_teacher_saw(runtime, classroom):
    async with runtime.db.transaction() as session:
        sub = await submit_for_feedback(session, student_id=classroom.student_id, title="Turbines", body=ESSAY)
    _crash(sub.id)
    async with runtime.db.transaction() as session:
        [seen] = (await session.scalars(select(Draft).where(Draft.submission_id == sub.id))).all()
    assert seen.status == "pending_review" and "CRASHED RUN" in seen.content["feedback"]

    async with open_feedback(runtime) as workflow:  # the job runs again (the drafter now differs)
        again = await workflow.run_to_review(sub.id)
        assert again.draft_id == str(seen.id)
        assert again.content.model_dump() == DraftContent.model_validate(seen.content).model_dump()
        await review.decide_draft(runtime.db, seen.id, teacher_id=classroom.teacher_id, action="approve",
                                  seen_hash=content_hash(seen.content))
    async with runtime.db.transaction() as session:
        [release] = (await session.scalars(select(Release).where(Release.draft_id == seen.id))).all()
        drafts = (await session.scalars(select(Draft).where(Draft.submission_id == sub.id))).all()
    assert release.content == seen.content  # exactly what the review screen showed
    assert len(drafts) == 1


@pytest.mark.parametrize("action", ["reject", "regenerate"])
async def test_a_draft_whose_thread_never_reached_review_is_decided_and_the_thread_follows(runtime, classroom, action):
    """The zombie: the draft row is pending but the thread's checkpoint was lost. The teacher's
    decision does not depend on the thread; the job that follows brings the thread in line."""
    async with runtime.db.transaction() as session:
        sub = await submit_for_feedback(session, student_id=classroom.student_id, title="Turbines", body=ESSAY)
    _crash(sub.id)
    async with runtime.db.transaction() as session:
        [draft] = (await session.scalars(select(Draft).where(Draft.submission_id == sub.id))).all()
    fields = {"reason": "let's talk about the sources first"} if action == "reject" else {"instructions": "shorter"}
    async with open_feedback(runtime) as workflow:
        assert await workflow.pending_review(sub.id) is None  # the thread is not waiting on it
        taken = await review.decide_draft(runtime.db, draft.id, teacher_id=classroom.teacher_id, action=action,
                                          **fields)
        assert taken.draft.status == {"reject": "rejected", "regenerate": "superseded"}[action]
        await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
        waiting = await workflow.pending_review(sub.id)
    async with runtime.db.transaction() as session:
        drafts = (await session.scalars(select(Draft).where(Draft.submission_id == sub.id)
                                        .order_by(Draft.created_at))).all()
        work = await session.get(Submission, sub.id)
    if action == "reject":  # finished work is not drafted again
        assert waiting is None and [d.id for d in drafts] == [draft.id] and work.status == "returned"
    else:  # the regeneration is drafted from the decision, and waits for the teacher
        assert [d.status for d in drafts] == ["superseded", "pending_review"] and work.status == "pending_review"
        assert waiting.draft_id == str(drafts[1].id) and drafts[1].regenerated_from_id == draft.id


async def test_a_connection_lost_under_a_decision_is_retried_once_and_never_decides_twice(runtime, workflow, classroom,
                                                                                          monkeypatch):
    import sqlalchemy.exc

    from beacon.approval import decisions

    _, draft_id = await _fresh_draft(runtime, workflow, classroom)
    real, calls = decisions.record, {"n": 0}

    async def dropped_after_commit_point(session, draft, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise sqlalchemy.exc.OperationalError("UPDATE drafts", {}, Exception("server closed the connection"))
        return await real(session, draft, **kw)

    monkeypatch.setattr(decisions, "record", dropped_after_commit_point)
    taken = await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="approve")
    assert calls["n"] == 2 and taken.release is not None
    status, decided, releases, _, _ = await _state(runtime, draft_id, taken.draft.submission_id)
    assert (status, len(decided), len(releases)) == ("approved", 1, 1)


async def test_a_decision_whose_answer_was_lost_after_commit_is_not_a_conflict_on_retry(runtime, workflow, classroom,
                                                                                        monkeypatch):
    import sqlalchemy.exc

    _, draft_id = await _fresh_draft(runtime, workflow, classroom)
    real, calls = review._take, {"n": 0}

    async def committed_then_lost(db, draft_id, **kw):
        calls["n"] += 1
        taken = await real(db, draft_id, **kw)
        if calls["n"] == 1:
            raise sqlalchemy.exc.InterfaceError("COMMIT", {}, Exception("connection lost after commit"))
        return taken

    monkeypatch.setattr(review, "_take", committed_then_lost)
    taken = await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="reject",
                                      reason="talk first")
    assert calls["n"] == 2 and taken.decision.action == "reject" and taken.draft.status == "rejected"
    with pytest.raises(Conflict):  # another teacher's (or another action's) late try is still a conflict
        await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="approve")


async def test_the_teacher_picks_another_rubric_and_the_work_is_drafted_again_against_it(runtime, workflow, classroom):
    """Retrieval was wrong (or unsure): a regeneration that names a competency retrieves that
    rubric and drafts against it; the choice is recorded on the decision."""
    sub_id, draft_id = await _fresh_draft(runtime, workflow, classroom)
    async with runtime.db.transaction() as session:
        first = await session.get(Draft, draft_id)
    assert first.retrieval and "confidence" in first.retrieval[0]  # the screen can say how sure it was
    with pytest.raises(InvalidInput, match="no competency"):
        await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="regenerate",
                                  rubric_id="underwater-basket-weaving")
    with pytest.raises(InvalidInput, match="regenerate"):
        await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="approve",
                                  rubric_id="collaboration")
    other = "collaboration" if first.retrieval[0]["id"] != "collaboration" else "argument-writing"
    await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="regenerate",
                              rubric_id=other)  # no instructions needed: the choice says it
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    waiting = await workflow.pending_review(sub_id)
    async with runtime.db.transaction() as session:
        decision = await session.scalar(select(Decision).where(Decision.draft_id == draft_id))
        second = await session.get(Draft, uuid.UUID(waiting.draft_id))
        version = await session.get(RubricVersion, second.rubric_version_id)
    assert decision.rubric_id == other and decision.instructions
    assert version.competency_id == other and second.regenerated_from_id == draft_id
    assert second.retrieval == [{"id": other, "forced": True}]
