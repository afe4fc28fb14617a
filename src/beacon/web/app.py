"""The web process: the FastAPI app (JSON API under /api/v1, server-rendered pages) plus an
in-process drafting worker."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from beacon import offload
from beacon.config import Settings, get_settings
from beacon.db.engine import sqlalchemy_url
from beacon.evals.router import router as coaching
from beacon.feedback.router import router as submissions
from beacon.mastery.router import goals_router, portfolio_router, ratings_router, reflections_router
from beacon.mastery.router import router as mastery
from beacon.notifications.router import admin_invitations_router, invitations_router
from beacon.notifications.router import router as notifications
from beacon.projects.router import portfolio_api
from beacon.projects.router import router as projects
from beacon.review.router import router as review
from beacon.runtime import WorkerHealth, open_runtime, open_workflows, run_jobs
from beacon.school.router import router as accounts
from beacon.web.guard import RequestGuard, SecurityHeaders
from beacon.web.limits import RateLimits
from beacon.web.guardian_pages import router as guardian_pages
from beacon.web.report_pages import router as report_pages
from beacon.web.mastery_pages import router as mastery_pages
from beacon.web.invitation_pages import router as invitation_pages
from beacon.web.notification_pages import router as notification_pages
from beacon.web.pages import router as pages
from beacon.web.portfolio_pages import router as portfolio_pages
from beacon.web.progress_pages import router as progress_pages
from beacon.web.released_pages import router as released_pages
from beacon.web.project_pages import router as project_pages
from beacon.web.staff_pages import router as staff_pages


def create_app(settings: Settings | None = None, *, worker: bool = True, warm: bool = False) -> FastAPI:
    """``warm``: start the CPU pools at start-up (a server), not on first use (tests, scripts)."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from sqlalchemy.ext.asyncio import create_async_engine


        async with open_runtime(settings) as rt, open_workflows(rt) as workflows:
            app.state.runtime, app.state.workflow = rt, workflows.feedback
            # The probe has a connection of its own: it must not queue behind the users' pool.
            app.state.health_engine = health_engine = create_async_engine(
                sqlalchemy_url(rt.db.url), pool_size=1, max_overflow=1, pool_timeout=2)
            app.state.worker_health = health = WorkerHealth()
            if warm:
                await offload.warm()
            # What start made lives as long as the process: frozen, the collector's full passes
            # skip it (they cost a class grid ~90 ms every fifth read: bench/mastery_grid.py).
            gc.collect()
            gc.freeze()
            task = asyncio.create_task(run_jobs(rt, workflows, wait=True, health=health)) if worker else None
            app.state.worker_task = task
            try:
                yield
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await health_engine.dispose()

    # FastAPI's /docs loads Swagger UI from a CDN: Beacon serves its own page (no CDN, CSP-clean).
    app = FastAPI(title="Beacon", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)

    # Outermost last: compression, headers on every answer, then rate limits, then the body guard.
    app.add_middleware(RequestGuard)
    app.add_middleware(RateLimits, settings=settings)
    app.add_middleware(SecurityHeaders)
    # Outermost: compress what the rest answered (a progress page's HTML is large and repetitive,
    # read on phones). Level 6: most of 9's gain for less CPU; a PDF's streams are compressed already.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6,
                       exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf"))
    for router in (accounts, submissions, projects, review, mastery, ratings_router, coaching, pages, project_pages, mastery_pages, guardian_pages, report_pages,
                   staff_pages):
        app.include_router(router)
    app.include_router(goals_router)
    app.include_router(reflections_router)
    app.include_router(portfolio_router)
    app.include_router(portfolio_api)
    app.include_router(portfolio_pages)
    app.include_router(progress_pages)
    app.include_router(notifications)
    app.include_router(notification_pages)
    app.include_router(invitations_router)
    app.include_router(admin_invitations_router)
    app.include_router(invitation_pages)
    app.include_router(released_pages)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).resolve().parent / "static")), name="static")

    @app.get("/docs", include_in_schema=False)
    async def api_docs():
        """The JSON API, from the OpenAPI document (also at /openapi.json), as a plain page."""
        from html import escape

        from fastapi.responses import HTMLResponse

        rows = []
        for path, operations in app.openapi()["paths"].items():
            for method, op in operations.items():
                summary = op.get("summary", "") + (f" — {op['description'].splitlines()[0]}" if op.get("description") else "")
                rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                            f"<td>{escape(summary)}</td></tr>")
        return HTMLResponse("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Beacon API</title>"
                            "</head><body><h1>Beacon JSON API</h1><p>OpenAPI: <a href='/openapi.json'>/openapi.json"
                            "</a>. Sign in with <code>POST /api/v1/auth/token</code>, then send "
                            "<code>Authorization: Bearer …</code>.</p><table>" + "".join(rows) + "</table></body></html>")

    @app.get("/healthz")
    async def health():
        """The truth about this process: the database answers, and the in-process worker (if
        any) is running, not dead or reconnecting. 503 when either is not."""
        from fastapi.responses import JSONResponse
        from sqlalchemy import text

        body: dict = {"status": "ok", "model": settings.model, "database": True}
        try:
            async with asyncio.timeout(2):
                async with app.state.health_engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error or a timeout: not usable now
            body.update(status="unavailable", database=False, database_error=type(exc).__name__)
        if worker:
            state, task = app.state.worker_health, app.state.worker_task
            alive = state.running and not task.done()
            body.update(worker=alive, worker_state=state.state if not task.done() else "stopped",
                        worker_restarts=state.restarts)
            if not alive:
                body["status"] = "unavailable" if body["status"] != "ok" else "degraded"
        else:
            body["worker"] = False
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    return app
