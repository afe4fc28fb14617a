"""The feedback workflow's threads ("feedback:<submission id>"): run to the teacher's review
stop, resume with a decision (see ``review/workflow.py``)."""

from __future__ import annotations

import uuid

from beacon.feedback.graph import FeedbackDeps, build_graph, thread_id
from beacon.feedback.schemas import ReviewPayload
from beacon.review.workflow import DURABILITY, ReviewThreads, postgres_checkpointer

__all__ = ["DURABILITY", "FeedbackWorkflow", "postgres_checkpointer"]


class FeedbackWorkflow(ReviewThreads[ReviewPayload]):
    def __init__(self, deps: FeedbackDeps, checkpointer) -> None:
        self.deps = deps
        self.projects = None  # the project workflow beside this one (runtime.projects_of)
        super().__init__(build_graph(deps, checkpointer), thread_id, ReviewPayload, checkpointer)

    async def run_to_review(self, submission_id: str | uuid.UUID, rubric_id: str | None = None) -> ReviewPayload | None:
        return await self._run_to_review(submission_id, {"submission_id": str(submission_id), "rubric_id": rubric_id})

    async def requeue(self, submission_id: str | uuid.UUID) -> None:
        from beacon.feedback import repository as submissions
        from beacon.jobs import DRAFT_TASK, defer_in, feedback_lock

        async with self.deps.db.transaction() as session:
            await defer_in(session, DRAFT_TASK, feedback_lock(submission_id), submission_id=str(submission_id))
            submission = await submissions.get(session, uuid.UUID(str(submission_id)))
            if submission is not None:
                submission.status = "queued"
