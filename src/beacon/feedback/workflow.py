"""The feedback workflow's threads ("feedback:<submission id>"): run to the teacher's review
stop, resume with a decision (see ``approval/workflow.py``)."""

from __future__ import annotations

import uuid

from beacon.approval.workflow import ReviewThreads
from beacon.feedback import repository as submissions
from beacon.feedback.graph import FeedbackDeps, build_graph, thread_id
from beacon.feedback.schemas import ReviewPayload
from beacon.feedback.tasks import DRAFT_TASK


class FeedbackWorkflow(ReviewThreads[ReviewPayload]):
    job_task = DRAFT_TASK
    busy_statuses = ("queued", "drafting")

    def __init__(self, deps: FeedbackDeps, checkpointer) -> None:
        self.deps = deps
        super().__init__(build_graph(checkpointer), thread_id, ReviewPayload, checkpointer, context=deps)

    async def run_to_review(self, submission_id: str | uuid.UUID, rubric_id: str | None = None) -> ReviewPayload | None:
        return await self._run_to_review(submission_id, {"submission_id": str(submission_id), "rubric_id": rubric_id})

    async def work_item(self, session, submission_id):
        return await submissions.get(session, uuid.UUID(str(submission_id)))
