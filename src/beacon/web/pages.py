"""Server-rendered pages (Jinja2 + HTMX, no JavaScript build). They call the same services as
the JSON API; roles come from the same dependency; out of scope is 404."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from beacon.approval import repository as drafts
from beacon.approval.decisions import content_hash, what_happened
from beacon.db import audit
from beacon.errors import BeaconError, Conflict, InvalidInput, NotFound
from beacon.feedback import repository as submissions
from beacon.feedback.injection import find_injections
from beacon.feedback.intake import MAX_UPLOAD_BYTES, decode_work, read_upload, upload_status
from beacon.feedback.router import STATUS_FOR_STUDENT
from beacon.feedback.schemas import DraftContent
from beacon.feedback.service import submit_for_feedback
from beacon.mastery import goals
from beacon.mastery import service as mastery
from beacon.mastery.models import REFLECTION_MAX_CHARS
from beacon.offload import in_thread
from beacon.projects import repository as project_requests
from beacon.projects import repository as projects
from beacon.projects.router import STATUS_FOR_STUDENT as PROJECT_STATUS
from beacon.review import repository as reviews
from beacon.review import service as review
from beacon.review.context import on_record, record_cues
from beacon.rubrics import repository as rubrics
from beacon.school import accounts
from beacon.school import repository as school
from beacon.school.auth import (
    SESSION_COOKIE,
    client_address,
    session,
    session_cookie,
)
from beacon.school.models import User
from beacon.school.schemas import NewAssignment
from beacon.school.service import set_assignment as set_one
from beacon.text import check_form
from beacon.web import flash, i18n
from beacon.web.i18n import _
from beacon.web.mastery_pages import cell_view
from beacon.web.project_pages import project_edits, project_review_screen
from beacon.web.rendering import (
    NEXT_MAX_CHARS,
    marked,
    page_user,
    render,
    safe_next,
    student,
    teacher,
    uuid_or_none,
)

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, email: str = "", next: str = ""):
    return render(request, "login.html", email=email[:320], next=safe_next(next[:NEXT_MAX_CHARS + 1]))


@router.post("/login")
async def login(request: Request, email: str = Form(..., max_length=320), password: str = Form(..., max_length=200),
                next: str = Form("", max_length=2000)):
    db = request.app.state.runtime.db
    next = safe_next(next)  # a deep link from an email, back after sign-in; anything else: the home page
    try:
        user = await accounts.sign_in(db, email, password, client_address(request))
    except accounts.TooManyAttempts as exc:
        error = _("Too many failed sign-ins. Try again in %(seconds)s seconds.", request,
                  seconds=i18n.number(exc.retry_after_s, i18n.language(request)))
        response = render(request, "login.html", error=error, email=email[:320], next=next)
        response.status_code, response.headers["Retry-After"] = 429, str(exc.retry_after_s)
        return response
    except InvalidInput:
        response = render(request, "login.html", error=_("Wrong email or password.", request), email=email[:320], next=next)
        response.status_code = 401
        return response
    max_age = request.app.state.runtime.settings.token_max_age_s
    async with db.transaction() as session_:
        opened = await accounts.open_session(session_, user, "cookie", max_age)
    response = RedirectResponse(next or "/", status.HTTP_303_SEE_OTHER)
    response.set_cookie(SESSION_COOKIE, session_cookie(request, opened), httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=max_age)
    return response


@router.post("/logout")
async def logout(request: Request, user: User = Depends(page_user)):
    """Signs out on the server too: the cookie's session is revoked, wherever it was copied."""
    async with request.app.state.runtime.db.transaction() as db:
        await accounts.close_session(db, user.id, request.state.session_id)
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
async def home(user: User = Depends(page_user)):
    return RedirectResponse(f"/{user.role}", status.HTTP_303_SEE_OTHER)


# --- Teacher ---------------------------------------------------------------------------------

