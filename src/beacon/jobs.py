"""Background work on Procrastinate, in the same Postgres as everything else.

A drafting job is deferred in the same transaction as its submission (``defer_in``), with a
queueing lock per submission, so there is never a submission without its job nor two jobs for
one submission. Provider outages raise ``ModelUnavailable``: the job is retried with backoff and
the submission stays queued; only after the last attempt is it marked ``failed`` (and can be
queued again)."""

from __future__ import annotations

import json
import uuid

import procrastinate
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.llm.client import ModelUnavailable

FEEDBACK_QUEUE = "feedback"
DRAFT_TASK = "beacon:draft_feedback"
DESIGN_TASK = "beacon:design_projects"
EVAL_TASK = "beacon:run_eval"
MAX_ATTEMPTS = 6
RETRYABLE = (ModelUnavailable, OSError)

blueprint = procrastinate.Blueprint()


RETRY = procrastinate.RetryStrategy(max_attempts=MAX_ATTEMPTS, exponential_wait=4, retry_exceptions=set(RETRYABLE))


async def _run_to_review(context: procrastinate.JobContext, workflow, key: str, *args) -> None:
    try:
        await workflow.run_to_review(key, *args)
    except Exception as exc:
        # The thread keeps its checkpoints either way; "failed" only tells people to look.
        final = not isinstance(exc, RETRYABLE) or (context.job.attempts or 0) + 1 >= MAX_ATTEMPTS
        await workflow.mark_waiting(key, "failed" if final else "queued")
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


_apps: dict[str, procrastinate.App] = {}


def make_app(url: str) -> procrastinate.App:
    """One App per database per process: a blueprint's tasks can be bound to one app only."""
    if url not in _apps:
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
        app.add_tasks_from(blueprint, namespace="beacon")
        _apps[url] = app
    return _apps[url]


async def defer_in(session: AsyncSession, task: str, queueing_lock: str, **args) -> bool:
    """Defer a job inside the caller's transaction. False when one is already waiting."""
    savepoint = await session.begin_nested()
    try:
        await session.execute(
            text(
                "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, :lock, "
                "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1])"
            ),
            {"queue": FEEDBACK_QUEUE, "task": task, "lock": queueing_lock, "args": json.dumps(args)},
        )
    except IntegrityError:
        await savepoint.rollback()
        return False
    await savepoint.commit()
    return True


def feedback_lock(submission_id: str | uuid.UUID) -> str:
    return f"feedback:{submission_id}"


def projects_lock(request_id: str | uuid.UUID) -> str:
    return f"projects:{request_id}"
