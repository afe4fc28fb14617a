"""Project ideas in the web app: the teacher's review screen for a project draft, and the
student's request form, approved ideas and "start this project"."""

from __future__ import annotations

import dataclasses
import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from beacon.approval import repository as drafts
from beacon.approval.decisions import content_hash
from beacon.db import audit
from beacon.errors import InvalidInput, NotFound
from beacon.projects import repository as projects
from beacon.projects import service
from beacon.projects.schemas import ProjectAsk, ProjectContent
from beacon.school import repository as school
from beacon.school.auth import session
from beacon.school.models import User
from beacon.web import flash, i18n
from beacon.web.i18n import N_, _
from beacon.web.rendering import render, student

router = APIRouter(include_in_schema=False)


async def project_review_screen(request: Request, draft, user: User, db, *, outcome: dict | None = None,
                                error: str | None = None) -> HTMLResponse:
    ask = await projects.get_request(db, draft.project_request_id)
    return render(request, "teacher_projects.html", user=user, draft=draft, ask=ask,
                  # A decided draft shows what was released (the chosen, edited ideas), read-only.
                  content=ProjectContent.model_validate((outcome or {}).get("released") or draft.content),
                  student=await school.get_user(db, draft.student_id),
                  trail=await audit.audit_trail(db, "draft", str(draft.id)),
                  content_hash=content_hash(draft.content), outcome=outcome, error=error)


def project_edits(form, content: dict) -> tuple[ProjectContent | None, list[int]]:
    """The ticked proposals (0-based) and any edited titles or driving questions."""
    original = ProjectContent.model_validate(content)
    chosen = sorted({int(v) for v in form.getlist("proposal") if str(v).isdigit()})
    if not chosen:
        raise InvalidInput("tick at least one proposal to approve, or reject them all")
    edited = original.model_copy(deep=True)
    for i, proposal in enumerate(edited.proposals):
        for field, name in (("title", f"title:{i}"), ("driving_question", f"question:{i}")):
            sent = str(form.get(name) or "").replace("\r\n", "\n").strip()
            if sent and sent != getattr(proposal, field):
                setattr(proposal, field, sent[:400])
    return (None if edited == original else edited), chosen


@router.post("/student/projects/requests")
async def ask_for_projects(request: Request, user: User = Depends(student), db=Depends(session)):
    form = await request.form()
    try:
        ask = ProjectAsk(interests=str(form.get("interests") or ""), weeks=form.get("weeks") or None,
                         working=str(form.get("working") or "either"), materials=str(form.get("materials") or ""))
        await service.request_projects(db, user.id, ask)
    except ValidationError as exc:
        return flash.redirect(request, "/student", error=_ask_problem(exc.errors()[0], request))
    return RedirectResponse("/student#projects", status.HTTP_303_SEE_OTHER)


# What the request form's checks (ProjectAsk) mean, said to a student field by field.
ASK_PROBLEMS = {
    "interests": N_("Say what you are interested in (at most %(max_length)s characters)."),
    "weeks": N_("Weeks you have: a whole number from %(ge)s to %(le)s."),
    "working": N_("Choose solo, in a group, or either."),
    "materials": N_("Materials at hand: at most %(max_length)s characters."),
}


def _ask_problem(problem: dict, request: Request) -> str:
    field = str(problem["loc"][0]) if problem["loc"] else ""
    if field not in ASK_PROBLEMS:
        return field + ": " + problem["msg"]
    # The bounds from the schema itself (Ge, Le, MaxLen), so the message cannot drift from the check.
    lang = i18n.language(request)
    bounds = {name: i18n.number(value, lang) for bound in ProjectAsk.model_fields[field].metadata
              for name, value in dataclasses.asdict(bound).items()}
    return _(ASK_PROBLEMS[field], request, **bounds)


@router.get("/student/projects/{release_id}", response_class=HTMLResponse)
async def approved_ideas(request: Request, release_id: uuid.UUID, user: User = Depends(student), db=Depends(session)):
    release = await drafts.release_for_student(db, release_id, user.id)
    if release is None or release.content.get("kind") != "project":
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    started = {a.title for a in await projects.started_from(db, release.id)}
    return render(request, "student_projects.html", user=user, release=release,
                  content=ProjectContent.model_validate(release.content), started=started)


@router.post("/student/projects/{release_id}/start")
async def start_project(request: Request, release_id: uuid.UUID, user: User = Depends(student), db=Depends(session)):
    form = await request.form()
    try:
        await service.start_project(db, user.id, release_id, int(str(form.get("proposal", "-1"))))
    except (NotFound, ValueError):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput as exc:
        return flash.redirect(request, "/student", error=i18n.raised(str(exc), request))
    return RedirectResponse(f"/student/projects/{release_id}", status.HTTP_303_SEE_OTHER)
