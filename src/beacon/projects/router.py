"""Students ask for project ideas, see only the ones their teacher approved, and start one.
Teachers decide on project drafts through the same queue and decision route as feedback."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from beacon.errors import InvalidInput, NotFound
from beacon.mastery.portfolio_view import Filters
from beacon.mastery.router import may_read_student
from beacon.projects import repository, service
from beacon.projects.portfolio import portfolio
from beacon.projects.schemas import ProjectAsk
from beacon.school import repository as school
from beacon.school.auth import require, session
from beacon.school.models import User

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])
student = require("student")
# Here, not in mastery/: a portfolio holds started projects, which this domain reads.
portfolio_api = APIRouter(prefix="/api/v1/portfolio", tags=["portfolio"])
portfolio_reader = require("student", "teacher", "admin", "guardian")

# What a student is told about a request, in their words: never a draft's content.
STATUS_FOR_STUDENT = {"queued": "with your teacher", "designing": "with your teacher",
                      "pending_review": "with your teacher", "failed": "with your teacher",
                      "released": "ideas ready", "returned": "returned by your teacher"}


def _request_view(row) -> dict:
    return {"id": str(row.id), "interests": row.interests, "status": STATUS_FOR_STUDENT[row.status],
            "asked_at": row.created_at.isoformat()}


@router.post("/requests", status_code=status.HTTP_202_ACCEPTED)
async def ask(body: ProjectAsk, user: User = Depends(student), db=Depends(session)) -> dict:
    """Ask for three project ideas; they reach you once your teacher approves them."""
    try:
        row = await service.request_projects(db, user.id, body)
    except NotFound as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    await db.refresh(row)
    return _request_view(row)


@router.get("/requests")
async def my_requests(user: User = Depends(student), db=Depends(session)) -> list[dict]:
    return [_request_view(r) for r in await repository.requests_of(db, user.id)]


@router.get("")
async def my_projects(user: User = Depends(student), db=Depends(session)) -> list[dict]:
    """Project ideas your teacher approved (only those)."""
    return [{"id": str(r.id), "released_at": r.released_at.isoformat(), "content": r.content}
            for r in await repository.releases_of_kind(db, user.id, "project")]


class Start(BaseModel):
    proposal: int = Field(ge=0, description="which approved proposal (0-based)")


@router.post("/{release_id}/start", status_code=status.HTTP_201_CREATED)
async def start(release_id: uuid.UUID, body: Start, user: User = Depends(student), db=Depends(session)) -> dict:
    """Start an approved project: it becomes your assignment, linked to its competencies."""
    try:
        assignment = await service.start_project(db, user.id, release_id, body.proposal)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"assignment_id": str(assignment.id), "title": assignment.title}


@portfolio_api.get("/students/{student_id}")
async def student_portfolio(student_id: uuid.UUID, request: Request, user: User = Depends(portfolio_reader),
                            db=Depends(session)) -> dict:
    """A student's portfolio (``?competency=&subject=&kind=&from=&to=``): per competency, the
    released feedback with its quotes, logged demonstrations and started projects, newest first.
    The student, their guardians, their teachers and the school's admins; anyone else: 404."""
    if not await may_read_student(db, user, student_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    try:
        filters = Filters.of(request.query_params)
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    # The rubric's words in the reader's language (a family's may differ from their child's).
    language = await school.preferred_language(db, user) if user.id != student_id else None
    found = await portfolio(db, await school.get_user(db, student_id), request.app.state.runtime.settings, filters,
                            language=language)
    return found.as_json()
