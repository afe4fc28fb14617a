"""The mastery record over the API.

- A student reads their own record; a teacher their classes' students and grids; an admin their
  school's; a coach a class's aggregates only (how many students stand where, never who).
- Teachers write: a demonstration logged by hand, missed, override, baseline, correction
  (``POST /api/v1/ratings``), and dismiss a needs-support flag with a note.
- Anyone else gets 404, as for anything that does not exist."""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from collections import Counter

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import Response

from beacon.errors import Conflict, InvalidInput, NotFound
from beacon.mastery import goals, portfolio
from beacon.mastery import repository as ratings_repository
from beacon.mastery import service
from beacon.mastery.calculation import STATUSES
from beacon.mastery.schemas import Dismissal, NewGoal, NewRatings, NewReflection
from beacon.mastery.service import school_choice
from beacon.school import repository as school
from beacon.school.auth import require, session
from beacon.school.models import User

router = APIRouter(prefix="/api/v1/mastery", tags=["mastery"])
ratings_router = APIRouter(prefix="/api/v1/ratings", tags=["mastery"])
reader = require("student", "teacher", "admin", "guardian")
teacher_only = require("teacher")


def _missing() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "not found")


@contextlib.contextmanager
def _as_http():
    """A service's refusal as its answer: 404 out of scope, 409 already done, 422 bad input."""
    try:
        yield
    except NotFound:
        raise _missing() from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


async def may_read_student(db, user: User, student_id: uuid.UUID) -> bool:
    if user.role == "student":
        return user.id == student_id
    if user.role == "teacher":
        return await school.teaches(db, user.id, student_id)
    if user.role == "guardian":
        return await school.is_guardian_of(db, user.id, student_id)
    student = await school.get_user(db, student_id)
    return (user.role == "admin" and student is not None and student.role == "student"
            and student.school_id == user.school_id)


async def class_access(db, user: User, class_id: uuid.UUID) -> str | None:
    """"full" (its teachers, the school's admins), "aggregate" (the school's coaches) or None."""
    klass = await school.get_class(db, class_id)
    if klass is None or klass.school_id != user.school_id:
        return None
    if user.role == "admin":
        return "full"
    if user.role == "coach":
        return "aggregate"
    if user.role == "teacher":
        member = await school.enrollment(db, class_id, user.id)
        return "full" if member is not None and member.role_in_class == "teacher" else None
    return None


@router.get("/students/{student_id}")
async def student_record(student_id: uuid.UUID, request: Request, user: User = Depends(reader),
                         db=Depends(session)) -> dict:
    """Per competency: status, the value on the continuum, each criterion's value and evidence
    count against the requirement, what keeps it from met, growth, and needs-support flags."""
    if not await may_read_student(db, user, student_id):
        raise _missing()
    records = await service.records_of(db, [student_id], request.app.state.runtime.settings,
                                       school_choice=await school_choice(db, user))
    record = records[student_id]
    # Needs-support flags are for the staff who act on them; a student and a family read the progress.
    staff = user.role in ("teacher", "admin")
    return {"student_id": str(student_id),
            "competencies": {cid: s.as_json(support=staff) for cid, s in record.competencies.items()},
            "support": [service.concern_json(c) for c in record.concerns] if staff else []}


@router.get("/students/{student_id}/competencies/{competency_id}")
async def student_history(student_id: uuid.UUID, competency_id: str, user: User = Depends(reader),
                          db=Depends(session)) -> dict:
    """The ratings behind one cell, oldest first, each with its evidence."""
    if len(competency_id) > 100 or not await may_read_student(db, user, student_id):
        raise _missing()
    try:
        definition, entries = await service.history(db, student_id, competency_id)
    except NotFound:
        raise _missing() from None
    return {"student_id": str(student_id), "competency_id": competency_id, "title": definition["title"],
            "ratings": [{**e.__dict__, "work_date": e.work_date.isoformat()} for e in entries]}


def _cell(standing: service.Standing | None) -> dict:
    if standing is None:
        return {"status": "not_started"}
    return standing.as_json()


