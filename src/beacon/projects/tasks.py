"""The projects domain's background work: designing project ideas for a request (and moving its
thread on after a teacher's decision), on the ``projects`` queue."""

from __future__ import annotations

import uuid

import procrastinate

from beacon.jobs import RETRY, run_to_review, services

QUEUE = "projects"
DESIGN_TASK = "beacon:design_projects"

blueprint = procrastinate.Blueprint()


def projects_lock(request_id: str | uuid.UUID) -> str:
    return f"projects:{request_id}"


@blueprint.task(name="design_projects", queue=QUEUE, pass_context=True, retry=RETRY)
async def design_projects(context: procrastinate.JobContext, request_id: str) -> None:
    await run_to_review(context, services(context).workflows.projects, request_id)
