"""The feedback workflow with the offline model, against both checkpointers: it stops for the
teacher, and every teacher decision does exactly what it should and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import func, select

from beacon.approval.models import Decision, Draft, FeedbackExample, Release
from beacon.db.audit import AuditEvent
from beacon.errors import Conflict, InvalidInput, NotFound
from beacon.feedback.models import Submission
from beacon.feedback.schemas import TeacherDecision
from beacon.review import service as review
from beacon.runtime import open_feedback, run_jobs, workflows_for
from tests.classroom import ESSAY


@pytest.fixture(params=["memory", "postgres"])
async def workflow(request, runtime):
    saver = InMemorySaver() if request.param == "memory" else None
    async with open_feedback(runtime, saver) as wf:
        yield wf


async def _rows(runtime, model, *where):
    async with runtime.db.transaction() as session:
        return (await session.scalars(select(model).where(*where))).all()


async def test_runs_to_the_review_stop_with_a_grounded_offline_draft(runtime, workflow, submission_id):
    payload = await workflow.run_to_review(submission_id)
    assert payload is not None and payload.content.rubric_id == "argument-writing"
    rubric_criteria = [c["id"] for c in (await _rubric(runtime, "argument-writing"))["criteria"]]
    assert [c.criterion_id for c in payload.content.criteria] == rubric_criteria
    for criterion in payload.content.criteria:
        for evidence in criterion.evidence:
            assert ESSAY[evidence.start:evidence.end] == evidence.quote
    assert "offline_model" in payload.flags
    assert payload.provenance.model == "offline" and payload.provenance.prompt_hash
    [draft] = await _rows(runtime, Draft, Draft.submission_id == submission_id)
    assert (draft.status, draft.model, draft.rubric_version_id) == ("pending_review", "offline", payload.provenance.rubric_version_id)
    [sub] = await _rows(runtime, Submission, Submission.id == submission_id)
    assert sub.status == "pending_review"
    assert await _rows(runtime, Release, Release.draft_id == draft.id) == []

    # Running it again (a retried job) changes nothing.
    again = await workflow.run_to_review(submission_id)
    assert again.draft_id == payload.draft_id
    assert len(await _rows(runtime, Draft, Draft.submission_id == submission_id)) == 1


async def test_approve_with_edits_releases_exactly_the_edited_text(runtime, workflow, classroom, submission_id):
    payload = await workflow.run_to_review(submission_id)
    edited = payload.content.model_copy(deep=True)
    edited.feedback = "Strong start, Maya. Add a source for your cost claim."
    edited.criteria[0].level = 4
    done = await review.decide(runtime.db, uuid.UUID(payload.draft_id), TeacherDecision(
        action="approve", teacher_id=str(classroom.teacher_id), edited_content=edited))
    assert done.release is not None and done.draft.status == "approved"
    [release] = await _rows(runtime, Release, Release.draft_id == uuid.UUID(payload.draft_id))
    assert release.id == done.release.id
    assert release.content["feedback"] == edited.feedback
    assert release.content["criteria"][0]["level"] == 4
    assert release.student_id == classroom.student_id and release.teacher_id == classroom.teacher_id
    [sub] = await _rows(runtime, Submission, Submission.id == submission_id)
    assert sub.status == "released"
    actions = [e.action for e in await _rows(runtime, AuditEvent, AuditEvent.subject_id == payload.draft_id)]
    assert actions == ["decision.approve", "release.created"]
    # The thread follows the decision in a job: it ends, keeping the teacher's voice.
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    assert await workflow.pending_review(submission_id) is None
    assert await _rows(runtime, FeedbackExample, FeedbackExample.draft_id == uuid.UUID(payload.draft_id))

    with pytest.raises(Conflict, match="already approved by"):  # a second verdict
        await review.decide(runtime.db, uuid.UUID(payload.draft_id), TeacherDecision(
            action="reject", teacher_id=str(classroom.teacher_id), reason="again"))


async def test_reject_records_the_reason_and_releases_nothing(runtime, workflow, classroom, submission_id):
    payload = await workflow.run_to_review(submission_id)
    draft_id = uuid.UUID(payload.draft_id)
    with pytest.raises(InvalidInput, match="needs a reason"):
        await review.decide(runtime.db, draft_id, TeacherDecision(action="reject", teacher_id=str(classroom.teacher_id)))
    await review.decide(runtime.db, draft_id, TeacherDecision(
        action="reject", teacher_id=str(classroom.teacher_id), reason="Levels are too generous"))
    [decision] = await _rows(runtime, Decision, Decision.draft_id == draft_id)
    assert (decision.action, decision.reason) == ("reject", "Levels are too generous")
    assert await _rows(runtime, Release, Release.draft_id == draft_id) == []
    [sub] = await _rows(runtime, Submission, Submission.id == submission_id)
    assert sub.status == "returned"


async def test_regenerate_follows_instructions_then_comes_back_for_review(runtime, workflow, classroom, submission_id):
    first = await workflow.run_to_review(submission_id)
    taken = await review.decide(runtime.db, uuid.UUID(first.draft_id), TeacherDecision(
        action="regenerate", teacher_id=str(classroom.teacher_id), instructions="shorter, and in Spanish"))
    # Queued, never drafted inside the teacher's request: the work waits for its job.
    assert taken.release is None and taken.draft.status == "superseded"
    [sub] = await _rows(runtime, Submission, Submission.id == submission_id)
    assert sub.status == "queued"
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    second = await workflow.pending_review(submission_id)
    assert second is not None and second.draft_id != first.draft_id
    assert second.content.language == "es" and "Próximos pasos" in second.content.feedback
    assert len(second.content.next_steps) < len(first.content.next_steps)
    drafts = {d.id: d.status for d in await _rows(runtime, Draft, Draft.submission_id == submission_id)}
    assert drafts == {uuid.UUID(first.draft_id): "superseded", uuid.UUID(second.draft_id): "pending_review"}
    await review.decide(runtime.db, uuid.UUID(second.draft_id), TeacherDecision(
        action="approve", teacher_id=str(classroom.teacher_id)))
    releases = await _rows(runtime, Release, Release.student_id == classroom.student_id)
    assert [r.draft_id for r in releases] == [uuid.UUID(second.draft_id)]


async def test_only_the_students_teacher_can_decide(runtime, workflow, classroom, submission_id):
    payload = await workflow.run_to_review(submission_id)
    for intruder in (classroom.other_teacher_id, classroom.classmate_id, classroom.student_id, uuid.uuid4()):
        with pytest.raises(NotFound):
            await review.decide(runtime.db, uuid.UUID(payload.draft_id), TeacherDecision(
                action="approve", teacher_id=str(intruder)))
    assert await _rows(runtime, Release, Release.draft_id == uuid.UUID(payload.draft_id)) == []


async def test_resumes_in_a_new_process(runtime, classroom, submission_id):
    """Run to the review stop in another process; decide here, on the same Postgres thread."""
    script = (
        "import asyncio, sys\n"
        "from beacon.runtime import open_runtime, open_feedback\n"
        "async def main():\n"
        "    async with open_runtime() as rt, open_feedback(rt) as wf:\n"
        "        print((await wf.run_to_review(sys.argv[1])).draft_id)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(submission_id)], capture_output=True, text=True,
                          env=os.environ, timeout=120)
    assert done.returncode == 0, done.stderr
    draft_id = done.stdout.strip().splitlines()[-1]
    async with open_feedback(runtime) as workflow:
        waiting = await workflow.pending_review(submission_id)
        assert waiting.draft_id == draft_id
        await review.decide(runtime.db, uuid.UUID(draft_id), TeacherDecision(
            action="approve", teacher_id=str(classroom.teacher_id)))
    [release] = await _rows(runtime, Release, Release.draft_id == uuid.UUID(draft_id))
    assert release.content["feedback"] == waiting.content.feedback
    async with runtime.db.transaction() as session:
        drafts = await session.scalar(select(func.count()).select_from(Draft).where(Draft.submission_id == submission_id))
    assert drafts == 1


async def _rubric(runtime, competency):
    from beacon.rubrics import repository

    async with runtime.db.transaction() as session:
        return (await repository.current_version(session, competency)).definition


async def test_an_unenrolled_students_own_name_is_still_redacted(runtime):
    from beacon.feedback.service import submit
    from beacon.school import service as school
    from beacon.school.schemas import StudentSeed

    tag = uuid.uuid4().hex[:8]
    async with runtime.db.transaction() as session:
        sch = await school.ensure_school(session, f"solo-{tag}", "Solo")
        klass = await school.ensure_class(session, sch, "Temporary")
        student = await school.ensure_student(session, sch, klass, StudentSeed(
            first_name="Zanele", last_name="Dube", email=f"z-{tag}@example.org", grade=9))
        from sqlalchemy import delete

        from beacon.school.models import Enrollment
        await session.execute(delete(Enrollment).where(Enrollment.user_id == student.id))
        sub = await submit(session, student_id=student.id, title="Essay",
                           body="My name is Zanele Dube and I think our school should plant trees because shade matters.")
    async with open_feedback(runtime, InMemorySaver()) as workflow:
        await workflow.run_to_review(sub.id)
        state = (await workflow.graph.aget_state({"configurable": {"thread_id": f"feedback:{sub.id}"}})).values
    assert "Zanele" not in state["redacted"] and "Dube" not in state["redacted"]
    assert "[STUDENT]" in state["redacted"]


async def test_a_decision_cut_short_by_a_fault_leaves_nothing_and_can_be_taken_again(runtime, workflow, classroom,
                                                                                     submission_id, monkeypatch):
    from beacon.approval import decisions

    payload = await workflow.run_to_review(submission_id)
    draft_id = uuid.UUID(payload.draft_id)
    real = decisions.record
    calls = {"n": 0}

    async def flaky(session, draft, **kw):
        taken = await real(session, draft, **kw)
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the database went away mid-decision")
        return taken

    monkeypatch.setattr(decisions, "record", flaky)
    approve = TeacherDecision(action="approve", teacher_id=str(classroom.teacher_id))
    with pytest.raises(ConnectionError):
        await review.decide(runtime.db, draft_id, approve)
    # One transaction: no decision, no release, the draft still waiting, as if never sent.
    assert await _rows(runtime, Release, Release.draft_id == draft_id) == []
    assert await _rows(runtime, Decision, Decision.draft_id == draft_id) == []
    assert len(await _rows(runtime, Draft, Draft.id == draft_id, Draft.status == "pending_review")) == 1
    await review.decide(runtime.db, draft_id, approve)
    assert len(await _rows(runtime, Release, Release.draft_id == draft_id)) == 1
    assert len(await _rows(runtime, Draft, Draft.id == draft_id, Draft.status == "approved")) == 1
