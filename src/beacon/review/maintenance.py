"""Keeping the workflow data honest and small: work whose job is gone is marked failed (so a
teacher sees "try again" instead of "with your teacher" forever), and finished work's workflow
threads and finished jobs are deleted after the retention period."""

from __future__ import annotations

import logging

from sqlalchemy import text

log = logging.getLogger("beacon.maintenance")

# (table, busy statuses, thread prefix) for each kind of work a workflow drafts.
WORK = (
    ("submissions", ("queued", "drafting"), "feedback"),
    ("project_requests", ("queued", "designing"), "projects"),
)


async def fail_stranded(db) -> int:
    """Busy work with no job waiting or running for it (its last attempt ended while the
    database was unreachable, so its status could not be written) becomes ``failed``."""
    total = 0
    async with db.transaction() as session:
        for table, busy, prefix in WORK:
            rows = await session.execute(text(f"""
                UPDATE {table} w SET status = 'failed'
                 WHERE w.status = ANY(:busy)
                   AND w.created_at < now() - interval '1 minute'  -- its job is deferred with it
                   AND NOT EXISTS (
                       SELECT 1 FROM procrastinate_jobs j
                        WHERE (j.queueing_lock = :prefix || ':' || w.id::text OR j.lock = :prefix || ':' || w.id::text)
                          AND j.status IN ('todo', 'doing'))
                RETURNING w.id"""), {"busy": list(busy), "prefix": prefix})
            stranded = rows.scalars().all()
            for item in stranded:
                log.warning("%s %s had no job left: marked failed", table, item)
            total += len(stranded)
    return total


async def prune(db, workflows, *, days: int, app=None, batch: int = 500) -> dict[str, int]:
    """Delete the workflow threads of work finished (released or returned) more than ``days``
    ago, and Procrastinate's finished jobs (with their events) as old. A draft, its decision and
    its release stay forever: they are the record; a thread is only how the draft was made."""
    pruned = {"threads": 0}
    for (table, _, prefix), workflow in zip(WORK, workflows, strict=True):
        async with db.transaction() as session:
            finished = (await session.execute(text(f"""
                SELECT w.id FROM {table} w
                 WHERE w.status IN ('released', 'returned')
                   AND EXISTS (SELECT 1 FROM checkpoints c WHERE c.thread_id = :prefix || ':' || w.id::text)
                   AND NOT EXISTS (
                       SELECT 1 FROM drafts d JOIN decisions x ON x.draft_id = d.id
                        WHERE d.{'submission_id' if table == 'submissions' else 'project_request_id'} = w.id
                          AND x.created_at > now() - make_interval(days => :days))
                 LIMIT :batch"""), {"prefix": prefix, "days": days, "batch": batch})).scalars().all()
        for item in finished:
            await workflow.forget(item)
        pruned["threads"] += len(finished)
    if app is not None:
        await app.job_manager.delete_old_jobs(nb_hours=days * 24, include_failed=True, include_cancelled=True,
                                              include_aborted=True)
    log.info("pruned %s", pruned)
    return pruned
