"""Coaches read how drafts compare with what teachers approved (read-only), and run eval suites
(queued as jobs) to compare drafts with human raters across models and prompt versions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from beacon.errors import NotFound
from beacon.evals import repository, service
from beacon.school.auth import require, session
from beacon.school.models import User

router = APIRouter(prefix="/api/v1", tags=["coach"])
coach = require("coach", "admin")


@router.get("/coach/real-use")
async def real_use(user: User = Depends(coach), db=Depends(session)) -> dict:
    """Agreement between drafted and approved levels, and edit, reject and regeneration counts,
    overall and by competency, teacher and model, for this school."""
    return service.real_use(await repository.decisions_in_school(db, user.school_id)).as_dict()


class NewRun(BaseModel):
    suite: str = Field(min_length=1, max_length=200)
    model: str | None = Field(default=None, max_length=200, description="default: the server's model")
    limit: int | None = Field(default=None, ge=1, le=5000)


def _run_view(run) -> dict:
    summary = run.summary or {}
    return {"id": str(run.id), "suite": run.suite, "model": run.model, "limit": run.item_limit, "status": run.status,
            "created_at": run.created_at.isoformat(), "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "qwk": (summary.get("overall") or {}).get("qwk"),
            "passed": all(t["ok"] for t in summary.get("thresholds", [])) if summary else None,
            "error": run.error}


@router.get("/coach/evals")
async def eval_runs(user: User = Depends(coach), db=Depends(session)) -> list[dict]:
    return [_run_view(r) for r in await repository.runs_of_school(db, user.school_id)]


@router.post("/coach/evals", status_code=status.HTTP_202_ACCEPTED)
async def start_eval(body: NewRun, request: Request, user: User = Depends(coach), db=Depends(session)) -> dict:
    """Queue a run of a suite; the worker runs it and keeps its summary and HTML report."""
    settings = request.app.state.runtime.settings
    try:
        run = await service.start_run(db, user, suite=body.suite, model=body.model or settings.model,
                                      limit=body.limit, evals_dir=settings.evals_dir)
    except NotFound as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    await db.refresh(run)
    return _run_view(run)


@router.get("/coach/evals/{run_id}")
async def eval_run(run_id: uuid.UUID, user: User = Depends(coach), db=Depends(session)) -> dict:
    run = await repository.get_run(db, run_id)
    if run is None or run.school_id != user.school_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return {**_run_view(run), "summary": run.summary}