async def _queue_page(request: Request, user: User, db, *, notice: str | None = None) -> HTMLResponse:
    params = request.query_params
    filters = {"class_id": uuid_or_none(params.get("class_id")),
               "assignment_id": uuid_or_none(params.get("assignment_id")),
               "competency_id": params.get("competency_id") or None, "flag": params.get("flag") or None}
    items = await reviews.queue_for_teacher(db, user.id, **filters)
    return render(request, "teacher_queue.html", user=user, items=items, filters=filters, notice=notice,
                  cues=await _record_cues(request, user, db, items),
                  failed=await reviews.failed_work(db, teacher_id=user.id),
                  needs_own_review=review.needs_own_review, classes=await reviews.classes_taught(db, user.id),
                  assignments=await school.assignments_taught(db, user.id),
                  competencies=await rubrics.current_titles(db),
                  flag_names=FLAG_NAMES)


async def _record_cues(request: Request, user: User, db, items: list[reviews.QueueItem]) -> dict[uuid.UUID, dict]:
    """Per feedback draft in the queue, its student's standing on its competency, so a bulk
    approval is made knowing it: one ``records_of`` read for every student listed."""
    standings = await record_cues(db, user, [i.draft for i in items], request.app.state.runtime.settings)
    return {draft_id: cell_view(standing) for draft_id, standing in standings.items()}


# The flags a teacher can filter by, in the order they matter.
FLAG_NAMES = ("prompt_injection", "quote_not_found", "invented_criterion", "missing_criterion", "no_evidence",
              "score_language", "too_long", "too_short", "repaired", "rubric_text_in_english", "offline_model")


@router.get("/teacher", response_class=HTMLResponse)
async def queue(request: Request, user: User = Depends(teacher), db=Depends(session)):
    return await _queue_page(request, user, db)


@router.post("/teacher/bulk-approve")
async def bulk_approve(request: Request, user: User = Depends(teacher)):
    """Approve the ticked drafts as drafted. Under HTMX the queue is swapped in place."""
    form = await request.form()
    ids = [i for i in (uuid_or_none(str(v)) for v in form.getlist("draft")) if i is not None]
    state = request.app.state
    outcome = await review.bulk_approve(state.runtime.db, user.id, ids)
    approved = sum(1 for reason in outcome.values() if reason is None)
    reasons = Counter(reason for reason in outcome.values() if reason is not None)
    # Per draft, what happened: a draft someone else decided first is said so, not counted.
    notice = f"Approved {approved}." + "".join(f" {n} not approved: {reason}." for reason, n in reasons.items())
    if not ids:
        notice = "Tick the drafts to approve first."
    if request.headers.get("hx-request") != "true":
        return flash.redirect(request, "/teacher", notice=notice)
    async with state.runtime.db.transaction() as db:
        return await _queue_page(request, user, db, notice=notice)


@router.get("/teacher/assignments", response_class=HTMLResponse)
async def assignments_page(request: Request, user: User = Depends(teacher), db=Depends(session)):
    return render(request, "teacher_assignments.html", user=user,
                  classes=await reviews.classes_taught(db, user.id),
                  assignments=await school.assignments_taught(db, user.id),
                  competencies=await rubrics.current_titles(db))


@router.post("/teacher/assignments")
async def set_assignment(request: Request, user: User = Depends(teacher), db=Depends(session)):
    from pydantic import ValidationError


    form = await request.form()
    try:
        new = NewAssignment(class_id=str(form.get("class_id") or ""), title=str(form.get("title") or ""),
                            instructions=str(form.get("instructions") or ""),
                            competency_ids=[str(c) for c in form.getlist("competency_id")])
        await set_one(db, user, new)
    except ValidationError as exc:
        problem = exc.errors()[0]
        message = f"{problem['loc'][0]}: {problem['msg']}"
        return flash.redirect(request, "/teacher/assignments", error=message)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput as exc:
        return flash.redirect(request, "/teacher/assignments", error=str(exc))
    return flash.redirect(request, "/teacher/assignments", notice="Assignment set: " + new.title)


