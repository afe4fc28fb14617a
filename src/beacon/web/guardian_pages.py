"""A family's pages: a guardian reads what their own children's teachers released (feedback on
each piece of work, approved project ideas), never a draft and never another child's. Out of
scope is 404, as for anything that does not exist."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from beacon.approval import repository as drafts
from beacon.feedback import repository as submissions
from beacon.mastery.progress import progress_of
from beacon.school import repository as school
from beacon.school.auth import session
from beacon.school.models import User
from beacon.text import first_name
from beacon.web import i18n
from beacon.web.progress_pages import progress_page
from beacon.web.rendering import marked, page_role, render

router = APIRouter(include_in_schema=False)
guardian = page_role("guardian")



def _missing() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "not found")


async def _released(db, student_id: uuid.UUID) -> list[dict]:
    """Each release with what it is about: the work's title, or the project ideas."""
    items = []
    for release in await drafts.releases_of_student(db, student_id):
        if release.content.get("kind") == "project":
            items.append({"release": release, "title": None, "ideas": [p["title"] for p in release.content["proposals"]]})
            continue
        draft = await drafts.get_draft(db, release.draft_id)
        work = await submissions.get(db, draft.submission_id)
        items.append({"release": release, "title": work.title, "ideas": []})
    return items


@router.get("/guardian", response_class=HTMLResponse)
async def guardian_home(request: Request, user: User = Depends(guardian), db=Depends(session)):
    children = [{"student": child, "released": await _released(db, child.id)}
                for child in await school.children_of(db, user.id)]
    return render(request, "guardian_home.html", user=user, children=children)


@router.get("/guardian/children/{student_id}/releases/{release_id}", response_class=HTMLResponse)
async def child_release(student_id: uuid.UUID, release_id: uuid.UUID, request: Request,
                        user: User = Depends(guardian), db=Depends(session)):
    if not await school.is_guardian_of(db, user.id, student_id):
        raise _missing()
    release = await drafts.release_for_student(db, release_id, student_id)
    if release is None:
        raise _missing()
    child = await school.get_user(db, student_id)
    if release.content.get("kind") == "project":
        return render(request, "guardian_release.html", user=user, child=child, release=release, work=None,
                      segments=[], ideas=release.content["proposals"])
    draft = await drafts.get_draft(db, release.draft_id)
    work = await submissions.get(db, draft.submission_id)
    return render(request, "guardian_release.html", user=user, child=child, release=release, work=work,
                  segments=marked(work.body, release.content), ideas=[])


@router.get("/guardian/children/{student_id}/progress", response_class=HTMLResponse)
async def child_progress(student_id: uuid.UUID, request: Request, user: User = Depends(guardian), db=Depends(session)):
    """The child's progress as the child reads it, told to the family (third person), in the
    family's language; a point opens the release on the family's own page. The record's
    needs-support flags are teachers': progress_of never reads them."""
    if not await school.is_guardian_of(db, user.id, student_id):
        raise _missing()
    child = await school.get_user(db, student_id)
    progress = await progress_of(db, child, request.app.state.runtime.settings, language=i18n.language(request))
    return progress_page(request, user, progress, viewer="family", child_name=first_name(child.full_name),
                         releases=f"/guardian/children/{student_id}/releases/")
