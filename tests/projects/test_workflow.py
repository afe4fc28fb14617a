"""The project workflow end to end on the real database and job queue, with the offline
designer: targets from the student's mastery record (here, feedback a teacher approved), the
teacher's review stop, approving some proposals, starting one as an assignment whose work is
drafted against its rubrics."""

from __future__ import annotations

import uuid

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import select

from beacon.approval.models import Draft, Release
from beacon.db.audit import AuditEvent
from beacon.errors import Conflict, InvalidInput, NotFound
from beacon.feedback.schemas import TeacherDecision
from beacon.feedback.service import submit_for_feedback
from beacon.projects import service as projects
from beacon.projects.models import ProjectRequest
from beacon.projects.schemas import ProjectAsk
from beacon.review import service as review
from beacon.runtime import open_feedback, run_jobs, workflows_for
from beacon.school.models import Assignment, AssignmentCompetency
from tests.classroom import ESSAY

WEAK = {"claim": 3, "evidence": 1, "reasoning": 2, "counterargument": 3, "organization": 3, "conventions": 3}


@pytest.fixture
async def workflows(runtime):
    async with open_feedback(runtime, InMemorySaver()) as feedback:
        yield feedback, workflows_for(runtime, feedback).projects


async def _approved_feedback(runtime, classroom, feedback, levels: dict[str, int]) -> None:
    """Work drafted on argument writing and approved by the teacher at these levels (edited where
    the draft differs): its ratings are on the student's record."""
    async with runtime.db.transaction() as session:
        work = await submit_for_feedback(session, student_id=classroom.student_id, title="Turbines", body=ESSAY)
    await run_jobs(runtime, workflows_for(runtime, feedback), wait=False)
    drafted = await feedback.pending_review(work.id)
    assert drafted.content.rubric_id == "argument-writing"
    edited = drafted.content.model_copy(deep=True)
    for criterion in edited.criteria:
        criterion.level = levels.get(criterion.criterion_id, 3)
    await review.decide(runtime.db, uuid.UUID(drafted.draft_id), TeacherDecision(
        action="approve", teacher_id=str(classroom.teacher_id), edited_content=edited))


async def _ask(runtime, student_id, interests: str, **kw):
    async with runtime.db.transaction() as session:
        return await projects.request_projects(session, student_id, ProjectAsk(interests=interests, **kw))


async def test_from_request_to_approved_ideas_to_a_started_project(runtime, classroom, workflows):
    feedback, workflow = workflows
    await _approved_feedback(runtime, classroom, feedback, WEAK)
    request = await _ask(runtime, classroom.student_id, "skateboarding, filming with Priya Natarajan, physics")
    await run_jobs(runtime, workflows_for(runtime, feedback), wait=False)

    payload = await workflow.pending_review(request.id)
    assert payload is not None and payload.model == "offline" and "offline_model" in payload.flags
    target = payload.content.targets[0]
    assert target.competency_id == "argument-writing" and target.criteria[:2] == ["evidence", "reasoning"]
    assert target.status == "approaching"  # 2.5 on average, every criterion on 1 of 2 pieces
    assert "evidence is at 1 and needs 3, on 1 of 2 pieces" in target.reason
    assert len(payload.content.proposals) == 3
    assert payload.content.interests == ["skateboarding", "filming with Priya Natarajan", "physics"]
    text = payload.content.model_dump_json()
    assert "[CLASSMATE" not in text and "[STUDENT" not in text  # names restored for the teacher
    async with runtime.db.transaction() as session:
        draft = await session.get(Draft, uuid.UUID(payload.draft_id))
        assert (draft.kind, draft.status, draft.project_request_id) == ("project", "pending_review", request.id)
        assert (await session.get(ProjectRequest, request.id)).status == "pending_review"
        assert (await session.scalars(select(Release).where(Release.draft_id == draft.id))).all() == []

    # Nobody but the student's teacher decides; an out-of-range choice is refused.
    with pytest.raises(NotFound):
        await review.decide_draft(runtime.db, draft.id, teacher_id=classroom.other_teacher_id, action="approve")
    with pytest.raises(InvalidInput):
        await review.decide_draft(runtime.db, draft.id, teacher_id=classroom.teacher_id,
                                  action="approve", proposals=[0, 7])
    await review.decide_draft(runtime.db, draft.id, teacher_id=classroom.teacher_id,
                              action="approve", proposals=[0, 2])
    chosen = [payload.content.proposals[0].title, payload.content.proposals[2].title]
    async with runtime.db.transaction() as session:
        [released] = (await session.scalars(select(Release).where(Release.draft_id == draft.id))).all()
        assert [p["title"] for p in released.content["proposals"]] == chosen
        assert (await session.get(ProjectRequest, request.id)).status == "released"
        actions = (await session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_type == "draft", AuditEvent.subject_id == str(draft.id)).order_by(AuditEvent.id))).all()
        assert actions == ["decision.approve", "release.created"]

    # The student starts the second approved idea: an assignment linked to its competencies.
    async with runtime.db.transaction() as session:
        assignment = await projects.start_project(session, classroom.student_id, released.id, 1)
        again = await projects.start_project(session, classroom.student_id, released.id, 1)
        assert again.id == assignment.id and assignment.title == chosen[1]
        competencies = (await session.scalars(select(AssignmentCompetency.competency_id).where(
            AssignmentCompetency.assignment_id == assignment.id))).all()
        assert competencies == ["argument-writing"]
        with pytest.raises(NotFound):  # another student cannot start it
            await projects.start_project(session, classroom.classmate_id, released.id, 0)

    # Work handed in for the project is drafted against its rubric.
    async with runtime.db.transaction() as session:
        work = await submit_for_feedback(session, student_id=classroom.student_id, title="Project pitch",
                                         body=ESSAY.replace("wind turbines", "a skate park"), assignment_id=assignment.id)
        with pytest.raises(NotFound):  # not the classmate's assignment
            await submit_for_feedback(session, student_id=classroom.classmate_id, title="x", body="y",
                                      assignment_id=assignment.id)
    await run_jobs(runtime, workflows_for(runtime, feedback), wait=False)
    drafted = await feedback.pending_review(work.id)
    assert drafted.content.rubric_id == "argument-writing"


