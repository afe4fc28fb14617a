"""Who is asking: accounts with argon2-hashed passwords, signed bearer tokens for the API, and
one place where roles are enforced (the ``require`` dependency), never per handler.

Anything a user may not see answers 404, exactly like something that does not exist."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request, status
from itsdangerous import BadSignature, URLSafeTimedSerializer

from beacon.school.models import User

_hasher = PasswordHasher()
_TOKEN_SALT = "beacon.api-token"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.runtime.settings.signing_key(), salt=_TOKEN_SALT)


def issue_token(request: Request, user: User) -> str:
    return _serializer(request).dumps(str(user.id))


def _unauthorized() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first", headers={"WWW-Authenticate": "Bearer"})


async def session(request: Request):
    """The request owns the transaction: committed when the handler returns, rolled back on error."""
    async with request.app.state.runtime.db.transaction() as db_session:
        yield db_session


async def current_user(request: Request, db=Depends(session)) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized()
    settings = request.app.state.runtime.settings
    try:
        user_id = uuid.UUID(_serializer(request).loads(token, max_age=settings.token_max_age_s))
    except (BadSignature, ValueError):
        raise _unauthorized() from None
    user = await db.get(User, user_id)
    if user is None:
        raise _unauthorized()
    return user


def require(*roles: str) -> Callable:
    """Dependency: the signed-in user, who must hold one of ``roles``."""

    async def dependency(user: User = Depends(current_user)) -> User:
        if user.role not in roles:
            # Not 403: a student probing teacher routes learns nothing about what exists.
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
        return user

    return dependency
