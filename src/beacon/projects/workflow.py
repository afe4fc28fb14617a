"""The project workflow's threads ("projects:<request id>")."""

from __future__ import annotations

import uuid

from beacon.approval.workflow import ReviewThreads
from beacon.projects import repository
from beacon.projects.designer import designer_for
from beacon.projects.graph import ProjectDeps, build_graph, thread_id
from beacon.projects.schemas import ProjectReviewPayload
from beacon.projects.tasks import DESIGN_TASK


class ProjectWorkflow(ReviewThreads[ProjectReviewPayload]):
    job_task = DESIGN_TASK
    busy_statuses = ("queued", "designing")

    def __init__(self, deps: ProjectDeps, checkpointer) -> None:
        self.deps = deps
        super().__init__(build_graph(checkpointer), thread_id, ProjectReviewPayload, checkpointer, context=deps)

    async def run_to_review(self, request_id: str | uuid.UUID) -> ProjectReviewPayload | None:
        return await self._run_to_review(request_id, {"request_id": str(request_id)})

    async def work_item(self, session, request_id):
        return await repository.get_request(session, uuid.UUID(str(request_id)))



def project_workflow(runtime, checkpointer) -> ProjectWorkflow:
    """The project workflow on a runtime, sharing the feedback workflow's checkpointer."""
    return ProjectWorkflow(ProjectDeps(runtime.settings, runtime.db, runtime.embedder, designer_for(runtime.settings)),
                           checkpointer)
