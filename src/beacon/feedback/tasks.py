"""The feedback domain's background work: drafting a submission (and moving its thread on after a
teacher's decision), on the ``feedback`` queue."""

from __future__ import annotations

import uuid

import procrastinate

from beacon.jobs import RETRY, run_to_review, services

QUEUE = "feedback"
DRAFT_TASK = "beacon:draft_feedback"

blueprint = procrastinate.Blueprint()


def work_key(submission_id: str | uuid.UUID, competency_id: str | None = None) -> str:
    """Which thread: the submission's, or, for work handed in for several competencies, the one
    drafting it against ``competency_id`` (see ``feedback/competencies.py``)."""
    return f"{submission_id}:{competency_id}" if competency_id else str(submission_id)


def split_key(key: str | uuid.UUID) -> tuple[uuid.UUID, str | None]:
    """(submission id, competency id or None) of a thread's key."""
    submission_id, _, competency_id = str(key).partition(":")
    return uuid.UUID(submission_id), competency_id or None


def feedback_lock(submission_id: str | uuid.UUID, competency_id: str | None = None) -> str:
    """The queueing and execution lock of a thread ("feedback:<submission id>", or
    "feedback:<submission id>:<competency id>"): one job waiting, one running. Also the thread's id."""
    return f"feedback:{work_key(submission_id, competency_id)}"


@blueprint.task(name="draft_feedback", queue=QUEUE, pass_context=True, retry=RETRY)
async def draft_feedback(context: procrastinate.JobContext, submission_id: str, rubric_id: str | None = None,
                         competency_id: str | None = None) -> None:
    await run_to_review(context, services(context).workflows.feedback, work_key(submission_id, competency_id),
                        rubric_id)
