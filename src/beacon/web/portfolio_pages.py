"""A student's portfolio (issue 15): "My portfolio" (/student/portfolio), their evidence per
competency across subjects (released feedback with its quotes, demonstrations a teacher logged,
started projects and what they produced), filtered by a GET form, and as a PDF with the same
filters. The student makes and stops read-only links here (mastery/portfolio.py); a link opens
the same portfolio without signing in (/portfolio/<token>, and its PDF), in the visitor's browser
language and the third person, a piece opening its released feedback. What the student wrote for
their teacher (goals, reflections) stays out: the link may reach anyone, a classmate too. A
family reads their child's (/guardian/children/<id>/portfolio); a teacher of the student stops a
link from the student's page on the record. A revoked or unknown token, someone else's child or a
student one does not teach is 404."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from beacon.approval import repository as drafts
from beacon.errors import InvalidInput, NotFound
from beacon.feedback import repository as submissions
from beacon.mastery import portfolio
from beacon.mastery.portfolio_view import Filters, Portfolio
from beacon.projects.portfolio import portfolio as portfolio_of
from beacon.school import repository as school
from beacon.school.auth import session
from beacon.school.models import User
from beacon.text import first_name
from beacon.web import flash, i18n
from beacon.web.i18n import N_, _
from beacon.web.pdf import PdfUnavailable, pdf_of
from beacon.web.rendering import marked, page_role, render, student, teacher, templates

router = APIRouter(include_in_schema=False)
guardian = page_role("guardian")

# The library's subjects (rubrics/schemas.SUBJECTS), said in the reader's language.
SUBJECT_WORDS = (N_("English Language Arts"), N_("Science"), N_("Mathematics"), N_("Social Studies"),
                 N_("World Languages"), N_("Arts"), N_("Durable Skills"))


def _missing() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "not found")


async def _owner(db, token: str) -> User:
    found = await portfolio.student_of(db, token)
    if found is None:
        raise _missing()
    return found


async def _child(db, user: User, student_id: uuid.UUID) -> User:
    """One of this guardian's own children, else 404."""
    if not await school.is_guardian_of(db, user.id, student_id):
        raise _missing()
    return await school.get_user(db, student_id)


async def _portfolio(request: Request, db, owner: User, *, reader_language: bool) -> Portfolio:
    """The owner's portfolio by the query's filters (422 naming what is wrong); the rubric's words
    in the reader's language where someone else reads it."""
    try:
        filters = Filters.of(request.query_params)
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return await portfolio_of(db, owner, request.app.state.runtime.settings, filters,
                              language=i18n.language(request) if reader_language else None)


def _page(request: Request, user: User | None, found: Portfolio, *, viewer: str, releases: str, here: str,
          **context) -> HTMLResponse:
    query = found.filters.query
    return render(request, "student_portfolio.html", user=user, portfolio=found, viewer=viewer, releases=releases,
                  here=here, pdf_url=f"{here}.pdf" + (f"?{query}" if query else ""),
                  child_name=first_name(found.student.full_name), **context)


async def _pdf(request: Request, found: Portfolio, *, viewer: str) -> Response:
    lang = i18n.language(request)
    html = templates.get_template("student_portfolio_pdf.html").render(
        lang=lang, portfolio=found, viewer=viewer, child_name=first_name(found.student.full_name), releases=None)
    try:
        body = await pdf_of(html)
    except PdfUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="portfolio.pdf"', "Content-Language": lang})


# --- The student's own ---------------------------------------------------------------------

@router.get("/student/portfolio", response_class=HTMLResponse)
async def my_portfolio(request: Request, user: User = Depends(student), db=Depends(session)):
    """The signed-in student's own: no id in the path, so nobody else's can be asked for."""
    found = await _portfolio(request, db, user, reader_language=False)
    return _page(request, user, found, viewer="student", releases="/student/releases/", here="/student/portfolio",
                 links=await portfolio.open_links(db, user.id))


