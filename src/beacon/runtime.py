"""What every entry point (CLI command, web app, worker) opens first: settings, the database
migrated to head, the rubric library loaded, the embedding model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from beacon.config import Settings, get_settings
from beacon.db.engine import Database, open_database, resolve_urls
from beacon.llm.embeddings import Embedder, embedder_for


@dataclass
class Runtime:
    settings: Settings
    db: Database
    embedder: Embedder
    library: object | None = None  # what loading the rubric library at start did (rubrics.service.SyncReport)


async def load_rubrics(runtime: Runtime):
    from beacon.rubrics.library import read_library
    from beacon.rubrics.service import sync_library

    library = read_library(runtime.settings.rubrics_dir)
    async with runtime.db.transaction() as session:
        return await sync_library(session, library, runtime.embedder)


@asynccontextmanager
async def open_runtime(
    settings: Settings | None = None, *, migrate: bool = True, rubrics: bool = True
) -> AsyncIterator[Runtime]:
    """Settings, the database as the app role, the embedding model. With ``migrate`` (and
    ``rubrics``), first, as the owner role: the schema to head, LangGraph's tables, the rubric
    library, and the app role's privileges on all of it (``db/roles.py``)."""
    settings = settings or get_settings()
    app_url, owner_url = resolve_urls(settings)
    db = None
    try:
        db = await open_database(app_url)
        embedder = embedder_for(settings.embed_model, settings.embed_api_base)
        library = None
        if migrate or rubrics:
            library = await _set_up(settings, db, owner_url, embedder, migrate=migrate, rubrics=rubrics)
        yield Runtime(settings, db, embedder, library)
    finally:
        from beacon import offload

        offload.shutdown()
        if db is not None:
            await db.dispose()
        if not settings.database_url:
            from beacon.db.embedded import stop_embedded

            stop_embedded()


async def _set_up(settings: Settings, db: Database, owner_url: str, embedder: Embedder, *, migrate: bool,
                  rubrics: bool):
    import logging

    from sqlalchemy import text

    from beacon.db.roles import app_is_privileged, grant_app

    owner = await open_database(owner_url) if owner_url != db.url else db
    library = None
    try:
        if migrate:
            from beacon.approval.workflow import prepare_checkpointer
            from beacon.db.migrate import upgrade

            await upgrade(owner)
            await prepare_checkpointer(owner_url)
        if rubrics:  # as the owner: a new embedding model needs its own vector index
            library = await load_rubrics(Runtime(settings, owner, embedder))
        async with db.engine.connect() as conn:
            app_role = await conn.scalar(text("SELECT current_user"))
            privileged = await app_is_privileged(conn)
        if owner is not db:
            async with owner.engine.begin() as conn:
                await grant_app(conn, app_role)
    finally:
        if owner is not db:
            await owner.dispose()
    if privileged:
        logging.getLogger("beacon").warning(
            "Beacon connects as %s, which owns its tables or is a superuser: set BEACON_DATABASE_OWNER_URL "
            "for migrations and give BEACON_DATABASE_URL a role that owns nothing (README: Database roles)", app_role)
    return library


@asynccontextmanager
async def open_feedback(runtime: Runtime, checkpointer=None) -> AsyncIterator[object]:
    """The feedback workflow on this runtime, with the Postgres checkpointer unless given one."""
    from beacon.approval.workflow import postgres_checkpointer
    from beacon.feedback.drafters import drafter_for
    from beacon.feedback.graph import FeedbackDeps
    from beacon.feedback.workflow import FeedbackWorkflow

    deps = FeedbackDeps(runtime.settings, runtime.db, runtime.embedder, drafter_for(runtime.settings))
    if checkpointer is not None:
        yield FeedbackWorkflow(deps, checkpointer)
        return
    async with postgres_checkpointer(runtime.db.url) as saver:
        yield FeedbackWorkflow(deps, saver)


@dataclass(frozen=True)
class Workflows:
    """The two workflows that stop for a teacher, built once, as values, on one checkpointer."""

    feedback: object  # feedback.workflow.FeedbackWorkflow
    projects: object  # projects.workflow.ProjectWorkflow


def workflows_for(runtime: Runtime, feedback) -> Workflows:
    """A feedback workflow and the project workflow beside it (its checkpointer, this runtime)."""
    from beacon.projects.workflow import project_workflow

    return Workflows(feedback, project_workflow(runtime, feedback.checkpointer))


@asynccontextmanager
async def open_workflows(runtime: Runtime, checkpointer=None) -> AsyncIterator[Workflows]:
    """Both workflows on this runtime, with the Postgres checkpointer unless given one."""
    async with open_feedback(runtime, checkpointer) as feedback:
        yield workflows_for(runtime, feedback)


@dataclass
class Services:
    """What a worker's jobs are given (``jobs.services``): the runtime and the workflows, built
    once by the entry point; ``faults`` collects what failed job attempts raised."""

    runtime: Runtime
    workflows: Workflows
    faults: dict[str, BaseException]


