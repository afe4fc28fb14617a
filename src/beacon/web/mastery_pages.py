"""The mastery record's pages for teachers: the class grid (students × competencies), a cell's
history with its evidence and needs-support flags (dismissed with a note), and "log a
demonstration" for evidence Beacon cannot read, with "next student" keeping the task. They
call the same services as the API; out of scope is 404."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from beacon.errors import Conflict, InvalidInput, NotFound
from beacon.mastery import portfolio
from beacon.mastery import repository as ratings
from beacon.mastery import service as mastery
from beacon.mastery.calculation import STATUSES
from beacon.mastery.router import class_access, may_read_student
from beacon.mastery.schemas import Dismissal, NewRatings
from beacon.mastery.service import school_choice
from beacon.review import repository as reviews
from beacon.rubrics import repository as rubrics
from beacon.school import invitations
from beacon.school import repository as school
from beacon.school.auth import session
from beacon.school.models import User
from beacon.web import flash
from beacon.web.invitation_pages import LANGUAGE_NAMES
from beacon.web.rendering import admin, render, teacher, uuid_or_none

router = APIRouter(include_in_schema=False)

STATUS_WORDS = {"not_started": "Not started", "emerging": "Emerging", "approaching": "Approaching", "met": "Met"}


def _missing() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "not found")


def cell_view(standing: mastery.Standing | None) -> dict:
    """What one grid cell shows: words and numbers, never colour alone."""
    if standing is None:
        return {"status": "not_started", "word": STATUS_WORDS["not_started"], "value": None, "evidence": "",
                "arrow": "", "growth": None, "concerns": []}
    s = standing.status
    shortest = min(s.evidence.values()) if s.evidence else 0
    grown = standing.growth.competency
    arrow = "" if grown is None else ("↑" if grown > 0.05 else "↓" if grown < -0.05 else "→")
    return {"status": s.status, "word": STATUS_WORDS[s.status], "value": s.value, "levels": standing.levels,
            "evidence": f"{min(shortest, s.required)} of {s.required}", "complete": not s.missing,
            "arrow": arrow, "growth": grown, "concerns": standing.concerns}


@router.get("/teacher/mastery", response_class=HTMLResponse)
async def grid_page(request: Request, user: User = Depends(teacher), db=Depends(session)):
    classes = await reviews.classes_taught(db, user.id)
    chosen = uuid_or_none(request.query_params.get("class_id")) or (classes[0].id if classes else None)
    if chosen is not None and chosen not in {c.id for c in classes}:
        raise _missing()
    grid = None
    if chosen is not None:
        grid = await mastery.class_grid(db, chosen, request.app.state.runtime.settings,
                                        school_choice=await school_choice(db, user))
    only_competency = request.query_params.get("competency_id") or ""
    only_status = request.query_params.get("status") or ""
    columns = [(cid, t) for cid, t in (grid.competencies if grid else []) if not only_competency or cid == only_competency]
    rows = []
    for s in grid.students if grid else []:
        record = grid.records[s.id]
        cells = {cid: cell_view(record.competencies.get(cid)) for cid, _ in columns}
        if only_status and not any(c["status"] == only_status for c in cells.values()):
            continue
        rows.append({"student": s, "cells": cells, "concerns": record.concerns,
                     "support": record.needs_support()})
    return render(request, "teacher_mastery.html", user=user, classes=classes, class_id=chosen, columns=columns,
                  all_competencies=grid.competencies if grid else [], rows=rows, statuses=STATUSES,
                  status_words=STATUS_WORDS, filters={"competency_id": only_competency, "status": only_status})


@router.get("/admin/mastery", response_class=HTMLResponse)
async def school_page(request: Request, user: User = Depends(admin), db=Depends(session)):
    """The school at a glance: per competency, students by status and how many need support;
    who needs support most, each linked to their record."""
    overview = await mastery.school_overview(db, user.school_id, request.app.state.runtime.settings,
                                             school_choice=await school_choice(db, user))
    return render(request, "admin_mastery.html", user=user, overview=overview, statuses=STATUSES,
                  status_words=STATUS_WORDS)


@router.get("/admin/mastery/students/{student_id}", response_class=HTMLResponse)
async def student_page(student_id: uuid.UUID, request: Request, user: User = Depends(admin), db=Depends(session)):
    """One student × every competency, for the school's admin."""
    if not await may_read_student(db, user, student_id):
        raise _missing()
    records = await mastery.records_of(db, [student_id], request.app.state.runtime.settings,
                                       school_choice=await school_choice(db, user))
    record = records[student_id]
    return render(request, "admin_mastery_student.html", user=user, student=await school.get_user(db, student_id),
                  record=record, cells={cid: cell_view(s) for cid, s in record.competencies.items()})