@router.get("/teacher/next")
async def next_draft(request: Request, after: uuid.UUID | None = None, user: User = Depends(teacher),
                     db=Depends(session)):
    following = await reviews.next_pending_for_teacher(db, user.id, after)
    if following is None:
        return flash.redirect(request, "/teacher", notice="No other drafts are waiting.")
    return RedirectResponse(f"/teacher/drafts/{following.id}", status.HTTP_303_SEE_OTHER)


@router.get("/teacher/drafts/{draft_id}", response_class=HTMLResponse)
async def review_screen(request: Request, draft_id: uuid.UUID, user: User = Depends(teacher), db=Depends(session)):
    return await _review_screen(request, draft_id, user, db)


async def _review_screen(request: Request, draft_id: uuid.UUID, user: User, db, *, error: str | None = None,
                         status_code: int = 200) -> HTMLResponse:
    try:
        draft = await review.draft_for_teacher(db, draft_id, user.id)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    outcome = await _outcome(db, draft)
    if draft.kind == "project":
        response = await project_review_screen(request, draft, user, db, outcome=outcome, error=error)
    else:
        work = await submissions.get(db, draft.submission_id)
        version = await rubrics.version_by_id(db, draft.rubric_version_id)
        trail = await audit.audit_trail(db, "draft", str(draft.id))
        record = await on_record(db, user.id, draft, request.app.state.runtime.settings,
                                 school_choice=await mastery.school_choice(db, user))
        response = render(request, "teacher_review.html", user=user, draft=draft, work=work,
                          segments=marked(work.body, draft.content, await _injections(draft, work.body)),
                          rubric=version.definition,
                          student=await school.get_user(db, draft.student_id), trail=trail,
                          content_hash=content_hash(draft.content), outcome=outcome, error=error,
                          record=record, record_cell=cell_view(record.standing),
                          picked=draft.retrieval[0] if draft.retrieval else None,
                          changed=await review.what_changed(db, draft),
                          # the other retrieved candidates first, then the rest of the library
                          competencies=sorted(await rubrics.current_titles(db), key=lambda t: (
                              t[0] not in {r.get("id") for r in draft.retrieval}, t[1])))
    response.status_code = status_code
    return response


async def _injections(draft, body: str) -> list[tuple[int, int, str]]:
    if not any(f == "prompt_injection" for f in draft.flags):
        return []

    return await in_thread(find_injections, body)


async def _outcome(db, draft) -> dict | None:
    """For a draft no longer waiting: what happened, and for a regeneration where it stands."""
    if draft.status == "pending_review":
        return None
    said = await what_happened(db, draft)
    following = await drafts.regenerated_from(db, draft.id)
    item = (await submissions.get(db, draft.submission_id) if draft.kind == "feedback"
            else await project_requests.get_request(db, draft.project_request_id))
    release = await drafts.release_of(db, draft.id)
    awaiting_new = draft.status == "superseded" and following is None  # a regeneration not drafted yet
    return {"said": said, "next_draft_id": following.id if following else None,
            "released": release.content if release else None,
            # (work drafted per competency stays in review while a sibling's draft waits)
            "regenerating": awaiting_new and item.status in ("queued", "drafting", "designing", "pending_review"),
            "failed": awaiting_new and item.status == "failed", "work_id": item.id}


@router.post("/teacher/work/{kind}/{item_id}/retry")
async def try_again(request: Request, kind: str, item_id: uuid.UUID, user: User = Depends(teacher),
                    db=Depends(session)):
    """Queue failed work again; the queue says so."""
    try:
        await review.try_again(db, user, kind, item_id)
        notice = "Queued again: the draft appears here when it is ready."
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except Conflict as exc:
        notice = str(exc)[:1].upper() + str(exc)[1:] + "."
    return flash.redirect(request, "/teacher", notice=notice)