@router.get("/classes/{class_id}")
async def class_record(class_id: uuid.UUID, request: Request, user: User = Depends(require("teacher", "admin", "coach")),
                       db=Depends(session)) -> dict:
    """The class grid as data: each student's standing on each competency. A coach gets the
    counts per competency and status only."""
    access = await class_access(db, user, class_id)
    if access is None:
        raise _missing()
    grid = await service.class_grid(db, class_id, request.app.state.runtime.settings,
                                    school_choice=await school_choice(db, user))
    competencies = [{"id": cid, "title": title} for cid, title in grid.competencies]
    if access == "aggregate":
        counts = {cid: Counter() for cid, _ in grid.competencies}
        for record in grid.records.values():
            for cid, _ in grid.competencies:
                standing = record.competencies.get(cid)
                counts[cid][standing.status.status if standing else "not_started"] += 1
        return {"class_id": str(class_id), "students": len(grid.students), "competencies": competencies,
                "counts": {cid: {s: c[s] for s in STATUSES} for cid, c in counts.items()}}
    return {"class_id": str(class_id), "competencies": competencies, "students": [
        {"id": str(s.id), "name": s.full_name, "support": [service.concern_json(c) for c in grid.records[s.id].concerns],
         "cells": {cid: _cell(grid.records[s.id].competencies.get(cid)) for cid, _ in grid.competencies}}
        for s in grid.students]}


def spreadsheet_safe(value) -> str:
    """A spreadsheet must not run a cell: text starting like a formula is quoted."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: list[str], rows, filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(v) for v in row])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def _full_grid(db, request, user, class_id) -> service.Grid:
    if await class_access(db, user, class_id) != "full":
        raise _missing()
    return await service.class_grid(db, class_id, request.app.state.runtime.settings,
                                    school_choice=await school_choice(db, user))


@router.get("/classes/{class_id}/status.csv")
async def class_status_csv(class_id: uuid.UUID, request: Request, user: User = Depends(require("teacher", "admin")),
                           db=Depends(session)) -> Response:
    """Status per student × competency, with the numbers behind it."""
    grid = await _full_grid(db, request, user, class_id)
    rows = []
    for s in grid.students:
        for cid, title in grid.competencies:
            st = grid.records[s.id].competencies.get(cid)
            rows.append([s.full_name, s.email, cid, title, st.status.status if st else "not_started",
                         f"{st.status.value:.2f}" if st and st.status.value is not None else "",
                         st.status.threshold if st else "", st.status.required if st else "",
                         sum(st.status.evidence.values()) if st else 0,
                         " ".join(st.status.missing) if st else "",
                         f"{st.growth.competency:+.2f}" if st and st.growth.competency is not None else "",
                         st.method if st else "", len(st.concerns) if st else 0])
    return _csv(["student", "email", "competency_id", "competency", "status", "value", "threshold",
                 "evidence_required", "ratings", "short_of_evidence", "growth", "method", "needs_support"],
                rows, f"mastery-status-{class_id}.csv")


@router.get("/classes/{class_id}/ratings.csv")
async def class_ratings_csv(class_id: uuid.UUID, request: Request, user: User = Depends(require("teacher", "admin")),
                            db=Depends(session)) -> Response:
    """Every rating that counts for the class's students, oldest work first."""
    if await class_access(db, user, class_id) != "full":
        raise _missing()
    students = await ratings_repository.students_of_class(db, class_id)
    entries = await service.ratings_of_students(db, [s.id for s in students])
    rows = [[s.full_name, s.email, e.competency_id, e.criterion_id, e.level, e.work_date.isoformat(), e.source,
             e.rated_by, e.note or "", e.artifact_url or "", e.release_id or "",
             " | ".join(q["quote"] for q in e.evidence), e.id, e.supersedes_id or ""]
            for s in students for e in entries[s.id]]
    return _csv(["student", "email", "competency_id", "criterion_id", "level", "work_date", "source", "rated_by",
                 "note", "artifact_url", "release_id", "evidence", "rating_id", "supersedes_id"],
                rows, f"mastery-ratings-{class_id}.csv")


@router.get("/school")
async def school_overview(request: Request, user: User = Depends(require("admin", "coach")), db=Depends(session)) -> dict:
    """The caller's school at a glance: per competency, how many students stand where and how many
    need support; for admins, who needs support most (coaches get the counts only)."""
    overview = await service.school_overview(db, user.school_id, request.app.state.runtime.settings,
                                             school_choice=await school_choice(db, user))
    return {"students": overview.students, "competencies": overview.by_competency,
            "needing_support": [{"id": str(s.id), "name": s.full_name, "concerns": n}
                                for s, n in overview.needing_support] if user.role == "admin" else []}


@router.post("/support/dismissals", status_code=status.HTTP_201_CREATED)
async def dismiss_flag(dismissal: Dismissal, user: User = Depends(teacher_only), db=Depends(session)) -> dict:
    with _as_http():
        row = await service.dismiss(db, user, dismissal)
    return {"id": str(row.id)}


