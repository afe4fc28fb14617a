"""Work handed in for an assignment with several competencies is drafted against each of them:
one thread and one draft per competency, each decided on its own; the work is in review while
any of its drafts waits, and the student reads each competency's feedback once it is released."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from beacon.approval.models import Draft, FeedbackExample, Release
from beacon.feedback import competencies as per_competency
from beacon.feedback.models import Submission
from beacon.feedback.service import submit_for_feedback
from beacon.feedback.tasks import feedback_lock, work_key
from beacon.mastery.models import Rating
from beacon.review import repository as desk
from beacon.review import service as review
from beacon.review.maintenance import fail_stranded
from beacon.runtime import open_feedback, run_jobs, workflows_for
from beacon.school.models import Assignment, AssignmentCompetency, Enrollment, User
from tests.api_client import PASSWORD, sign_in, wait_for_queue
from tests.classroom import ESSAY

ARGUMENT, SCIENCE, HISTORY = "argument-writing", "scientific-investigation", "historical-source-analysis"


@pytest.fixture
async def workflow(runtime):
    async with open_feedback(runtime) as wf:  # Postgres checkpoints: threads by their real ids
        yield wf


async def _assignment(session, student_id: uuid.UUID, competencies: list[str]) -> uuid.UUID:
    class_id = await session.scalar(select(Enrollment.class_id).where(Enrollment.user_id == student_id))
    unit = Assignment(class_id=class_id, title="Wind on the ridge")
    session.add(unit)
    await session.flush()
    session.add_all([AssignmentCompetency(assignment_id=unit.id, competency_id=c) for c in competencies])
    await session.flush()
    return unit.id


async def _hand_in(runtime, classroom, competencies: list[str], body: str = ESSAY) -> uuid.UUID:
    async with runtime.db.transaction() as session:
        unit = await _assignment(session, classroom.student_id, competencies)
        return (await submit_for_feedback(session, student_id=classroom.student_id, title="Turbines", body=body,
                                          assignment_id=unit)).id


async def _drafts(runtime, submission_id) -> dict[uuid.UUID, tuple[str, str]]:
    """Each draft of the work: (its rubric, its status)."""
    async with runtime.db.transaction() as session:
        rows = (await session.scalars(select(Draft).where(Draft.submission_id == submission_id))).all()
        return {d.id: (d.content["rubric_id"], d.status) for d in rows}


async def _status(runtime, submission_id) -> str:
    async with runtime.db.transaction() as session:
        return (await session.get(Submission, submission_id)).status


async def _rated(runtime, student_id) -> set[str]:
    async with runtime.db.transaction() as session:
        return set((await session.scalars(select(Rating.competency_id).where(Rating.student_id == student_id))).all())


async def _todo(runtime, lock: str) -> int:
    async with runtime.db.transaction() as session:
        return await session.scalar(text("SELECT count(*) FROM procrastinate_jobs WHERE queueing_lock = :l "
                                         "AND status = 'todo'"), {"l": lock})


async def test_a_draft_per_competency_each_decided_on_its_own(runtime, workflow, classroom):
    sub = await _hand_in(runtime, classroom, [SCIENCE, ARGUMENT])
    assert await _todo(runtime, feedback_lock(sub)) == 0  # no thread for the work as a whole
    assert [await _todo(runtime, feedback_lock(sub, c)) for c in (ARGUMENT, SCIENCE)] == [1, 1]
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)

    waiting = {c: await workflow.pending_review(work_key(sub, c)) for c in (ARGUMENT, SCIENCE)}
    assert {c: p.content.rubric_id for c, p in waiting.items()} == {ARGUMENT: ARGUMENT, SCIENCE: SCIENCE}
    assert waiting[ARGUMENT].provenance.retrieval == [{"id": ARGUMENT, "forced": True}]
    assert sorted(await _drafts(runtime, sub)) == sorted(uuid.UUID(p.draft_id) for p in waiting.values())
    assert await _status(runtime, sub) == "pending_review"
    async with runtime.db.transaction() as session:
        queued = await desk.queue_for_teacher(session, classroom.teacher_id)
        mine = [i.draft.content["rubric_id"] for i in queued if i.draft.submission_id == sub]
        assert sorted(mine) == [ARGUMENT, SCIENCE]
    # A job run again (or a retried one) drafts nothing new.
    again = await workflow.run_to_review(work_key(sub, SCIENCE))
    assert again.draft_id == waiting[SCIENCE].draft_id and len(await _drafts(runtime, sub)) == 2

    # Approving one releases it alone, with its competency's ratings; the work stays in review.
    argument, science = uuid.UUID(waiting[ARGUMENT].draft_id), uuid.UUID(waiting[SCIENCE].draft_id)
    taken = await review.decide_draft(runtime.db, argument, teacher_id=classroom.teacher_id, action="approve")
    assert taken.release.content["rubric_id"] == ARGUMENT
    assert await _drafts(runtime, sub) == {argument: (ARGUMENT, "approved"), science: (SCIENCE, "pending_review")}
    assert await _status(runtime, sub) == "pending_review"
    assert await _rated(runtime, classroom.student_id) == {ARGUMENT}
    async with runtime.db.transaction() as session:
        from beacon.approval.repository import releases_of_student

        assert [r.draft_id for r in await releases_of_student(session, classroom.student_id)] == [argument]
        queued = await desk.queue_for_teacher(session, classroom.teacher_id)
        assert [i.draft.id for i in queued if i.draft.submission_id == sub] == [science]
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)  # only the approved thread ends
    assert await workflow.pending_review(work_key(sub, ARGUMENT)) is None
    assert (await workflow.pending_review(work_key(sub, SCIENCE))).draft_id == str(science)
    async with runtime.db.transaction() as session:
        assert (await session.scalars(select(FeedbackExample.competency_id).where(
            FeedbackExample.draft_id == argument))).all()

    # The last decision closes the work: released, since one competency's feedback was.
    await review.decide_draft(runtime.db, science, teacher_id=classroom.teacher_id, action="reject",
                              reason="Not a science investigation")
    assert await _status(runtime, sub) == "released"
    assert await _rated(runtime, classroom.student_id) == {ARGUMENT}
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    assert await workflow.pending_review(work_key(sub, SCIENCE)) is None
    assert len(await _drafts(runtime, sub)) == 2


async def test_rejecting_every_competency_returns_the_work(runtime, workflow, classroom):
    sub = await _hand_in(runtime, classroom, [ARGUMENT, SCIENCE])
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    for n, draft_id in enumerate(await _drafts(runtime, sub)):
        assert await _status(runtime, sub) == "pending_review"
        await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="reject",
                                  reason=f"not yet ({n})")
    assert await _status(runtime, sub) == "returned"
    async with runtime.db.transaction() as session:
        assert (await session.scalars(select(Release).join(Draft).where(Draft.submission_id == sub))).all() == []


async def test_regenerating_one_competency_drafts_only_that_one_again(runtime, workflow, classroom):
    sub = await _hand_in(runtime, classroom, [ARGUMENT, SCIENCE])
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    first = {c: uuid.UUID((await workflow.pending_review(work_key(sub, c))).draft_id) for c in (ARGUMENT, SCIENCE)}

    await review.decide_draft(runtime.db, first[ARGUMENT], teacher_id=classroom.teacher_id, action="regenerate",
                              instructions="shorter, and in Spanish")
    assert await _status(runtime, sub) == "pending_review"  # the science draft still waits
    async with runtime.db.transaction() as session:  # the review screen says it is being redrafted
        from beacon.web.pages import _outcome

        outcome = await _outcome(session, await session.get(Draft, first[ARGUMENT]))
        assert outcome["regenerating"] and not outcome["failed"]
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    again = await workflow.pending_review(work_key(sub, ARGUMENT))
    assert again.content.language == "es" and again.content.rubric_id == ARGUMENT
    assert (await workflow.pending_review(work_key(sub, SCIENCE))).draft_id == str(first[SCIENCE])
    assert await _drafts(runtime, sub) == {first[ARGUMENT]: (ARGUMENT, "superseded"),
                                           uuid.UUID(again.draft_id): (ARGUMENT, "pending_review"),
                                           first[SCIENCE]: (SCIENCE, "pending_review")}

    # "Redraft with this rubric" on the science draft: its own thread drafts against history.
    await review.decide_draft(runtime.db, first[SCIENCE], teacher_id=classroom.teacher_id, action="regenerate",
                              rubric_id=HISTORY)
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    other = await workflow.pending_review(work_key(sub, SCIENCE))
    assert other.content.rubric_id == HISTORY
    assert (await workflow.pending_review(work_key(sub, ARGUMENT))).draft_id == again.draft_id
    async with runtime.db.transaction() as session:
        redrafted = await session.get(Draft, uuid.UUID(other.draft_id))
        assert await per_competency.competency_of(session, redrafted) == SCIENCE
    # ...and regenerating that draft again stays in the science thread.
    await review.decide_draft(runtime.db, uuid.UUID(other.draft_id), teacher_id=classroom.teacher_id,
                              action="regenerate", instructions="shorter")
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    third = await workflow.pending_review(work_key(sub, SCIENCE))
    assert third.draft_id != other.draft_id and third.content.rubric_id == HISTORY
    assert len(await _drafts(runtime, sub)) == 5

    for draft_id in (again.draft_id, third.draft_id):
        await review.decide_draft(runtime.db, uuid.UUID(draft_id), teacher_id=classroom.teacher_id, action="approve")
    assert await _status(runtime, sub) == "released"
    assert await _rated(runtime, classroom.student_id) == {ARGUMENT, HISTORY}


async def test_a_failed_competency_shows_and_is_tried_again_alone(runtime, workflow, classroom):
    sub = await _hand_in(runtime, classroom, [ARGUMENT, SCIENCE])
    async with runtime.db.transaction() as session:
        # Busy work whose competencies' jobs wait is not stranded, whatever its age.
        await session.execute(text("UPDATE submissions SET created_at = now() - interval '5 minutes' WHERE id = :id"),
                              {"id": sub})
    await fail_stranded(runtime.db)
    assert await _status(runtime, sub) == "queued"
    async with runtime.db.transaction() as session:  # the science job gave up
        await session.execute(text("UPDATE procrastinate_jobs SET status = 'failed' WHERE queueing_lock = :l"),
                              {"l": feedback_lock(sub, SCIENCE)})
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    argument = await workflow.pending_review(work_key(sub, ARGUMENT))
    await workflow.mark_waiting(work_key(sub, SCIENCE), "failed")  # what the job said when it gave up
    # Failed, though the argument draft waits in the queue: someone must try the science again.
    assert await _status(runtime, sub) == "failed"
    async with runtime.db.transaction() as session:
        assert [i.draft.id for i in await desk.queue_for_teacher(session, classroom.teacher_id)
                if i.draft.submission_id == sub] == [uuid.UUID(argument.draft_id)]
        assert sub in [w.id for w in await desk.failed_work(session, teacher_id=classroom.teacher_id)]
    # Deciding the argument draft keeps it failed; trying again queues the science job only.
    await review.decide_draft(runtime.db, uuid.UUID(argument.draft_id), teacher_id=classroom.teacher_id,
                              action="approve")
    assert await _status(runtime, sub) == "failed"
    # (the argument thread's job waiting here follows the approval)
    assert [await _todo(runtime, feedback_lock(sub, c)) for c in (ARGUMENT, SCIENCE)] == [1, 0]
    async with runtime.db.transaction() as session:
        teacher = await session.get(User, classroom.teacher_id)
        await review.try_again(session, teacher, "feedback", sub)
    assert await _status(runtime, sub) == "queued"
    assert [await _todo(runtime, feedback_lock(sub, c)) for c in (ARGUMENT, SCIENCE)] == [1, 1]
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    science = await workflow.pending_review(work_key(sub, SCIENCE))
    assert science.content.rubric_id == SCIENCE and await _status(runtime, sub) == "pending_review"
    await review.decide_draft(runtime.db, uuid.UUID(science.draft_id), teacher_id=classroom.teacher_id,
                              action="approve")
    assert await _status(runtime, sub) == "released"


async def test_work_whose_competencies_have_no_job_left_is_failed_and_tried_again_whole(runtime, workflow, classroom):
    sub = await _hand_in(runtime, classroom, [ARGUMENT, SCIENCE])
    async with runtime.db.transaction() as session:  # both jobs ended while the database was away
        await session.execute(text("UPDATE procrastinate_jobs SET status = 'failed' WHERE queueing_lock = ANY(:l)"),
                              {"l": [feedback_lock(sub, c) for c in (ARGUMENT, SCIENCE)]})
        await session.execute(text("UPDATE submissions SET status = 'drafting', created_at = now() - interval "
                                   "'5 minutes' WHERE id = :id"), {"id": sub})
    assert await fail_stranded(runtime.db) >= 1 and await _status(runtime, sub) == "failed"
    async with runtime.db.transaction() as session:
        await review.try_again(session, await session.get(User, classroom.teacher_id), "feedback", sub)
    assert [await _todo(runtime, feedback_lock(sub, c)) for c in (ARGUMENT, SCIENCE)] == [1, 1]
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    assert {rubric for rubric, _ in (await _drafts(runtime, sub)).values()} == {ARGUMENT, SCIENCE}
    assert await _status(runtime, sub) == "pending_review"


async def test_finished_work_loses_every_competencys_thread_and_keeps_its_record(runtime, workflow, classroom):
    from beacon.review.maintenance import prune

    sub = await _hand_in(runtime, classroom, [ARGUMENT, SCIENCE])
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    for draft_id in await _drafts(runtime, sub):
        await review.decide_draft(runtime.db, draft_id, teacher_id=classroom.teacher_id, action="approve")
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    threads = [{"configurable": {"thread_id": feedback_lock(sub, c)}} for c in (ARGUMENT, SCIENCE)]
    assert all([(await workflow.graph.aget_state(t)).values for t in threads])
    pruned = await prune(runtime.db, [workflow, workflows_for(runtime, workflow).projects], days=0)
    assert pruned["threads"] >= 2
    assert not any([(await workflow.graph.aget_state(t)).values for t in threads])
    assert await workflow.run_to_review(work_key(sub, ARGUMENT)) is None  # nothing is drafted again
    assert {s for _, s in (await _drafts(runtime, sub)).values()} == {"approved"}


async def test_a_revision_is_drafted_against_each_competency_with_its_own_earlier_levels(runtime, workflow, classroom):
    sub = await _hand_in(runtime, classroom, [ARGUMENT, SCIENCE])
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    for c in (ARGUMENT, SCIENCE):
        payload = await workflow.pending_review(work_key(sub, c))
        await review.decide_draft(runtime.db, uuid.UUID(payload.draft_id), teacher_id=classroom.teacher_id,
                                  action="approve")
    async with runtime.db.transaction() as session:
        revision = await submit_for_feedback(session, student_id=classroom.student_id, title="Turbines, again",
                                             body=ESSAY + " Our class measured the wind for a week.",
                                             revision_of_id=sub)
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    for c in (ARGUMENT, SCIENCE):
        payload = await workflow.pending_review(work_key(revision.id, c))
        assert payload.content.rubric_id == c
        state = (await workflow.graph.aget_state({"configurable": {"thread_id": feedback_lock(revision.id, c)}})).values
        criteria = {cr["id"] for cr in (await _rubric(runtime, c))["criteria"]}
        assert state["previous_levels"] and set(state["previous_levels"]) <= criteria


async def test_one_competency_or_none_keeps_one_thread(runtime, workflow, classroom):
    single = await _hand_in(runtime, classroom, [ARGUMENT])
    async with runtime.db.transaction() as session:
        free = (await submit_for_feedback(session, student_id=classroom.student_id, title="Free",
                                          body=ESSAY + " Vote.")).id
    assert [await _todo(runtime, feedback_lock(s)) for s in (single, free)] == [1, 1]
    await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
    for sub in (single, free):
        payload = await workflow.pending_review(sub)
        assert payload.draft_id == str(per_competency.draft_id(sub, None, 0))
        await review.decide_draft(runtime.db, uuid.UUID(payload.draft_id), teacher_id=classroom.teacher_id,
                                  action="approve")
        assert await _status(runtime, sub) == "released"


async def test_the_student_reads_each_competency_once_released(api, people):
    _, client = api
    teacher, alice = await sign_in(client, people["teacher"]), await sign_in(client, people["alice"])
    made = await client.post("/api/v1/assignments", headers=teacher, json={
        "class_id": str(people["class_id"]), "title": "Wind on the ridge", "competency_ids": [ARGUMENT, SCIENCE]})
    assert made.status_code == 201, made.text
    handed = await client.post("/api/v1/submissions", headers=alice,
                               json={"title": "Turbines", "body": ESSAY, "assignment_id": made.json()["id"]})
    assert handed.status_code == 202
    queue = await wait_for_queue(client, teacher, n=2)
    by_rubric = {d["content"]["rubric_id"]: d for d in queue}
    assert set(by_rubric) == {ARGUMENT, SCIENCE}
    assert (await client.get("/api/v1/releases", headers=alice)).json() == []  # drafts are never shown

    done = await client.post(f"/api/v1/drafts/{by_rubric[SCIENCE]['id']}/decision", headers=teacher,
                             json={"action": "approve"})
    assert done.status_code == 200, done.text
    released = (await client.get("/api/v1/releases", headers=alice)).json()
    assert [r["content"]["rubric_id"] for r in released] == [SCIENCE]
    mine = (await client.get("/api/v1/submissions", headers=alice)).json()
    assert [s["status"] for s in mine] == ["with your teacher"]
    waiting = (await client.get("/api/v1/review/queue", headers=teacher)).json()
    assert [d["id"] for d in waiting] == [by_rubric[ARGUMENT]["id"]]

    done = await client.post(f"/api/v1/drafts/{by_rubric[ARGUMENT]['id']}/decision", headers=teacher,
                             json={"action": "approve"})
    assert done.status_code == 200, done.text
    assert {r["content"]["rubric_id"] for r in (await client.get("/api/v1/releases", headers=alice)).json()} == {
        ARGUMENT, SCIENCE}
    assert [s["status"] for s in (await client.get("/api/v1/submissions", headers=alice)).json()] == ["feedback ready"]
    # Revising it, the student reads every competency's feedback beside the text.
    await client.post("/login", data={"email": people["alice"], "password": PASSWORD})
    page = await client.get(f"/student/submissions/{handed.json()['id']}/revise")
    assert page.status_code == 200 and "<h3>Argument writing</h3>" in page.text
    assert "<h3>Scientific investigation</h3>" in page.text


async def _rubric(runtime, competency):
    from beacon.rubrics import repository

    async with runtime.db.transaction() as session:
        return (await repository.current_version(session, competency)).definition


def test_where_work_drafted_per_competency_stands():
    def d(status):
        return Draft(status=status)

    status = per_competency.work_status
    assert status("drafting", {"a": [d("pending_review")], "b": []}) == "pending_review"
    assert status("queued", {"a": [], "b": []}) == "queued"
    assert status("drafting", {"a": [], "b": []}) == "drafting"
    assert status("pending_review", {"a": [d("approved")], "b": [d("superseded")]}) == "queued"
    assert status("failed", {"a": [d("pending_review")], "b": []}) == "failed"
    assert status("failed", {"a": [d("pending_review")], "b": [d("pending_review")]}) == "pending_review"
    assert status("pending_review", {"a": [d("approved")], "b": [d("superseded"), d("rejected")]}) == "released"
    assert status("pending_review", {"a": [d("rejected")], "b": [d("rejected")]}) == "returned"
