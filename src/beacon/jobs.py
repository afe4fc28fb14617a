"""Background work on Procrastinate, in the same Postgres as everything else.

A job is deferred in the same transaction as the row it works on (``defer_in``), with a queueing
lock and an execution lock per workflow thread ("feedback:<id>", "projects:<id>"): never a
submission without its job, never two jobs waiting for one thread, never two running on it.

Faults that pass (a provider outage, a database that restarts or drops connections) raise one of
``TRANSIENT``: the job is retried with backoff and the work stays queued; only when the retry
strategy gives up is it marked ``failed`` (a teacher or admin can try it again). A worker killed
mid-job leaves it ``doing``: every worker retries jobs whose worker stopped sending heartbeats
(``recover_stalled``), so each such job runs again exactly once."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

import procrastinate
import psycopg
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.errors import DatabaseUnavailable
from beacon.llm.client import ModelUnavailable

log = logging.getLogger("beacon.jobs")


class ShutdownInterrupted(Exception):
    """The worker was stopped while this job ran (SIGTERM, past the graceful wait): the job is
    retried, by this worker's successor or another one; its thread keeps its checkpoints."""


MAX_ATTEMPTS = 6  # retries after the first run
# Procrastinate workers beat every 10 s; a worker silent for this long is gone.
STALLED_AFTER_S = 30
TRANSIENT = (
    ModelUnavailable,
    DatabaseUnavailable,
    OSError,  # connection refused or reset, timeouts
    psycopg.OperationalError,  # also the connection pool's timeouts
    psycopg.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    procrastinate.exceptions.ConnectorException,
    ShutdownInterrupted,
)

RETRY = procrastinate.RetryStrategy(max_attempts=MAX_ATTEMPTS, exponential_wait=4, retry_exceptions=set(TRANSIENT))


def will_retry(exc: BaseException, job) -> bool:
    """Whether Procrastinate schedules another attempt after this failure (the same rule it applies)."""
    return RETRY.get_retry_decision(exception=exc, job=job) is not None


def services(context: procrastinate.JobContext):
    """What the composition root gave the worker (``runtime.Services``): the runtime and the
    workflows, built once; a task takes what it needs from it."""
    return context.additional_context["services"]


async def run_to_review(context: procrastinate.JobContext, workflow, key: str, *args) -> None:
    """A workflow job's body: run the thread to its review stop; on a failure, say whether the
    work waits for a retry or failed, and hand the fault to whoever waits on this work here."""
    try:
        try:
            await workflow.run_to_review(key, *args)
        except asyncio.CancelledError:
            if context.abort_reason() != procrastinate.job_context.AbortReason.SHUTDOWN:
                raise
            # Cancelled by a worker stopping: an in-flight model call is dropped (its connection
            # closed) and the job goes back to the queue, not to "aborted".
            raise ShutdownInterrupted(f"worker stopped while drafting {key}") from None
    except Exception as exc:
        services(context).faults[str(key)] = exc
        # The thread keeps its checkpoints either way; "failed" only tells people to look.
        status = "queued" if will_retry(exc, context.job) else "failed"
        try:
            await workflow.mark_waiting(key, status)
        except Exception:  # the database is the fault: the next attempt or the sweep sets it
            log.warning("could not mark %s %s", key, status, exc_info=True)
        raise


_apps: dict[str, procrastinate.App] = {}


def make_app(url: str, blueprints: Sequence[procrastinate.Blueprint]) -> procrastinate.App:
    """One App per database per process, with the domains' blueprints (a blueprint's tasks can
    be bound to one app only). The composition root says which (``runtime.job_app``)."""
    if url not in _apps:
        # Procrastinate's pool checks a connection when it is taken (a database restart costs no job).
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
        for blueprint in blueprints:
            app.add_tasks_from(blueprint, namespace="beacon")
        _apps[url] = app
    return _apps[url]


async def recover_stalled(app: procrastinate.App, after_s: float = STALLED_AFTER_S) -> int:
    """Retry the jobs of workers that stopped sending heartbeats (killed, frozen, cut off).
    Safe from any number of workers at once: a job is retried only while it is still ``doing``.
    Returns how many this call retried."""
    retried = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=after_s):
        try:
            await app.job_manager.retry_job(job)
            retried += 1
            log.warning("retried stalled job %s (%s %s)", job.id, job.task_name, job.queueing_lock)
        except procrastinate.exceptions.UniqueViolation:
            # Another job already waits for this thread: it continues the work; this one is done.
            await app.job_manager.finish_job_by_id_async(job.id, procrastinate.jobs.Status.ABORTED, delete_job=False)
        except procrastinate.exceptions.ConnectorException as exc:
            if "not in \"doing\" status" not in str(exc):
                raise  # else another worker retried it first
    await app.job_manager.prune_stalled_workers(seconds_since_heartbeat=after_s * 4)
    return retried


async def defer_in(session: AsyncSession, task: str, lock: str, *, queue: str, **args) -> bool:
    """Defer a job inside the caller's transaction. False when one is already waiting for the
    same thread (``lock``: its queueing lock and execution lock)."""
    savepoint = await session.begin_nested()
    try:
        await session.execute(
            text(
                "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, :lock, "
                "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1])"
            ),
            {"queue": queue, "task": task, "lock": lock, "args": json.dumps(args)},
        )
    except IntegrityError:
        await savepoint.rollback()
        return False
    await savepoint.commit()
    return True


async def move_waiting_job(session: AsyncSession, lock: str, queue: str) -> int:
    """Move the job waiting for this thread to another queue (``beacon draft`` runs its own work
    on a queue of its own, then gives back what it could not finish). Returns how many moved."""
    moved = await session.execute(
        text("UPDATE procrastinate_jobs SET queue_name = :queue WHERE queueing_lock = :lock AND status = 'todo'"),
        {"queue": queue, "lock": lock})
    return moved.rowcount
