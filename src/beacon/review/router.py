"""Teachers review drafts; students read releases, and nothing else Beacon generated."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from beacon.errors import InvalidInput, NotFound
from beacon.feedback.schemas import DraftContent
from beacon.projects.schemas import ProjectContent
from beacon.review import repository, service
from beacon.school.models import User
from beacon.web.auth import require, session

router = APIRouter(prefix="/api/v1", tags=["review"])
teacher = require("teacher")
student = require("student")


def _draft_view(draft) -> dict:
    return {"id": str(draft.id), "kind": draft.kind, "student_id": str(draft.student_id),
            "submission_id": str(draft.submission_id) if draft.submission_id else None,
            "project_request_id": str(draft.project_request_id) if draft.project_request_id else None,
            "status": draft.status, "content": draft.content,
            "flags": draft.flags, "provenance": {
                "model": draft.model, "offline": draft.model == "offline", "prompt_hash": draft.prompt_hash,
                "rubric_version_id": draft.rubric_version_id, "retrieval": draft.retrieval,
                "prompt_tokens": draft.prompt_tokens, "completion_tokens": draft.completion_tokens,
                "cost_usd": float(draft.cost_usd), "latency_ms": draft.latency_ms},
            "created_at": draft.created_at.isoformat()}


@router.get("/review/queue")
async def queue(
    class_id: uuid.UUID | None = None,
    assignment_id: uuid.UUID | None = None,
    competency_id: str | None = None,
    flag: str | None = None,
    user: User = Depends(teacher),
    db=Depends(session),
) -> list[dict]:
    """Drafts waiting for this teacher, oldest first; filters narrow by class, assignment,
    competency or flag name."""
    items = await repository.queue_for_teacher(db, user.id, class_id=class_id, assignment_id=assignment_id,
                                               competency_id=competency_id, flag=flag)
    return [{**_draft_view(item.draft), "student_name": item.student_name, "title": item.title,
             "bulk_approvable": not service.needs_own_review(item.draft)} for item in items]


class BulkApproval(BaseModel):
    draft_ids: list[uuid.UUID] = Field(min_length=1, max_length=200)


@router.post("/review/bulk-approve")
async def bulk_approve(body: BulkApproval, request: Request, user: User = Depends(teacher)) -> dict:
    """Approve drafts as drafted, one audited decision each. Flagged drafts, drafts no longer
    waiting and drafts outside this teacher's classes are left, with the reason."""
    state = request.app.state
    outcome = await service.bulk_approve(state.runtime.db, state.workflow, user.id, body.draft_ids)
    return {"approved": [str(i) for i, reason in outcome.items() if reason is None],
            "left": {str(i): reason for i, reason in outcome.items() if reason is not None}}


@router.get("/drafts/{draft_id}")
async def draft(draft_id: uuid.UUID, user: User = Depends(teacher), db=Depends(session)) -> dict:
    try:
        return _draft_view(await service.draft_for_teacher(db, draft_id, user.id))
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None


class DecisionIn(BaseModel):
    """A teacher's decision as sent; who decides is the signed-in teacher, never the body. For
    project ideas, ``proposals`` picks which to approve (0-based; none: all of them)."""

    action: Literal["approve", "reject", "regenerate"]
    edited_content: DraftContent | ProjectContent | None = None
    reason: str | None = None
    instructions: str | None = None
    proposals: list[int] | None = None


@router.post("/drafts/{draft_id}/decision")
async def decide(draft_id: uuid.UUID, decision: DecisionIn, request: Request, user: User = Depends(teacher)) -> dict:
    state = request.app.state
    try:
        following = await service.decide_draft(state.runtime.db, state.workflow, draft_id, teacher_id=user.id,
                                               **decision.model_dump(exclude={"edited_content"}),
                                               edited_content=decision.edited_content)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except (InvalidInput, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"decision": decision.action, "next_draft_id": following.draft_id if following else None}


def _release_view(release) -> dict:
    return {"id": str(release.id), "released_at": release.released_at.isoformat(), "content": release.content}


@router.get("/releases")
async def my_releases(user: User = Depends(student), db=Depends(session)) -> list[dict]:
    return [_release_view(r) for r in await repository.releases_of_student(db, user.id)]


@router.get("/releases/{release_id}")
async def my_release(release_id: uuid.UUID, user: User = Depends(student), db=Depends(session)) -> dict:
    found = await repository.release_for_student(db, release_id, user.id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return _release_view(found)
