"""The web process: the FastAPI app (JSON API under /api/v1, server-rendered pages) plus an
in-process drafting worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from beacon.config import Settings, get_settings


def create_app(settings: Settings | None = None, *, worker: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from beacon.runtime import open_feedback, open_runtime, projects_of, run_jobs

        async with open_runtime(settings) as rt, open_feedback(rt) as workflow:
            app.state.runtime, app.state.workflow = rt, workflow
            projects_of(rt, workflow)
            task = asyncio.create_task(run_jobs(rt, workflow, wait=True)) if worker else None
            try:
                yield
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app = FastAPI(title="Beacon", version="0.1.0", lifespan=lifespan)
    from pathlib import Path

    from fastapi.staticfiles import StaticFiles

    from beacon.evals.router import router as coaching
    from beacon.feedback.router import router as submissions
    from beacon.projects.router import router as projects
    from beacon.review.router import router as review
    from beacon.school.router import router as accounts
    from beacon.web.pages import router as pages
    from beacon.web.project_pages import router as project_pages
    from beacon.web.staff_pages import router as staff_pages

    for router in (accounts, submissions, projects, review, coaching, pages, project_pages, staff_pages):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).resolve().parent / "static")), name="static")

    @app.get("/healthz")
    async def health() -> dict:
        from sqlalchemy import text

        async with app.state.runtime.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return {"status": "ok", "model": settings.model, "worker": worker}

    return app