@router.get("/teacher/mastery/students/{student_id}/{competency_id}", response_class=HTMLResponse)
async def cell_history(student_id: uuid.UUID, competency_id: str, request: Request, user: User = Depends(teacher),
                       db=Depends(session)):
    """One student on one competency over time: each rating with its evidence; the flags. A
    fragment under HTMX (the grid's detail panel), a page otherwise."""
    if len(competency_id) > 100 or not await may_read_student(db, user, student_id):
        raise _missing()
    try:
        definition, entries = await mastery.history(db, student_id, competency_id)
    except NotFound:
        raise _missing() from None
    records = await mastery.records_of(db, [student_id], request.app.state.runtime.settings,
                                       school_choice=await school_choice(db, user))
    standing = records[student_id].competencies.get(competency_id)
    student = await school.get_user(db, student_id)
    # One piece of work (a release, a logged demonstration) is one entry, its criteria inside.
    groups: dict[tuple, dict] = {}
    for e in entries:
        key = (e.work_date, e.release_id, e.note, e.artifact_url, e.rated_by)
        group = groups.setdefault(key, {"work_date": e.work_date, "source": e.source, "rated_by": e.rated_by,
                                        "note": e.note, "artifact_url": e.artifact_url, "ratings": []})
        group["ratings"].append(e)
        if group["source"] == "missed":  # a demonstration that missed a criterion is still a demonstration
            group["source"] = e.source
    fragment = request.headers.get("hx-request") == "true"
    return render(request, "_mastery_cell.html" if fragment else "teacher_mastery_cell.html", user=user,
                  student=student, definition=definition, groups=list(groups.values())[::-1], cell=cell_view(standing),
                  standing=standing, class_id=request.query_params.get("class_id", ""),
                  portfolio_links=await portfolio.open_links(db, student_id),
                  invitations=await invitations.pending(db, user, student_id), invitation_languages=LANGUAGE_NAMES,
                  back=request.url.path + (f"?{request.url.query}" if request.url.query else ""))


@router.post("/teacher/mastery/dismissals")
async def dismiss(request: Request, user: User = Depends(teacher), db=Depends(session)):
    form = await request.form()
    back = f"/teacher/mastery?class_id={uuid_or_none(str(form.get('class_id') or '')) or ''}"
    try:
        dismissal = Dismissal(student_id=str(form.get("student_id") or ""), competency_id=str(form.get("competency_id") or ""),
                              kind=str(form.get("kind") or ""), cause=str(form.get("cause") or ""),
                              note=str(form.get("note") or ""))
        await mastery.dismiss(db, user, dismissal)
    except ValidationError:
        return flash.redirect(request, back, error="Say why you dismiss the flag: a note is needed.")
    except NotFound:
        raise _missing() from None
    except InvalidInput as exc:
        return flash.redirect(request, back, error=str(exc))
    return flash.redirect(request, back, notice="Flag dismissed. It comes back if its cause changes.")


# --- Log a demonstration ---------------------------------------------------------------------

