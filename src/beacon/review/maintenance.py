"""Keeping the workflow data honest and small: work whose job is gone is marked failed (so a
teacher sees "try again" instead of "with your teacher" forever), and finished work's workflow
threads and finished jobs are deleted after the retention period."""

from __future__ import annotations

import logging

from beacon.review import repository
from beacon.school import repository as school_repository

log = logging.getLogger("beacon.maintenance")


async def fail_stranded(db) -> int:
    """Busy work with no job waiting or running for it (its last attempt ended while the
    database was unreachable, so its status could not be written) becomes ``failed``."""
    async with db.transaction() as session:
        stranded = await repository.fail_stranded(session)
    for item in stranded:
        log.warning("work %s had no job left: marked failed", item)
    return len(stranded)


async def prune(db, workflows, *, days: int, app=None, batch: int = 500) -> dict[str, int]:
    """Delete the workflow threads of work finished (released or returned) more than ``days``
    ago, and Procrastinate's finished jobs (with their events) as old. ``workflows``: the
    feedback and project workflows, in ``repository.WORK_TABLES`` order. A draft, its decision
    and its release stay: they are the record; a thread is only how the draft was made."""
    pruned = {"threads": 0}
    for kind, workflow in enumerate(workflows):
        async with db.transaction() as session:
            finished = await repository.finished_with_threads(session, kind, days, batch)
        for item in finished:
            await workflow.forget(item)
        pruned["threads"] += len(finished)
    async with db.transaction() as session:  # sign-in counts whose window and lock have passed
        pruned["sign_in_counts"] = await school_repository.prune_throttle(session)
    if app is not None:
        await app.job_manager.delete_old_jobs(nb_hours=days * 24, include_failed=True, include_cancelled=True,
                                              include_aborted=True)
    log.info("pruned %s", pruned)
    return pruned
