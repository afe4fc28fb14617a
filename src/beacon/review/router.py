"""Teachers review drafts; students read releases, and nothing else Beacon generated."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from beacon.approval import repository as drafts
from beacon.approval.decisions import content_hash
from beacon.errors import Conflict, InvalidInput, NotFound
from beacon.feedback.schemas import DraftContent
from beacon.projects.schemas import ProjectContent
from beacon.review import repository, service
from beacon.review.context import cue_json, record_cues
from beacon.school import repository as school
from beacon.school.auth import require, session
from beacon.school.models import User

router = APIRouter(prefix="/api/v1", tags=["review"])
teacher = require("teacher")
student = require("student")


def _draft_view(draft) -> dict:
    return {"id": str(draft.id), "kind": draft.kind, "student_id": str(draft.student_id),
            "submission_id": str(draft.submission_id) if draft.submission_id else None,
            "project_request_id": str(draft.project_request_id) if draft.project_request_id else None,
            "status": draft.status, "content": draft.content,
            # Send it back with the decision: a draft that changed since is not decided blind.
            "content_hash": content_hash(draft.content),
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
    *,
    request: Request,
    user: User = Depends(teacher),
    db=Depends(session),
) -> list[dict]:
    """Drafts waiting for this teacher, oldest first; filters narrow by class, assignment,
    competency or flag name."""
    items = await repository.queue_for_teacher(db, user.id, class_id=class_id, assignment_id=assignment_id,
                                               competency_id=competency_id, flag=flag)
    # The student's record on the draft's competency, as the HTML queue's cue (feedback only;
    # project ideas have no one competency): under "record", as "status" is the draft's.
    cues = await record_cues(db, user, [i.draft for i in items], request.app.state.runtime.settings)
    return [{**_draft_view(item.draft), "student_name": item.student_name, "title": item.title,
             "bulk_approvable": not service.needs_own_review(item.draft),
             "record": cue_json(cues[item.draft.id]) if item.draft.id in cues else None} for item in items]


class BulkApproval(BaseModel):
    draft_ids: list[uuid.UUID] = Field(min_length=1, max_length=200)


@router.post("/review/bulk-approve")
async def bulk_approve(body: BulkApproval, request: Request, user: User = Depends(teacher)) -> dict:
    """Approve drafts as drafted, one audited decision each. Flagged drafts, drafts no longer
    waiting and drafts outside this teacher's classes are left, with the reason."""
    state = request.app.state
    outcome = await service.bulk_approve(state.runtime.db, user.id, body.draft_ids)
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
    reason: str | None = Field(None, max_length=2000)
    instructions: str | None = Field(None, max_length=2000)
    # Regenerate only: draft again against this competency's rubric (the teacher picks it).
    rubric_id: str | None = Field(None, max_length=100)
    proposals: list[int] | None = Field(None, max_length=20)
    # The draft's content_hash as the teacher saw it: refused with 409 if the draft changed since.
    content_hash: str | None = Field(None, max_length=64)


@router.post("/drafts/{draft_id}/decision", responses={409: {"description": "another decision came first"}})
async def decide(draft_id: uuid.UUID, decision: DecisionIn, request: Request, user: User = Depends(teacher)) -> dict:
    """Exactly one decision wins on a draft; every other gets 409 saying what happened. A
    regeneration is queued (``regenerating``); the new draft appears in the queue when drafted."""
    try:
        taken = await service.decide_draft(request.app.state.runtime.db, draft_id, teacher_id=user.id,
                                           **decision.model_dump(exclude={"edited_content", "content_hash"}),
                                           edited_content=decision.edited_content, seen_hash=decision.content_hash)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except (InvalidInput, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"decision": decision.action, "status": taken.draft.status,
            "release_id": str(taken.release.id) if taken.release else None,
            "regenerating": decision.action == "regenerate"}


staff = require("teacher", "admin")


