"""The feedback domain's background work: drafting a submission (and moving its thread on after a
teacher's decision), on the ``feedback`` queue."""

from __future__ import annotations

import uuid

import procrastinate

from beacon.jobs import RETRY, run_to_review, services

QUEUE = "feedback"
DRAFT_TASK = "beacon:draft_feedback"

blueprint = procrastinate.Blueprint()


def feedback_lock(submission_id: str | uuid.UUID) -> str:
    """The queueing and execution lock of a submission's thread: one job waiting, one running."""
    return f"feedback:{submission_id}"


@blueprint.task(name="draft_feedback", queue=QUEUE, pass_context=True, retry=RETRY)
async def draft_feedback(context: procrastinate.JobContext, submission_id: str, rubric_id: str | None = None) -> None:
    await run_to_review(context, services(context).workflows.feedback, submission_id, rubric_id)
