"""A student's shared portfolio (issue 15): /portfolio/<token> opens their progress read-only,
without signing in, in the visitor's browser language; a point opens that piece's released
feedback. What the student wrote for their teacher (goals, reflections) stays out: the link may
reach anyone, a classmate too. A revoked or unknown token is 404. The student makes and stops
links from their progress page (mastery/portfolio.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from beacon.approval import repository as drafts
from beacon.errors import NotFound
from beacon.feedback import repository as submissions
from beacon.mastery import portfolio
from beacon.mastery.progress import progress_of
from beacon.school.auth import session
from beacon.school.models import User
from beacon.text import first_name
from beacon.web import flash, i18n
from beacon.web.i18n import _
from beacon.web.progress_pages import progress_page
from beacon.web.rendering import marked, render, student

router = APIRouter(include_in_schema=False)


def _missing() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "not found")


async def _owner(db, token: str) -> User:
    found = await portfolio.student_of(db, token)
    if found is None:
        raise _missing()
    return found



@router.get("/portfolio/{token}", response_class=HTMLResponse)
async def shared_progress(token: str, request: Request, db=Depends(session)):
    owner = await _owner(db, token)
    progress = await progress_of(db, owner, request.app.state.runtime.settings, language=i18n.language(request))
    for competency in progress.competencies:  # the student's words to their teacher are not the visitor's
        competency.goal = None
        for work in competency.works:
            work.reflection = None
    return progress_page(request, None, progress, viewer="portfolio", child_name=first_name(owner.full_name),
                         releases=f"/portfolio/{token}/releases/")


@router.get("/portfolio/{token}/releases/{release_id}", response_class=HTMLResponse)
async def shared_release(token: str, release_id: uuid.UUID, request: Request, db=Depends(session)):
    """Released feedback on a piece of the portfolio's evidence, and the work: never a draft."""
    owner = await _owner(db, token)
    release = await drafts.release_for_student(db, release_id, owner.id)
    if release is None or release.content.get("kind") == "project":
        raise _missing()
    work = await submissions.get(db, (await drafts.get_draft(db, release.draft_id)).submission_id)
    name = first_name(owner.full_name)
    return render(request, "guardian_release.html", user=None, child=owner, release=release, work=work, ideas=[],
                  segments=marked(work.body, release.content), back=f"/portfolio/{token}",
                  back_label=_("%(name)s's progress", request, name=name))


@router.post("/student/portfolio-links")
async def make_my_link(request: Request, user: User = Depends(student), db=Depends(session)):
    """A new link, shown once in the notice (Beacon keeps only its hash)."""
    _link, token = await portfolio.make_link(db, user)
    url = str(request.base_url).rstrip("/") + f"/portfolio/{token}"
    return flash.redirect(request, "/student/progress#share", notice=_(
        "Your link, shown only this once: %(url)s", request, url=url))


@router.post("/student/portfolio-links/{link_id}/revoke")
async def stop_my_link(link_id: uuid.UUID, request: Request, user: User = Depends(student), db=Depends(session)):
    try:
        await portfolio.revoke_link(db, user, link_id)
    except NotFound:
        raise _missing() from None
    return flash.redirect(request, "/student/progress#share", notice=_("That link no longer opens.", request))
