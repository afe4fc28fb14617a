"""Who is asking: accounts with argon2-hashed passwords, signed bearer tokens for the API, and
one place where roles are enforced (the ``require`` dependency), never per handler.

Anything a user may not see answers 404, exactly like something that does not exist."""

from __future__ import annotations

import base64
import hmac
import secrets
import uuid
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, status
from itsdangerous import BadSignature, URLSafeTimedSerializer

from beacon.db.actor import acting_session
from beacon.school.accounts import (  # noqa: F401  (passwords live with accounts; re-exported)
    check_password,
    hash_password,
    hash_password_off_loop,
    password_matches,
)
from beacon.school.models import User
from beacon.school.repository import user_of_session
from beacon.text import check_form

_TOKEN_SALT = "beacon.api-token"
_SESSION_SALT = "beacon.session"
SESSION_COOKIE = "beacon_session"


def serializers(settings) -> tuple[URLSafeTimedSerializer, URLSafeTimedSerializer]:
    """What signs bearer tokens and session cookies (also read, unchecked against the database,
    by the rate limits)."""
    key = settings.signing_key()
    return URLSafeTimedSerializer(key, salt=_TOKEN_SALT), URLSafeTimedSerializer(key, salt=_SESSION_SALT)


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return serializers(request.app.state.runtime.settings)[0]


def issue_token(request: Request, session_id: uuid.UUID) -> str:
    """A bearer token: the signed id of a server-side session (revocable)."""
    return _serializer(request).dumps(str(session_id))


def client_address(request: Request) -> str | None:
    """The caller's network address (uvicorn applies X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else None


def _unauthorized() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first", headers={"WWW-Authenticate": "Bearer"})


async def session(request: Request):
    """The request owns the transaction: committed when the handler returns, rolled back on error."""
    async with request.app.state.runtime.db.transaction() as db_session:
        yield db_session


def _session_serializer(request: Request) -> URLSafeTimedSerializer:
    return serializers(request.app.state.runtime.settings)[1]


def session_cookie(request: Request, session_id: uuid.UUID) -> str:
    """A signed cookie value carrying the server-side session's id and its CSRF token."""
    return _session_serializer(request).dumps({"sid": str(session_id), "csrf": secrets.token_urlsafe(24)})


CSRF_MAX_CHARS = 200  # a masked token is 88 characters; anything far longer is not one


def masked_csrf(token: str) -> str:
    """The session's CSRF token as a page carries it: XORed with a fresh random pad for each
    answer, so a compressed page never repeats a secret an attacker could guess byte by byte
    (BREACH; pages are gzipped). ``csrf_matches`` takes the pad off again."""
    raw = token.encode()
    pad = secrets.token_bytes(len(raw))
    return base64.urlsafe_b64encode(pad + bytes(a ^ b for a, b in zip(pad, raw, strict=True))).decode()


def csrf_matches(sent: str | None, token: str | None) -> bool:
    """A masked token sent back (a form field or X-CSRF-Token) is the session's, in constant time."""
    if not sent or not token or len(sent) > CSRF_MAX_CHARS:
        return False
    try:
        both = base64.urlsafe_b64decode(sent.encode())
    except ValueError:
        return False
    raw = token.encode()
    if len(both) != 2 * len(raw):
        return False
    pad, masked = both[:len(raw)], both[len(raw):]
    return hmac.compare_digest(bytes(a ^ b for a, b in zip(pad, masked, strict=True)), raw)


def read_session(request: Request) -> dict | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        return _session_serializer(request).loads(raw, max_age=request.app.state.runtime.settings.token_max_age_s)
    except BadSignature:
        return None


async def current_user(request: Request) -> User:
    """A bearer token (API) or a session cookie (pages). A cookie-authenticated request that
    changes anything must carry the session's CSRF token (form field or X-CSRF-Token header)."""
    settings = request.app.state.runtime.settings
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        try:
            session_id = uuid.UUID(_serializer(request).loads(token, max_age=settings.token_max_age_s))
        except (BadSignature, ValueError):
            raise _unauthorized() from None
    else:
        data = read_session(request)
        if data is None:
            raise _unauthorized()
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.headers.get("x-csrf-token")
            if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                form = await request.form()
                check_form(form)
                sent = form.get("csrf")
            if not csrf_matches(sent if isinstance(sent, str) else None, data.get("csrf")):
                raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token: reload the page")
        request.state.csrf = data.get("csrf")
        try:
            session_id = uuid.UUID(str(data.get("sid")))
        except ValueError:
            raise _unauthorized() from None
    # Its own short transaction: holding a connection for the whole request would let a burst
    # of decisions (which open their own transactions) take every connection and wait forever.

    async with request.app.state.runtime.db.transaction() as db:
        user = await user_of_session(db, session_id)  # a signed-out or revoked session: no one
    if user is None:
        raise _unauthorized()
    request.state.session_id = session_id

    acting_session.set(session_id)  # audit events of this request are in this person's name
    return user


def require(*roles: str, signed_in: Callable = current_user) -> Callable:
    """Dependency: the signed-in user (as ``signed_in`` finds them), who must hold one of ``roles``."""

    async def dependency(user: User = Depends(signed_in)) -> User:
        if user.role not in roles:
            # Not 403: a student probing teacher routes learns nothing about what exists.
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
        return user

    return dependency
