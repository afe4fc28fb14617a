"""Signing in and saying who you are."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from beacon.school import repository
from beacon.school.models import User
from beacon.web.auth import current_user, issue_token, password_matches, session

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Credentials(BaseModel):
    email: str
    password: str


@router.post("/auth/token")
async def sign_in(credentials: Credentials, request: Request, db=Depends(session)) -> dict:
    user = await repository.user_by_email(db, credentials.email)
    if user is None or not password_matches(user.password_hash, credentials.password):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    return {"token": issue_token(request, user), "token_type": "bearer", "role": user.role}


@router.get("/me")
async def me(user: User = Depends(current_user)) -> dict:
    return {"id": str(user.id), "email": user.email, "full_name": user.full_name, "role": user.role}