@router.get("/teacher/drafts/{draft_id}/progress", response_class=HTMLResponse)
async def regeneration_progress(request: Request, draft_id: uuid.UUID, user: User = Depends(teacher), db=Depends(session)):
    """Polled by the review screen while a regeneration drafts: the new draft opens when ready."""
    try:
        draft = await review.draft_for_teacher(db, draft_id, user.id)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    outcome = await _outcome(db, draft)
    if outcome and outcome["next_draft_id"]:
        return HTMLResponse("", headers={"HX-Redirect": f"/teacher/drafts/{outcome['next_draft_id']}"})
    return render(request, "_regeneration.html", draft=draft, outcome=outcome)


@router.post("/teacher/drafts/{draft_id}/decision")
async def decide(request: Request, draft_id: uuid.UUID, user: User = Depends(teacher)):
    form = await request.form()
    action = str(form.get("action") or "")
    # "Redraft with this rubric": a regeneration against the competency the teacher picked.
    rubric_id = (str(form.get("rubric_id") or "") or None) if action == "rubric" else None
    action = "regenerate" if action == "rubric" else action
    state = request.app.state
    try:
        async with state.runtime.db.transaction() as db:
            draft = await review.draft_for_teacher(db, draft_id, user.id)
        edited, chosen = None, None
        if draft.kind == "project":
            if action == "approve":
                edited, chosen = project_edits(form, draft.content)
        elif action == "approve":
            content = DraftContent.model_validate(draft.content)
            edited = content.model_copy(deep=True)
            # Browsers send a textarea with CRLF line ends: an untouched text is not an edit.
            sent = str(form.get("feedback", content.feedback)).replace("\r\n", "\n").strip()
            if sent and sent != content.feedback.strip():
                edited.feedback = sent
            for criterion in edited.criteria:
                level = str(form.get(f"level:{criterion.criterion_id}") or "")
                if level and not level.isdigit():
                    raise InvalidInput(f"{criterion.title}: the level is a whole number")
                if level:
                    # Held to the draft's rubric, and labelled from it, by review.decide_draft.
                    criterion.level = int(level)
            edited = None if edited == content else edited
        await review.decide_draft(
            state.runtime.db, draft_id, teacher_id=user.id, action=action, edited_content=edited, proposals=chosen,
            reason=form.get("reason") or None, instructions=form.get("instructions") or None, rubric_id=rubric_id,
            seen_hash=str(form.get("content_hash") or "") or None)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except Conflict as exc:
        async with state.runtime.db.transaction() as db:  # show what happened instead, read-only
            return await _review_screen(request, draft_id, user, db, error=str(exc), status_code=409)
    except (InvalidInput, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    # A regeneration drafts in the background: its screen shows progress, then the new draft.
    # After any other decision, the next draft in the queue.
    target = f"/teacher/drafts/{draft_id}" if action == "regenerate" else f"/teacher/next?after={draft_id}"
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


# --- Student ---------------------------------------------------------------------------------

@router.get("/student", response_class=HTMLResponse)
async def student_home(request: Request, user: User = Depends(student), db=Depends(session)):
    return render(request, "student_home.html", **await _student_home(db, user))


async def _student_home(db, user: User) -> dict:
    return {"user": user, "submissions": await submissions.submissions_of(db, user.id),
            "releases": await drafts.releases_of_student(db, user.id), "status_for": STATUS_FOR_STUDENT,
            "project_requests": await projects.requests_of(db, user.id), "project_status": PROJECT_STATUS,
            "assignments": await school.assignments_for_student(db, user.id)}


@router.post("/student/submissions")
async def student_submit(request: Request, user: User = Depends(student), db=Depends(session)):
    form = await request.form()
    check_form(form)
    limit = request.app.state.runtime.settings.max_work_chars
    title = str(form.get("title") or "").strip()
    upload = form.get("file")
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            raw = await upload.read(MAX_UPLOAD_BYTES + 1)
            body = await read_upload(upload.filename, upload.content_type or "", raw, limit)
            title = title or Path(upload.filename).stem
        else:
            body = decode_work(str(form.get("body") or "").encode("utf-8"), "your text", limit)
        if not title:
            raise InvalidInput("give your work a title")
        await submit_for_feedback(db, student_id=user.id, title=title, body=body,
                                  revision_of_id=uuid_or_none(str(form.get("revision_of") or "")),
                                  assignment_id=uuid_or_none(str(form.get("assignment_id") or "")))
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except BeaconError as exc:
        response = render(request, "student_home.html", **await _student_home(db, user),
                          error=i18n.raised(str(exc), request))
        response.status_code = upload_status(exc)
        return response
    return RedirectResponse("/student", status.HTTP_303_SEE_OTHER)


@router.get("/student/submissions/{submission_id}/revise", response_class=HTMLResponse)
async def student_revise(request: Request, submission_id: uuid.UUID, user: User = Depends(student), db=Depends(session)):
    """Revise and resubmit: the earlier text to edit, beside the feedback released on it."""
    earlier = await submissions.get(db, submission_id)
    if earlier is None or earlier.student_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    # Work drafted per competency has a release per competency: all of them, beside the text.
    releases = await drafts.releases_for_submission(db, earlier.id)
    return render(request, "student_revise.html", user=user, earlier=earlier, releases=releases)


@router.get("/student/releases/{release_id}", response_class=HTMLResponse)
async def student_release(request: Request, release_id: uuid.UUID, user: User = Depends(student), db=Depends(session)):
    release = await drafts.release_for_student(db, release_id, user.id)
    if release is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    if release.content.get("kind") == "project":
        return RedirectResponse(f"/student/projects/{release.id}", status.HTTP_303_SEE_OTHER)
    draft = await drafts.get_draft(db, release.draft_id)
    work = await submissions.get(db, draft.submission_id)
    return render(request, "student_release.html", user=user, release=release, work=work,
                  segments=marked(work.body, release.content), reflection=await goals.reflection_on(db, release.id),
                  revised=await goals.revised_since(db, release))


@router.post("/student/releases/{release_id}/reflection")
async def student_reflection(request: Request, release_id: uuid.UUID, user: User = Depends(student), db=Depends(session)):
    """The answer to the feedback's revision question, back on the feedback's page."""
    form = await request.form()
    check_form(form)
    back = f"/student/releases/{release_id}#reflection"
    try:
        await goals.write_reflection(db, user, release_id, str(form.get("text") or ""))
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput:
        return flash.redirect(request, back, error=_("Write your reflection in at most %(limit)s characters.", request,
                                                    limit=REFLECTION_MAX_CHARS))
    except Conflict:
        return flash.redirect(request, back, error=_(
            "You have handed in a revision since, so this reflection stays as your teacher read it.", request))
    return flash.redirect(request, back, notice=_("Reflection saved. Your teacher sees it next to your next draft.", request))


@router.get("/student/export")
async def student_export(request: Request, user: User = Depends(student), db=Depends(session)):
    """All feedback released to this student, as one Markdown file to keep."""
    from fastapi.responses import PlainTextResponse

    parts = ["# " + _("Feedback for %(name)s", request, name=user.full_name) + "\n"]
    for release in await drafts.releases_of_student(db, user.id):
        if release.content.get("kind") == "project":
            titles = "\n".join(f"- {p['title']}: {p['driving_question']}" for p in release.content["proposals"])
            parts.append(f"## {_('Project ideas', request)} ({release.released_at:%Y-%m-%d})\n\n{titles}\n")
            continue
        work = await submissions.get(db, (await drafts.get_draft(db, release.draft_id)).submission_id)
        parts.append(f"## {work.title} ({release.released_at:%Y-%m-%d})\n\n{release.content['feedback']}\n")
    if len(parts) == 1:
        parts.append(_("No feedback yet: your teacher reads everything first.", request) + "\n")
    return PlainTextResponse("\n".join(parts), media_type="text/markdown; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="my-feedback.md"'})