async def test_regenerate_then_reject_releases_nothing(runtime, classroom, workflows):
    feedback, workflow = workflows
    request = await _ask(runtime, classroom.student_id, "music, dance, video games", weeks=6)
    await run_jobs(runtime, workflows_for(runtime, feedback), wait=False)
    first = await workflow.pending_review(request.id)
    assert "targets_from_interests" in first.flags  # no feedback and no assignments yet

    with pytest.raises(InvalidInput):
        await review.decide_draft(runtime.db, uuid.UUID(first.draft_id), teacher_id=classroom.teacher_id,
                                  action="regenerate")  # instructions needed
    await review.decide_draft(runtime.db, uuid.UUID(first.draft_id), teacher_id=classroom.teacher_id,
                              action="regenerate", instructions="no video, shorter")
    await run_jobs(runtime, workflows_for(runtime, feedback), wait=False)  # the regeneration is a job, not the request
    second = await workflow.pending_review(request.id)
    assert second.draft_id != first.draft_id
    assert "film" not in {p.product_kind for p in second.content.proposals}
    with pytest.raises(Conflict, match="sent back for regeneration"):  # the old draft is closed
        await review.decide_draft(runtime.db, uuid.UUID(first.draft_id), teacher_id=classroom.teacher_id,
                                  action="approve")
    with pytest.raises(InvalidInput):
        await review.decide_draft(runtime.db, uuid.UUID(second.draft_id), teacher_id=classroom.teacher_id,
                                  action="reject")  # a reason is needed
    await review.decide_draft(runtime.db, uuid.UUID(second.draft_id), teacher_id=classroom.teacher_id,
                              action="reject", reason="Let's brainstorm together first")
    async with runtime.db.transaction() as session:
        statuses = dict((await session.execute(select(Draft.id, Draft.status).where(
            Draft.project_request_id == request.id))).all())
        assert statuses == {uuid.UUID(first.draft_id): "superseded", uuid.UUID(second.draft_id): "rejected"}
        assert (await session.get(ProjectRequest, request.id)).status == "returned"
        assert (await session.scalars(select(Release).join(Draft, Draft.id == Release.draft_id).where(
            Draft.project_request_id == request.id))).all() == []


async def test_teacher_targets_are_used_when_there_is_no_feedback_and_bad_requests_are_refused(runtime, classroom, workflows):
    feedback, workflow = workflows
    async with runtime.db.transaction() as session:
        from beacon.school.models import Enrollment

        class_id = await session.scalar(select(Enrollment.class_id).where(Enrollment.user_id == classroom.student_id))
        unit = Assignment(class_id=class_id, title="Rivers unit")
        session.add(unit)
        await session.flush()
        session.add(AssignmentCompetency(assignment_id=unit.id, competency_id="scientific-investigation"))
    request = await _ask(runtime, classroom.student_id, "fishing, drawing")
    await run_jobs(runtime, workflows_for(runtime, feedback), wait=False)
    payload = await workflow.pending_review(request.id)
    assert [t.competency_id for t in payload.content.targets] == ["scientific-investigation"]
    assert "teacher's assignments" in payload.content.targets[0].reason

    with pytest.raises(NotFound):
        await _ask(runtime, classroom.student_id, "robots", competency_ids=["not-a-competency"])
    with pytest.raises(ValueError):
        ProjectAsk(interests="   ")
    with pytest.raises(ValueError):
        ProjectAsk(interests="x" * 2001)
