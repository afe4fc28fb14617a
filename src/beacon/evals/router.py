"""Coaches read how drafts compare with what teachers approved. Read-only."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from beacon.evals import repository, service
from beacon.school.models import User
from beacon.web.auth import require, session

router = APIRouter(prefix="/api/v1", tags=["coach"])
coach = require("coach", "admin")


@router.get("/coach/real-use")
async def real_use(user: User = Depends(coach), db=Depends(session)) -> dict:
    """Agreement between drafted and approved levels, and edit, reject and regeneration counts,
    overall and by competency, teacher and model, for this school."""
    return service.real_use(await repository.decisions_in_school(db, user.school_id)).as_dict()
