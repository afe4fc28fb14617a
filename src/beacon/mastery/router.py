"""The mastery record over the API: a student's standing on every competency with evidence. A
student reads their own, a teacher the students of their classes, an admin their school's;
anyone else gets 404, as for anything that does not exist."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from fastapi import APIRouter, Depends, HTTPException, Request, status

from beacon.mastery import service
from beacon.school import repository as school
from beacon.school.auth import require, session
from beacon.school.models import User

router = APIRouter(prefix="/api/v1/mastery", tags=["mastery"])
reader = require("student", "teacher", "admin")


async def _may_read(db, user: User, student_id: uuid.UUID) -> bool:
    if user.role == "student":
        return user.id == student_id
    if user.role == "teacher":
        return await school.teaches(db, user.id, student_id)
    student = await school.get_user(db, student_id)
    return student is not None and student.role == "student" and student.school_id == user.school_id


@router.get("/students/{student_id}")
async def student_record(student_id: uuid.UUID, request: Request, user: User = Depends(reader),
                         db=Depends(session)) -> dict:
    """Per competency: status, the value on the continuum, each criterion's value and evidence
    count against the requirement, and what keeps it from met."""
    if not await _may_read(db, user, student_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    record = await service.record_of(db, student_id, request.app.state.runtime.settings)
    return {"student_id": str(student_id),
            "competencies": {cid: asdict(standing) for cid, standing in sorted(record.items())}}
