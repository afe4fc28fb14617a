"""Pages for coaches (drafts against teachers' decisions, read-only; eval runs they start and
compare) and admins (people and classes). Same services as the API; same role dependency; other
schools' rows are "not found"."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from beacon.approval import repository as drafts
from beacon.db import audit
from beacon.errors import InvalidInput, NotFound
from beacon.evals import report
from beacon.evals import repository as evals_repository
from beacon.evals import service as evals
from beacon.feedback import repository as submissions
from beacon.notifications import service as notifications
from beacon.school import repository as school
from beacon.school import roster
from beacon.school import service as school_service
from beacon.school.auth import hash_password_off_loop, session
from beacon.school.models import School, User
from beacon.school.schemas import NewClass, NewPerson
from beacon.web import flash
from beacon.web.rendering import admin, marked, page_role, render

router = APIRouter(include_in_schema=False)
coach = page_role("coach", "admin")


@router.get("/coach", response_class=HTMLResponse)
async def coach_home(request: Request, user: User = Depends(coach), db=Depends(session)):
    decided = await evals_repository.decisions_in_school(db, user.school_id)
    recent = [(item, evals.changed_levels(item)) for item in decided[:40]]
    settings = request.app.state.runtime.settings
    return render(request, "coach_home.html", user=user, use=evals.real_use(decided), recent=recent,
                  largest=evals.largest_changes(decided),
                  runs=await evals_repository.runs_of_school(db, user.school_id),
                  suites=evals.suite_names(settings.evals_dir), model=settings.model)


@router.get("/coach/drafts/{draft_id}", response_class=HTMLResponse)
async def coach_draft(request: Request, draft_id: uuid.UUID, user: User = Depends(coach), db=Depends(session)):
    """A released draft as drafted and as released, read-only, for a coach of the same school.
    Work a teacher has not released (pending, rejected, sent back) stays private unless the
    school grants coaches access (``settings.coach_sees_unreleased``); each such view is audited."""
    draft = await drafts.get_draft(db, draft_id)
    student = await school.get_user(db, draft.student_id) if draft else None
    if draft is None or draft.kind != "feedback" or student is None or student.school_id != user.school_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    if draft.status != "approved":
        granted = (await db.get(School, user.school_id)).settings.get("coach_sees_unreleased", False)
        if not granted:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
        await audit.add_audit(db, actor_id=user.id, action="draft.viewed_unreleased", subject_type="draft",
                                subject_id=str(draft.id), data={"status": draft.status, "role": user.role})
    work = await submissions.get(db, draft.submission_id)
    release = await drafts.release_of(db, draft.id)
    approved = {c["criterion_id"]: c["level"] for c in (release.content["criteria"] if release else [])}
    return render(request, "coach_draft.html", user=user, draft=draft, work=work, student=student,
                  release=release, approved=approved, segments=marked(work.body, draft.content),
                  trail=await audit.audit_trail(db, "draft", str(draft.id)))


@router.post("/coach/evals")
async def coach_start_eval(request: Request, user: User = Depends(coach), db=Depends(session)):
    form = await request.form()
    settings = request.app.state.runtime.settings
    limit = str(form.get("limit") or "").strip()
    try:
        await evals.start_run(db, user, suite=str(form.get("suite") or ""), model=str(form.get("model") or settings.model)[:200],
                              limit=max(1, min(5000, int(limit))) if limit.isdigit() else None, evals_dir=settings.evals_dir)
    except NotFound as exc:
        return flash.redirect(request, "/coach#evals", error=str(exc))
    return RedirectResponse("/coach#evals", status.HTTP_303_SEE_OTHER)


@router.get("/coach/evals/{run_id}/report", response_class=HTMLResponse)
async def coach_eval_report(run_id: uuid.UUID, user: User = Depends(coach), db=Depends(session)):
    run = await evals_repository.get_run(db, run_id)
    if run is None or run.school_id != user.school_id or not run.report_html:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return HTMLResponse(run.report_html)


@router.get("/coach/evals/compare", response_class=HTMLResponse)
async def coach_eval_compare(a: uuid.UUID, b: uuid.UUID, user: User = Depends(coach), db=Depends(session)):
    runs = [await evals_repository.get_run(db, i) for i in (a, b)]
    if any(r is None or r.school_id != user.school_id or not r.summary for r in runs):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return HTMLResponse(report.html_report(runs[1].summary, runs[0].summary))


@router.get("/admin", response_class=HTMLResponse)
async def admin_home(request: Request, user: User = Depends(admin), db=Depends(session)):
    return await _admin_page(request, user, db)


async def _admin_page(request: Request, user: User, db, **extra):
    people = await school.people_of_school(db, user.school_id)
    return render(request, "admin_home.html", user=user, people=people,
                  classes=await school.classes_of_school(db, user.school_id),
                  families=await school.guardians_of(db, [p.id for p in people if p.role == "student"]),
                  unclaimed=len(await school.unclaimed_families(db, user.school_id)),
                  mail=bool(request.app.state.runtime.settings.smtp_host), **extra)


@router.post("/admin/guardian-invitations")
async def invite_unclaimed_families(request: Request, user: User = Depends(admin), db=Depends(session)):
    """Email each family the roster added, who never signed in, an invitation to claim their account."""
    try:
        invited = await notifications.invite_unclaimed_families(db, request.app.state.runtime.settings, user)
    except InvalidInput as exc:
        return _back(request, error=str(exc))
    return _back(request, notice=f"Invitations emailed to {invited} famil{'y' if invited == 1 else 'ies'}.")


def _back(request: Request, notice: str | None = None, error: str | None = None) -> RedirectResponse:
    return flash.redirect(request, "/admin", notice=notice, error=error)


def _problem(exc: ValidationError | InvalidInput) -> str:
    """One line for the admin: the first field that is wrong, or the service's reason."""
    if isinstance(exc, InvalidInput):
        return str(exc)
    problem = exc.errors()[0]
    where = ".".join(str(p) for p in problem["loc"])
    return f"{where}: {problem['msg']}" if where else problem["msg"]