@router.get("/work/failed")
async def failed_work(user: User = Depends(staff), db=Depends(session)) -> list[dict]:
    """Work that could not be drafted after every retry: a teacher's students', or a school's."""
    rows = await repository.failed_work(db, teacher_id=user.id if user.role == "teacher" else None,
                                        school_id=user.school_id)
    return [{"kind": w.kind, "id": str(w.id), "student_name": w.student_name, "title": w.title,
             "created_at": w.created_at.isoformat()} for w in rows]


@router.post("/work/{kind}/{item_id}/retry", status_code=status.HTTP_202_ACCEPTED)
async def try_again(kind: Literal["feedback", "project"], item_id: uuid.UUID, user: User = Depends(staff),
                    db=Depends(session)) -> dict:
    """Queue failed work again (409 if it is not failed: queued, drafting, or done)."""
    try:
        item = await service.try_again(db, user, kind, item_id)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return {"kind": kind, "id": str(item.id), "status": item.status}


RELEASED_PAGE = 50


def released_view(item: repository.ReleasedItem) -> dict:
    """One of a teacher's releases: to whom, on what, when, and what was released (the approved
    content, the teacher's edits included: the release row is what the student reads)."""
    r, content = item.release, item.release.content
    project = item.kind == "project"
    return {"id": str(r.id), "draft_id": str(r.draft_id), "student_id": str(r.student_id),
            "student_name": item.student_name, "title": item.title, "kind": item.kind,
            "released_at": r.released_at.isoformat(),
            "competency_ids": ([t["competency_id"] for t in content.get("targets", [])] if project
                               else [content.get("rubric_id")]),
            "levels": [{k: c.get(k) for k in ("criterion_id", "title", "level", "level_label")}
                       for c in content.get("criteria", [])],
            "feedback": content.get("feedback", ""),
            "proposals": [p.get("title") for p in content.get("proposals", [])]}


def day_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """A date range, both days included, as instants (UTC days)."""
    start = datetime.combine(since, time.min, UTC) if since else None
    end = datetime.combine(until + timedelta(days=1), time.min, UTC) if until else None
    return start, end


@router.get("/review/released")
async def released(class_id: uuid.UUID | None = None, since: date | None = None, until: date | None = None,
                   before: uuid.UUID | None = None, user: User = Depends(teacher), db=Depends(session)) -> dict:
    """What this teacher released, newest first, 50 a page (``before``: the ``next_before`` of the
    page before); ``class_id``, ``since`` and ``until`` (days, included) narrow it."""
    start, end = day_bounds(since, until)
    items, following = await repository.released_by(db, user.id, class_id=class_id, since=start, until=end,
                                                     before=before, limit=RELEASED_PAGE)
    return {"releases": [released_view(i) for i in items], "next_before": str(following) if following else None}


def _release_view(release) -> dict:
    return {"id": str(release.id), "released_at": release.released_at.isoformat(), "content": release.content}


@router.get("/releases")
async def my_releases(user: User = Depends(student), db=Depends(session)) -> list[dict]:
    return [_release_view(r) for r in await drafts.releases_of_student(db, user.id)]


@router.get("/releases/{release_id}")
async def my_release(release_id: uuid.UUID, user: User = Depends(student), db=Depends(session)) -> dict:
    found = await drafts.release_for_student(db, release_id, user.id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return _release_view(found)


# --- Families: a guardian reads their own children's releases, nothing else -------------------

guardian = require("guardian")


@router.get("/guardian/children", tags=["families"])
async def my_children(user: User = Depends(guardian), db=Depends(session)) -> list[dict]:
    return [{"id": str(c.id), "full_name": c.full_name} for c in await school.children_of(db, user.id)]


@router.get("/guardian/children/{student_id}/releases", tags=["families"])
async def child_releases(student_id: uuid.UUID, user: User = Depends(guardian), db=Depends(session)) -> list[dict]:
    """What the child's teachers released to them (feedback, approved project ideas); a child who
    is not theirs: 404, as for anything that does not exist."""
    if not await school.is_guardian_of(db, user.id, student_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return [_release_view(r) for r in await drafts.releases_of_student(db, student_id)]
