"""Signing in, saying who you are, and (for admins) managing the school's people and classes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from beacon.errors import InvalidInput, NotFound
from beacon.school import accounts, repository, roster, service
from beacon.school.auth import (
    check_password,
    client_address,
    current_user,
    hash_password_off_loop,
    issue_token,
    require,
    session,
)
from beacon.school.models import User
from beacon.school.schemas import Membership, NewAssignment, NewClass, NewPerson
from beacon.text import check_form

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Credentials(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=200)


@router.post("/auth/token", responses={429: {"description": "too many failed sign-ins"}})
async def sign_in(credentials: Credentials, request: Request) -> dict:
    """A bearer token for a server-side session (``POST /auth/logout`` revokes it). Failed
    sign-ins are limited per account and per address (429 with Retry-After)."""
    db = request.app.state.runtime.db
    try:
        user = await accounts.sign_in(db, credentials.email, credentials.password, client_address(request))
    except accounts.TooManyAttempts as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc),
                            headers={"Retry-After": str(exc.retry_after_s)}) from None
    except InvalidInput:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, accounts.WRONG) from None
    async with db.transaction() as session:
        opened = await accounts.open_session(session, user, "token", request.app.state.runtime.settings.token_max_age_s)
    return {"token": issue_token(request, opened), "token_type": "bearer", "role": user.role}


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(request: Request, user: User = Depends(current_user), db=Depends(session)) -> None:
    """Revoke this token's (or cookie's) session on the server."""
    await accounts.close_session(db, user.id, request.state.session_id)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(change: PasswordChange, request: Request, user: User = Depends(current_user),
                          db=Depends(session)) -> None:
    """Change your own password; your other sessions are signed out."""
    if not await check_password(user, change.current_password):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the current password is wrong")
    await accounts.set_password(db, user, await hash_password_off_loop(change.new_password),
                                keep=request.state.session_id)


@router.get("/me")
async def me(user: User = Depends(current_user)) -> dict:
    return {"id": str(user.id), "email": user.email, "full_name": user.full_name, "role": user.role}


# --- Admin: people and classes of the admin's own school --------------------------------------

admin = require("admin")


def _person_view(user: User) -> dict:
    return {"id": str(user.id), "email": user.email, "full_name": user.full_name, "role": user.role,
            "can_sign_in": user.password_hash is not None}


@router.get("/admin/people", tags=["admin"])
async def people(user: User = Depends(admin), db=Depends(session)) -> list[dict]:
    return [_person_view(p) for p in await repository.people_of_school(db, user.school_id)]


@router.post("/admin/people", tags=["admin"], status_code=status.HTTP_201_CREATED)
async def add_person(new: NewPerson, user: User = Depends(admin), db=Depends(session)) -> dict:
    try:
        person = await service.add_person(db, user, new, await hash_password_off_loop(new.password) if new.password else None)
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _person_view(person)


class PasswordReset(BaseModel):
    new_password: str = Field(min_length=8, max_length=200)


@router.post("/admin/people/{user_id}/password", tags=["admin"])
async def reset_password(user_id: uuid.UUID, reset: PasswordReset, user: User = Depends(admin),
                         db=Depends(session)) -> dict:
    """Set a person's password (of this admin's school); every session of theirs is signed out."""
    person = await repository.get_user(db, user_id)
    if person is None or person.school_id != user.school_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    revoked = await accounts.set_password(db, person, await hash_password_off_loop(reset.new_password), actor=user)
    return {"id": str(person.id), "sessions_revoked": revoked}


@router.get("/admin/classes", tags=["admin"])
async def classes(user: User = Depends(admin), db=Depends(session)) -> list[dict]:
    return [{"id": str(c.id), "name": c.name, "subject": c.subject,
             "members": [{"user_id": str(m.id), "full_name": m.full_name, "role_in_class": role} for m, role in members]}
            for c, members in await repository.classes_of_school(db, user.school_id)]


@router.post("/admin/classes", tags=["admin"], status_code=status.HTTP_201_CREATED)
async def add_class(new: NewClass, user: User = Depends(admin), db=Depends(session)) -> dict:
    try:
        klass = await service.add_class(db, user, new)
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return {"id": str(klass.id), "name": klass.name, "subject": klass.subject, "members": []}


@router.put("/admin/classes/{class_id}/members/{user_id}", tags=["admin"])
async def add_member(class_id: uuid.UUID, user_id: uuid.UUID, membership: Membership,
                     user: User = Depends(admin), db=Depends(session)) -> dict:
    return await _membership(db, user, class_id, user_id, membership.role_in_class)


@router.delete("/admin/classes/{class_id}/members/{user_id}", tags=["admin"])
async def remove_member(class_id: uuid.UUID, user_id: uuid.UUID, user: User = Depends(admin), db=Depends(session)) -> dict:
    return await _membership(db, user, class_id, user_id, None)


async def _membership(db, admin_user: User, class_id, user_id, role_in_class) -> dict:
    try:
        await service.set_membership(db, admin_user, class_id, user_id, role_in_class)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"class_id": str(class_id), "user_id": str(user_id), "role_in_class": role_in_class}



@router.put("/admin/guardians/{guardian_id}/students/{student_id}", tags=["admin"])
async def link_guardian(guardian_id: uuid.UUID, student_id: uuid.UUID, user: User = Depends(admin),
                        db=Depends(session)) -> dict:
    return await _guardianship(db, user, guardian_id, student_id, True)


@router.delete("/admin/guardians/{guardian_id}/students/{student_id}", tags=["admin"])
async def unlink_guardian(guardian_id: uuid.UUID, student_id: uuid.UUID, user: User = Depends(admin),
                          db=Depends(session)) -> dict:
    return await _guardianship(db, user, guardian_id, student_id, False)


async def _guardianship(db, admin_user: User, guardian_id, student_id, linked: bool) -> dict:
    try:
        await service.link_guardian(db, admin_user, guardian_id, student_id, linked)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"guardian_id": str(guardian_id), "student_id": str(student_id), "linked": linked}


@router.post("/admin/roster", tags=["admin"], responses={422: {"description": "problems per file, line and field"}})
async def import_roster(request: Request, user: User = Depends(admin), db=Depends(session)) -> dict:
    """Multipart: a OneRoster 1.1 ``users`` CSV, optional ``classes`` and ``enrollments``;
    ``dry_run=true`` reports what would change without changing it. All or nothing: any problem is
    a 422 listing each (file, line, field, message) and nothing is written (``school/roster.py``)."""
    form = await request.form()
    check_form(form)
    files, dry_run = await roster.read_uploads(form)
    try:
        return await roster.import_roster(db, user, files, dry_run=dry_run)
    except roster.RosterInvalid as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.as_dict()) from None


# --- Teachers set assignments for their classes -----------------------------------------------

teacher = require("teacher")


@router.post("/assignments", tags=["assignments"], status_code=status.HTTP_201_CREATED)
async def set_assignment(new: NewAssignment, user: User = Depends(teacher), db=Depends(session)) -> dict:
    try:
        assignment = await service.set_assignment(db, user, new)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"id": str(assignment.id), "class_id": str(assignment.class_id), "title": assignment.title,
            "competency_ids": list(dict.fromkeys(new.competency_ids))}


@router.get("/assignments", tags=["assignments"])
async def my_assignments(user: User = Depends(current_user), db=Depends(session)) -> list[dict]:
    """A teacher's assignments for their classes; a student's, for theirs (and their projects)."""
    rows = (await repository.assignments_taught(db, user.id) if user.role == "teacher"
            else await repository.assignments_for_student(db, user.id) if user.role == "student" else [])
    return [{"id": str(a.id), "class_id": str(a.class_id), "title": a.title, "instructions": a.instructions,
             "personal": a.student_id is not None} for a in rows]
