"""Storing student work. Drafting it is the feedback workflow's job (graph.py)."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.errors import InvalidInput, NotFound
from beacon.feedback import repository
from beacon.feedback.competencies import competencies_to_draft
from beacon.feedback.models import Submission
from beacon.feedback.tasks import DRAFT_TASK, QUEUE, feedback_lock
from beacon.jobs import defer_in
from beacon.school.repository import assignment_for_student, classes_of_student


async def submit(
    session: AsyncSession,
    *,
    student_id: uuid.UUID,
    title: str,
    body: str,
    assignment_id: uuid.UUID | None = None,
    revision_of_id: uuid.UUID | None = None,
    source_filename: str | None = None,
) -> Submission:
    if not body.strip():
        raise InvalidInput("the work is empty: there is nothing to submit")

    assignment = None
    if assignment_id is not None:
        assignment = await assignment_for_student(session, assignment_id, student_id)
        if assignment is None:
            raise NotFound(f"no assignment {assignment_id} for this student")
    if revision_of_id is not None:
        earlier = await repository.get(session, revision_of_id)
        # Another student's work is "not found", never "forbidden": ids reveal nothing.
        if earlier is None or earlier.student_id != student_id:
            raise NotFound(f"no earlier submission {revision_of_id} to revise")
        if assignment_id is None and earlier.assignment_id is not None:
            assignment_id = earlier.assignment_id
            assignment = await assignment_for_student(session, assignment_id, student_id)
    # Whose work it is: the assignment's class, else the classes the student is in now.
    class_ids = [assignment.class_id] if assignment is not None else await classes_of_student(session, student_id)
    return await repository.add(
        session,
        Submission(
            student_id=student_id,
            title=title.strip()[:300] or "Untitled work",
            body=body,
            body_sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
            assignment_id=assignment_id,
            revision_of_id=revision_of_id,
            source_filename=source_filename,
            class_ids=class_ids,
        ),
    )


async def submit_once(session: AsyncSession, *, student_id: uuid.UUID, title: str, body: str, **kw) -> Submission:
    """Submit for feedback unless this student already submitted exactly this text (re-running
    the demo): the same work is not drafted twice."""
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    existing = await repository.same_work(session, student_id, digest)
    return existing or await submit_for_feedback(session, student_id=student_id, title=title, body=body, **kw)


async def submit_for_feedback(session: AsyncSession, *, rubric_id: str | None = None, **submission) -> Submission:
    """Store the work and queue its drafting job in the same transaction: both or neither. Work
    for an assignment with several competencies gets a job per competency, each drafting
    against that competency's rubric (``rubric_id`` cannot pick one for it)."""
    stored = await submit(session, **submission)
    competencies = await competencies_to_draft(session, stored)
    if competencies and rubric_id is not None:
        raise InvalidInput("this work is drafted against each of its assignment's competencies: no rubric to choose")
    for competency_id in competencies:
        await defer_in(session, DRAFT_TASK, feedback_lock(stored.id, competency_id), queue=QUEUE,
                       submission_id=str(stored.id), competency_id=competency_id)
    if not competencies:
        await defer_in(session, DRAFT_TASK, feedback_lock(stored.id), queue=QUEUE, submission_id=str(stored.id),
                       rubric_id=rubric_id)
    return stored