@router.get("/teacher/ratings/new", response_class=HTMLResponse)
async def log_form(request: Request, user: User = Depends(teacher), db=Depends(session)):
    params = request.query_params
    classes = await reviews.classes_taught(db, user.id)
    class_id = uuid_or_none(params.get("class_id")) or (classes[0].id if classes else None)
    if class_id is not None and class_id not in {c.id for c in classes}:
        raise _missing()
    students = await ratings.students_of_class(db, class_id) if class_id else []
    competencies = await rubrics.current_titles(db)
    competency_id = params.get("competency_id") or (competencies[0][0] if competencies else "")
    version = await rubrics.current_version(db, competency_id) if len(competency_id) <= 100 else None
    if version is None and competencies:
        competency_id = competencies[0][0]
        version = await rubrics.current_version(db, competency_id)
    chosen = set(params.getlist("student_id"))
    return render(request, "teacher_log.html", user=user, classes=classes, class_id=class_id, students=students,
                  chosen=chosen, competencies=competencies, competency_id=competency_id,
                  definition=version.definition if version else None,
                  task={"note": params.get("note", "")[:5000], "artifact_url": params.get("artifact_url", "")[:2000],
                        "work_date": params.get("work_date") or date.today().isoformat(),
                        "source": params.get("source") or "teacher",
                        "criteria": set(params.getlist("criterion"))})


def _next_student(students: list[User], done: set[str]) -> str | None:
    """The first student after the last one just rated, in the class's order."""
    ids = [str(s.id) for s in students]
    last = max((ids.index(d) for d in done if d in ids), default=-1)
    return ids[last + 1] if last + 1 < len(ids) else None


@router.post("/teacher/ratings")
async def log_ratings(request: Request, user: User = Depends(teacher), db=Depends(session)):
    """Save the demonstration. "Save and next student" comes back to the form with the same
    task, competency and criteria, and the next student in the class ticked."""
    from urllib.parse import urlencode

    form = await request.form()
    class_id = uuid_or_none(str(form.get("class_id") or ""))
    if class_id is None or await class_access(db, user, class_id) != "full":
        raise _missing()
    competency_id = str(form.get("competency_id") or "")[:100]
    students = [str(s) for s in form.getlist("student_id")][:60]
    source = str(form.get("source") or "teacher")
    rated, missed = [], []
    for key, value in form.multi_items():
        if key.startswith("level:") and value:
            criterion = key.removeprefix("level:")[:100]
            if value == "missed":
                missed.append({"criterion_id": criterion})
            elif str(value).isdigit():
                rated.append({"criterion_id": criterion, "level": int(value)})
    task = {"class_id": str(class_id), "competency_id": competency_id, "source": source,
            "work_date": str(form.get("work_date") or ""), "note": str(form.get("note") or "")[:5000],
            "artifact_url": str(form.get("artifact_url") or "")[:2000]}
    criteria = [r["criterion_id"] for r in rated + missed]
    back = "/teacher/ratings/new?" + urlencode([*task.items(), *(("student_id", s) for s in students),
                                               *(("criterion", c) for c in criteria)])
    if not students or not (rated or missed):
        return flash.redirect(request, back, error="Pick at least one student and rate at least one criterion.")
    common = {"student_ids": students, "competency_id": competency_id, "work_date": task["work_date"],
              "note": task["note"], "artifact_url": task["artifact_url"] or None}
    try:
        entries = []
        if rated:
            entries.append(NewRatings(**common, source=source, ratings=rated))
        if missed:
            entries.append(NewRatings(**common, source="missed", ratings=missed))
        for entry in entries:
            await mastery.log_ratings(db, user, entry)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"] if not isinstance(p, int))
        return flash.redirect(request, back, error=f"{where or 'rating'}: {problem['msg']}")
    except NotFound:
        raise _missing() from None
    except (InvalidInput, Conflict) as exc:
        return flash.redirect(request, back, error=str(exc))
    done = f"Saved for {len(students)} student{'s' if len(students) != 1 else ''}."
    if form.get("then") == "next":
        following = _next_student(await ratings.students_of_class(db, class_id), set(students))
        url = "/teacher/ratings/new?" + urlencode([*task.items(), *((("student_id", following),) if following else ()),
                                                   *(("criterion", c) for c in criteria)])
        return flash.redirect(request, url, notice=done + ("" if following else " That was the last student in the class."))
    return flash.redirect(request, f"/teacher/mastery?class_id={class_id}", notice=done)