@dataclass
class WorkerHealth:
    """What a worker is doing, for ``/healthz``: ``running`` only while it is really polling."""

    state: str = "starting"
    error: str | None = None
    restarts: int = 0

    @property
    def running(self) -> bool:
        return self.state == "running"


# Every domain's background work, and the queues a worker listens on (each named for what it runs).
QUEUES = ("feedback", "projects", "evals", "maintenance", "notifications")


def job_app(url: str):
    """The Procrastinate app for this database, with every domain's blueprint."""
    from beacon.evals.tasks import blueprint as evals
    from beacon.feedback.tasks import blueprint as feedback
    from beacon.jobs import make_app
    from beacon.mastery.tasks import blueprint as mastery
    from beacon.notifications.tasks import blueprint as notifications
    from beacon.projects.tasks import blueprint as projects
    from beacon.review.tasks import blueprint as review

    return make_app(url, [feedback, projects, evals, review, mastery, notifications])


# Stalled jobs are looked for this often; a reconnecting worker waits at most this long.
SWEEP_EVERY_S = 15.0
MAX_BACKOFF_S = 30.0


async def _sweep(runtime: Runtime, app) -> None:
    """What every worker does besides jobs: retry jobs of dead workers, fail work left with none."""
    import asyncio
    import logging

    from beacon.jobs import recover_stalled
    from beacon.review.maintenance import fail_stranded

    while True:
        try:
            await recover_stalled(app)
            await fail_stranded(runtime.db)
        except Exception:  # the database may be away: next round
            logging.getLogger("beacon.jobs").warning("sweep failed", exc_info=True)
        await asyncio.sleep(SWEEP_EVERY_S)


class WorkerStopped(Exception):
    """Procrastinate stopped the worker by itself (a side task, such as its heartbeat or its
    LISTEN connection, failed on a database error): not a stop anyone asked for."""


async def run_jobs(runtime: Runtime, workflows: Workflows, *, wait: bool, own_signals: bool = False,
                   health: WorkerHealth | None = None, queue: str | None = None,
                   faults: dict[str, BaseException] | None = None) -> None:
    """Run a Procrastinate worker on Beacon's queues (``wait=False``: until they are empty).
    ``queue``: one other queue instead (``beacon draft``'s own); ``faults``: filled with what each
    failed job attempt raised, by work id.

    With ``wait``, the worker outlives database outages: when its connection fails (or
    Procrastinate stops it after a side task's database error) it is restarted with backoff
    (``health`` says so meanwhile), and a sweep beside it retries jobs of workers that died and
    fails work whose job is gone. It ends only when cancelled or, with ``own_signals`` (a
    standalone worker), on SIGTERM/SIGINT: running jobs get ``worker_shutdown_s`` to finish
    (Procrastinate's graceful stop), then are cancelled and go back to the queue."""
    import asyncio
    import logging
    import signal

    from beacon.llm.client import concurrency

    app = job_app(runtime.db.url)
    found = Services(runtime, workflows, faults if faults is not None else {})
    # Signals are ours, not Procrastinate's: we must tell a stop asked for from one it decided.
    options = dict(queues=[queue] if queue else list(QUEUES), concurrency=concurrency(runtime.settings),
                   shutdown_graceful_timeout=runtime.settings.worker_shutdown_s,
                   install_signal_handlers=False, additional_context={"services": found})
    if not wait:
        async with app.open_async():
            await app.run_worker_async(wait=False, **options)
        return
    health = health or WorkerHealth()
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    current: list[asyncio.Task] = []

    def stop() -> None:
        stopping.set()
        for task in current:
            task.cancel()  # Procrastinate turns this into a graceful stop

    if own_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
    first_backoff = min(1.0, MAX_BACKOFF_S)
    backoff = first_backoff
    try:
        while not stopping.is_set():
            sweep, started = None, loop.time()
            try:
                async with app.open_async():
                    sweep = asyncio.create_task(_sweep(runtime, app))
                    health.state, health.error = "running", None
                    current[:] = [asyncio.create_task(app.run_worker_async(wait=True, **options))]
                    try:
                        await current[0]
                    except asyncio.CancelledError:
                        if stopping.is_set():
                            return
                        raise
                    if stopping.is_set():
                        return
                    raise WorkerStopped("the worker stopped after a database error")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                health.state, health.error, health.restarts = "reconnecting", type(exc).__name__, health.restarts + 1
                if loop.time() - started > 60:
                    backoff = first_backoff  # it had been working: this is a new outage
                logging.getLogger("beacon.jobs").warning("worker stopped (%s); restarting in %.0f s", exc, backoff)
            finally:
                if sweep is not None:
                    sweep.cancel()
            try:
                await asyncio.wait_for(stopping.wait(), backoff)
            except TimeoutError:
                pass
            backoff = min(backoff * 2, MAX_BACKOFF_S)
    finally:
        health.state = "stopped"
        if own_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
