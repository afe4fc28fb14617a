"""Housekeeping for the review desk, on the ``maintenance`` queue: daily, the threads and jobs of
work finished past the retention period are deleted (drafts, decisions and releases stay)."""

from __future__ import annotations

import procrastinate

from beacon.jobs import RETRY, services
from beacon.review.maintenance import prune

QUEUE = "maintenance"

blueprint = procrastinate.Blueprint()


@blueprint.periodic(cron="23 3 * * *")  # daily, at a quiet hour
@blueprint.task(name="prune_finished", queue=QUEUE, pass_context=True, retry=RETRY)
async def prune_finished(context: procrastinate.JobContext, timestamp: int) -> None:
    found = services(context)
    await prune(found.runtime.db, [found.workflows.feedback, found.workflows.projects], days=found.runtime.settings.retention_days,
                app=context.app)