@router.post("/admin/people")
async def add_person(request: Request, user: User = Depends(admin), db=Depends(session)):
    form = {k: v for k, v in (await request.form()).items() if k != "csrf" and v != ""}
    form["interests"] = [i.strip() for i in str(form.get("interests", "")).split(",") if i.strip()]
    try:
        new = NewPerson.model_validate(form)
        person = await school_service.add_person(db, user, new, await hash_password_off_loop(new.password) if new.password else None)
    except (ValidationError, InvalidInput) as exc:
        return _back(request, error=_problem(exc))
    return _back(request, notice=f"Added {person.full_name} ({person.role}).")


@router.post("/admin/classes")
async def add_class(request: Request, user: User = Depends(admin), db=Depends(session)):
    form = await request.form()
    try:
        klass = await school_service.add_class(db, user, NewClass(name=str(form.get("name", "")),
                                                                  subject=str(form.get("subject") or "") or None))
    except (ValidationError, InvalidInput) as exc:
        return _back(request, error=_problem(exc))
    return _back(request, notice=f"Added class {klass.name}.")


@router.post("/admin/members")
async def set_member(request: Request, user: User = Depends(admin), db=Depends(session)):
    form = await request.form()
    role = str(form.get("role_in_class") or "")
    try:
        class_id, user_id = uuid.UUID(str(form.get("class_id"))), uuid.UUID(str(form.get("user_id")))
        await school_service.set_membership(db, user, class_id, user_id, None if role == "remove" else role)
    except (ValueError, NotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput as exc:
        return _back(request, error=str(exc))
    return _back(request, notice="Class updated.")


@router.post("/admin/guardians")
async def set_guardian(request: Request, user: User = Depends(admin), db=Depends(session)):
    """Link a guardian to a student (or, with ``unlink``, end the link)."""
    form = await request.form()
    try:
        guardian_id, student_id = uuid.UUID(str(form.get("guardian_id"))), uuid.UUID(str(form.get("student_id")))
        await school_service.link_guardian(db, user, guardian_id, student_id, linked=form.get("unlink") is None)
    except (ValueError, NotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput as exc:
        return _back(request, error=str(exc))
    return _back(request, notice="Family links updated.")


@router.post("/admin/roster", response_class=HTMLResponse)
async def import_roster(request: Request, user: User = Depends(admin), db=Depends(session)):
    """The roster form: "Preview" (a dry run) or "Import"; the report, or every problem by line
    (422, nothing written), on the admin's page."""
    from beacon.text import check_form

    form = await request.form()
    check_form(form)
    files, dry_run = await roster.read_uploads(form)
    try:
        report = await roster.import_roster(db, user, files, dry_run=dry_run)
    except roster.RosterInvalid as exc:
        response = await _admin_page(request, user, db, roster_problems=exc.as_dict())
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return response
    return await _admin_page(request, user, db, roster_report=report)