@router.get("/student/portfolio.pdf")
async def my_portfolio_pdf(request: Request, user: User = Depends(student), db=Depends(session)):
    return await _pdf(request, await _portfolio(request, db, user, reader_language=False), viewer="student")


def _back(form) -> str:
    """Back to the page the form was on: the portfolio, or the progress page's share card."""
    return "/student/progress#share" if form.get("back") == "progress" else "/student/portfolio#share"


@router.post("/student/portfolio-links")
async def make_my_link(request: Request, user: User = Depends(student), db=Depends(session)):
    """A new link, shown once in the notice (Beacon keeps only its hash)."""
    _link, token = await portfolio.make_link(db, user)
    url = str(request.base_url).rstrip("/") + f"/portfolio/{token}"
    return flash.redirect(request, _back(await request.form()), notice=_(
        "Your link, shown only this once: %(url)s", request, url=url))


@router.post("/student/portfolio-links/{link_id}/revoke")
async def stop_my_link(link_id: uuid.UUID, request: Request, user: User = Depends(student), db=Depends(session)):
    try:
        await portfolio.revoke_link(db, user, link_id)
    except NotFound:
        raise _missing() from None
    return flash.redirect(request, _back(await request.form()), notice=_("That link no longer opens.", request))


# --- Through a shared link -----------------------------------------------------------------
# The PDF's route first: "/portfolio/{token}" would take "<token>.pdf" as a token.

@router.get("/portfolio/{token}.pdf")
async def shared_portfolio_pdf(token: str, request: Request, db=Depends(session)):
    owner = await _owner(db, token)
    return await _pdf(request, await _portfolio(request, db, owner, reader_language=True), viewer="portfolio")


@router.get("/portfolio/{token}", response_class=HTMLResponse)
async def shared_portfolio(token: str, request: Request, db=Depends(session)):
    """Read-only, signed out: no form but the filters, no goal, no reflection."""
    owner = await _owner(db, token)
    found = await _portfolio(request, db, owner, reader_language=True)
    return _page(request, None, found, viewer="portfolio", releases=f"/portfolio/{token}/releases/",
                 here=f"/portfolio/{token}")


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
                  back_label=_("%(name)s's portfolio", request, name=name))


# --- A family's ----------------------------------------------------------------------------

@router.get("/guardian/children/{student_id}/portfolio", response_class=HTMLResponse)
async def child_portfolio(student_id: uuid.UUID, request: Request, user: User = Depends(guardian), db=Depends(session)):
    child = await _child(db, user, student_id)
    found = await _portfolio(request, db, child, reader_language=True)
    return _page(request, user, found, viewer="family", releases=f"/guardian/children/{student_id}/releases/",
                 here=f"/guardian/children/{student_id}/portfolio")


@router.get("/guardian/children/{student_id}/portfolio.pdf")
async def child_portfolio_pdf(student_id: uuid.UUID, request: Request, user: User = Depends(guardian),
                              db=Depends(session)):
    child = await _child(db, user, student_id)
    return await _pdf(request, await _portfolio(request, db, child, reader_language=True), viewer="family")


# --- A teacher stops a link ----------------------------------------------------------------

@router.post("/teacher/students/{student_id}/portfolio-links/{link_id}/revoke")
async def stop_a_students_link(student_id: uuid.UUID, link_id: uuid.UUID, request: Request,
                               user: User = Depends(teacher), db=Depends(session)):
    """A teacher of the student stops one of their links (shared too widely); anyone else, or a
    link of another student, is 404. revoke_link audits it."""
    form = await request.form()
    try:
        link = await portfolio.revoke_link(db, user, link_id)
    except NotFound:
        raise _missing() from None
    if link.student_id != student_id:
        raise _missing()  # the request's transaction is rolled back with the error: nothing stopped
    back = str(form.get("back") or "")
    # Only back to a teacher page of Beacon's own: never an address the form could name.
    if not back.startswith("/teacher/") or "//" in back or "\\" in back:
        back = "/teacher/mastery"
    return flash.redirect(request, back, notice="That portfolio link no longer opens.")
