"""Students' own work: submit it, see where it stands. Drafts never appear here."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from beacon.errors import BeaconError, InvalidInput, NotFound
from beacon.feedback import repository
from beacon.feedback.intake import MAX_UPLOAD_BYTES, read_upload, upload_status
from beacon.feedback.service import submit_for_feedback
from beacon.school.auth import require, session
from beacon.school.models import User
from beacon.text import check_form

router = APIRouter(prefix="/api/v1", tags=["student work"])
student = require("student")

# What a student is told, in their words: never a draft's content.
STATUS_FOR_STUDENT = {
    "queued": "with your teacher",
    "drafting": "with your teacher",
    "pending_review": "with your teacher",
    "failed": "with your teacher",
    "released": "feedback ready",
    "returned": "returned by your teacher",
}


class NewSubmission(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=1_000_000)  # and at most BEACON_MAX_WORK_CHARS (413)
    revision_of_id: uuid.UUID | None = None
    assignment_id: uuid.UUID | None = None  # an assignment of your class, or a project you started


def _view(row) -> dict:
    return {"id": str(row.id), "title": row.title, "status": STATUS_FOR_STUDENT[row.status],
            "revision_of_id": str(row.revision_of_id) if row.revision_of_id else None,
            "assignment_id": str(row.assignment_id) if row.assignment_id else None,
            "submitted_at": row.created_at.isoformat()}


@router.post("/submissions", status_code=status.HTTP_202_ACCEPTED)
async def create_submission(new: NewSubmission, request: Request, user: User = Depends(student), db=Depends(session)) -> dict:
    limit = request.app.state.runtime.settings.max_work_chars
    if len(new.body) > limit:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"the work is over {limit:,} characters")
    try:
        row = await submit_for_feedback(db, student_id=user.id, title=new.title, body=new.body,
                                        revision_of_id=new.revision_of_id, assignment_id=new.assignment_id)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    await db.refresh(row)
    return _view(row)


@router.post("/submissions/upload", status_code=status.HTTP_202_ACCEPTED)
async def upload_submission(request: Request, user: User = Depends(student), db=Depends(session)) -> dict:
    """Multipart: ``file`` (.txt, .md, .docx, .pdf) and an optional ``title``."""
    from starlette.datastructures import UploadFile


    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send the file as multipart/form-data")

    form = await request.form()
    check_form(form)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "attach the work as the 'file' field")
    try:
        body = await read_upload(upload.filename, upload.content_type or "",
                           await upload.read(MAX_UPLOAD_BYTES + 1), request.app.state.runtime.settings.max_work_chars)
        row = await submit_for_feedback(db, student_id=user.id, title=str(form.get("title") or upload.filename),
                                        body=body, source_filename=upload.filename)
    except BeaconError as exc:
        raise HTTPException(upload_status(exc), str(exc)) from None
    await db.refresh(row)
    return _view(row)


@router.get("/submissions")
async def my_submissions(user: User = Depends(student), db=Depends(session)) -> list[dict]:
    return [_view(row) for row in await repository.submissions_of(db, user.id)]
