"""The evals domain's background work: an eval run a coach started, on the ``evals`` queue."""

from __future__ import annotations

import uuid

import procrastinate

from beacon.evals.service import EVAL_QUEUE, execute_run
from beacon.jobs import services

blueprint = procrastinate.Blueprint()


@blueprint.task(name="run_eval", queue=EVAL_QUEUE, pass_context=True)
async def run_eval(context: procrastinate.JobContext, run_id: str) -> None:
    await execute_run(services(context).runtime, uuid.UUID(run_id))
