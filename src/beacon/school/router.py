"""Signing in, saying who you are, and (for admins) managing the school's people and classes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from beacon.errors import InvalidInput, NotFound
from beacon.school import repository, service
from beacon.school.models import User
from beacon.school.schemas import Membership, NewAssignment, NewClass, NewPerson
from beacon.web.auth import (
    check_password,
    current_user,
    hash_password_off_loop,
    issue_token,
    require,
    session,
)

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Credentials(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=200)


@router.post("/auth/token")
async def sign_in(credentials: Credentials, request: Request, db=Depends(session)) -> dict:
    user = await repository.user_by_email(db, credentials.email)
    if not await check_password(user, credentials.password):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    return {"token": issue_token(request, user), "token_type": "bearer", "role": user.role}


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
