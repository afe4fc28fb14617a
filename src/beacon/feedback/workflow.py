"""The feedback workflow's threads ("feedback:<submission id>", or "feedback:<submission
id>:<competency id>" for work drafted per competency): run to the teacher's review stop, resume
with a decision (see ``approval/workflow.py``)."""

from __future__ import annotations

import uuid

from beacon.approval.workflow import ReviewThreads
from beacon.feedback import competencies as per_competency
from beacon.feedback import repository as submissions
from beacon.feedback.graph import FeedbackDeps, build_graph, thread_id
from beacon.feedback.schemas import ReviewPayload
from beacon.feedback.tasks import DRAFT_TASK, split_key


class FeedbackWorkflow(ReviewThreads[ReviewPayload]):
    job_task = DRAFT_TASK
    busy_statuses = ("queued", "drafting")

    def __init__(self, deps: FeedbackDeps, checkpointer) -> None:
        self.deps = deps
        super().__init__(build_graph(checkpointer), thread_id, ReviewPayload, checkpointer, context=deps)

    async def run_to_review(self, key: str | uuid.UUID, rubric_id: str | None = None) -> ReviewPayload | None:
        """``key``: a submission id, or ``work_key(submission id, competency id)`` for one
        competency of work drafted per competency (that thread drafts against its rubric)."""
        submission_id, competency_id = split_key(key)
        return await self._run_to_review(key, {"submission_id": str(submission_id), "competency_id": competency_id,
                                               "rubric_id": rubric_id or competency_id})

    async def work_item(self, session, key):
        return await submissions.get(session, split_key(key)[0])

    async def mark_waiting(self, key: str | uuid.UUID, status: str) -> None:
        submission_id, competency_id = split_key(key)
        if competency_id is None:
            return await super().mark_waiting(key, status)
        async with self.deps.db.transaction() as session:
            work = await per_competency.locked(session, submission_id)
            if work is None:
                return
            if competency_id not in per_competency.undecided(await per_competency.drafts_per_competency(session, work)):
                return  # its draft waits or was decided: the work's status says so already
            if status == "failed":
                work.status = "failed"  # even while a sibling's draft waits: this one needs trying again
            elif work.status in self.busy_statuses:
                work.status = status
