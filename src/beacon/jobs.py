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
import uuid

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


FEEDBACK_QUEUE = "feedback"
DRAFT_TASK = "beacon:draft_feedback"
DESIGN_TASK = "beacon:design_projects"
EVAL_TASK = "beacon:run_eval"
PRUNE_TASK = "beacon:prune_finished"
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

blueprint = procrastinate.Blueprint()


RETRY = procrastinate.RetryStrategy(max_attempts=MAX_ATTEMPTS, exponential_wait=4, retry_exceptions=set(TRANSIENT))


def will_retry(exc: BaseException, job) -> bool:
    """Whether Procrastinate schedules another attempt after this failure (the same rule it applies)."""
    return RETRY.get_retry_decision(exception=exc, job=job) is not None


async def _run_to_review(context: procrastinate.JobContext, workflow, key: str, *args) -> None:
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
        context.additional_context.setdefault("faults", {})[str(key)] = exc  # for whoever waits here
        # The thread keeps its checkpoints either way; "failed" only tells people to look.
        status = "queued" if will_retry(exc, context.job) else "failed"
        try:
            await workflow.mark_waiting(key, status)
        except Exception:  # the database is the fault: the next attempt or the sweep sets it
            log.warning("could not mark %s %s", key, status, exc_info=True)
        raise


@blueprint.task(name="draft_feedback", queue=FEEDBACK_QUEUE, pass_context=True, retry=RETRY)
async def draft_feedback(context: procrastinate.JobContext, submission_id: str, rubric_id: str | None = None) -> None:
    await _run_to_review(context, context.additional_context["feedback_workflow"], submission_id, rubric_id)


# One queue for all drafting work: the same workers, the same concurrency bound.
@blueprint.task(name="design_projects", queue=FEEDBACK_QUEUE, pass_context=True, retry=RETRY)
async def design_projects(context: procrastinate.JobContext, request_id: str) -> None:
    await _run_to_review(context, context.additional_context["projects_workflow"], request_id)


@blueprint.task(name="run_eval", queue=FEEDBACK_QUEUE, pass_context=True)
async def run_eval(context: procrastinate.JobContext, run_id: str) -> None:
    from beacon.evals.service import execute_run

    await execute_run(context.additional_context["runtime"], uuid.UUID(run_id))


@blueprint.periodic(cron="23 3 * * *")  # daily, at a quiet hour
@blueprint.task(name="prune_finished", queue=FEEDBACK_QUEUE, pass_context=True, retry=RETRY)
async def prune_finished(context: procrastinate.JobContext, timestamp: int) -> None:
    from beacon.review.maintenance import prune

    runtime = context.additional_context["runtime"]
    workflow = context.additional_context["feedback_workflow"]
    await prune(runtime.db, [workflow, context.additional_context["projects_workflow"]],
                days=runtime.settings.retention_days, app=context.app)


_apps: dict[str, procrastinate.App] = {}


def make_app(url: str) -> procrastinate.App:
    """One App per database per process: a blueprint's tasks can be bound to one app only."""
    if url not in _apps:
        # Procrastinate's pool checks a connection when it is taken (a database restart costs no job).
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
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


async def defer_in(session: AsyncSession, task: str, lock: str, **args) -> bool:
    """Defer a job inside the caller's transaction. False when one is already waiting for the
    same thread (``lock``: its queueing lock and execution lock)."""
    savepoint = await session.begin_nested()
    try:
        await session.execute(
            text(
                "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, :lock, "
                "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1])"
            ),
            {"queue": FEEDBACK_QUEUE, "task": task, "lock": lock, "args": json.dumps(args)},
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


def feedback_lock(submission_id: str | uuid.UUID) -> str:
    return f"feedback:{submission_id}"


def projects_lock(request_id: str | uuid.UUID) -> str:
    return f"projects:{request_id}"