@ratings_router.post("", status_code=status.HTTP_201_CREATED)
async def log_ratings(entry: NewRatings, user: User = Depends(teacher_only), db=Depends(session),
                      idempotency_key: str | None = Header(default=None, max_length=200)) -> dict:
    """Log a demonstration (or missed, override, baseline, a correction) for students you teach.
    With an ``Idempotency-Key`` header, sending the same entry again writes nothing twice."""
    with _as_http():
        rows = await service.log_ratings(db, user, entry, idempotency_key=idempotency_key)
    return {"ids": [str(r.id) for r in rows]}


# --- A student's goals and reflections (issue 15) --------------------------------------------

goals_router = APIRouter(prefix="/api/v1/goals", tags=["mastery"])
reflections_router = APIRouter(prefix="/api/v1/releases", tags=["mastery"])
student_only = require("student")


def goal_json(goal) -> dict:
    return {"id": str(goal.id), "student_id": str(goal.student_id), "competency_id": goal.competency_id,
            "text": goal.text, "target_level": goal.target_level, "created_at": goal.created_at.isoformat()}


def reflection_json(reflection) -> dict:
    return {"id": str(reflection.id), "release_id": str(reflection.release_id), "text": reflection.text,
            "created_at": reflection.created_at.isoformat(), "updated_at": reflection.updated_at.isoformat()}


@goals_router.post("", status_code=status.HTTP_201_CREATED)
async def set_goal(goal: NewGoal, user: User = Depends(student_only), db=Depends(session)) -> dict:
    """Set or change your goal on a competency (a change withdraws the one before)."""
    with _as_http():
        row = await goals.set_goal(db, user, goal.competency_id, goal.text, goal.target_level)
        await db.refresh(row)
    return goal_json(row)


@goals_router.get("")
async def open_goals(student_id: uuid.UUID | None = None, user: User = Depends(reader), db=Depends(session)) -> list[dict]:
    """A student's open goals: your own, your child's, your student's; anyone else's is 404."""
    student_id = student_id or user.id
    if not await may_read_student(db, user, student_id):
        raise _missing()
    return [goal_json(g) for g in sorted((await goals.open_goals(db, student_id)).values(), key=lambda g: g.competency_id)]


@goals_router.post("/{goal_id}/withdraw")
async def withdraw_goal(goal_id: uuid.UUID, user: User = Depends(student_only), db=Depends(session)) -> dict:
    with _as_http():
        row = await goals.withdraw_goal(db, user, goal_id)
    return {"id": str(row.id), "withdrawn": True}


@goals_router.post("/{goal_id}/achieve")
async def achieve_goal(goal_id: uuid.UUID, user: User = Depends(student_only), db=Depends(session)) -> dict:
    """Mark your open goal reached (409 when it is already closed)."""
    with _as_http():
        row = await goals.achieve_goal(db, user, goal_id)
    return {"id": str(row.id), "achieved": True, "achieved_at": row.achieved_at.isoformat()}


@reflections_router.post("/{release_id}/reflection")
async def write_reflection(release_id: uuid.UUID, reflection: NewReflection, user: User = Depends(student_only),
                           db=Depends(session)) -> dict:
    """Answer the feedback's revision question; rewrite it until you hand in a revision (then 409)."""
    with _as_http():
        row = await goals.write_reflection(db, user, release_id, reflection.text)
    return reflection_json(row)


# --- Portfolio links: read-only progress for anyone the student gives the link to --------------

portfolio_router = APIRouter(prefix="/api/v1/portfolio-links", tags=["mastery"])
manager = require("student", "teacher")


@portfolio_router.post("", status_code=status.HTTP_201_CREATED)
async def make_portfolio_link(user: User = Depends(student_only), db=Depends(session)) -> dict:
    """A new link to your progress. The token is in this answer only: Beacon keeps its hash."""
    link, token = await portfolio.make_link(db, user)
    return {"id": str(link.id), "token": token, "path": f"/portfolio/{token}"}


@portfolio_router.get("")
async def portfolio_links(student_id: uuid.UUID | None = None, user: User = Depends(manager), db=Depends(session)) -> list[dict]:
    """A student's open links (never their tokens): your own, or a student's you teach."""
    student_id = student_id or user.id
    if not await portfolio.may_manage(db, user, student_id):
        raise _missing()
    return [{"id": str(link.id), "created_at": link.created_at.isoformat()}
            for link in await portfolio.open_links(db, student_id)]


@portfolio_router.post("/{link_id}/revoke")
async def revoke_portfolio_link(link_id: uuid.UUID, user: User = Depends(manager), db=Depends(session)) -> dict:
    with _as_http():
        link = await portfolio.revoke_link(db, user, link_id)
    return {"id": str(link.id), "revoked": True}
