"""The mastery record's background work, on the ``maintenance`` queue: nightly, stale standings
are recalculated, so a day's first class grid or school overview reads them ready."""

from __future__ import annotations

import procrastinate

from beacon.jobs import RETRY, services
from beacon.mastery.service import refresh_standings

QUEUE = "maintenance"

blueprint = procrastinate.Blueprint()


@blueprint.periodic(cron="47 2 * * *")  # daily, before the school day and before the review desk's pruning
@blueprint.task(name="refresh_standings", queue=QUEUE, pass_context=True, retry=RETRY)
async def refresh_stale_standings(context: procrastinate.JobContext, timestamp: int) -> None:
    runtime = services(context).runtime
    await refresh_standings(runtime.db, runtime.settings)
