"""One-time messages after a redirect ("Assignment set", "Tick the drafts first"), carried in a
short-lived signed cookie rather than the URL: a link can no longer put an attacker's words on
a real Beacon page (``?notice=...`` did)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

FLASH_COOKIE = "beacon_flash"
_SALT = "beacon.flash"
MAX_AGE_S = 120


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.runtime.settings.signing_key(), salt=_SALT)


def redirect(request: Request, url: str, *, notice: str | None = None, error: str | None = None) -> RedirectResponse:
    """A 303 to ``url`` that shows ``notice`` or ``error`` once on the page it lands on."""
    response = RedirectResponse(url, 303)
    if notice or error:
        value = _serializer(request).dumps({"notice": (notice or "")[:500], "error": (error or "")[:500]})
        response.set_cookie(FLASH_COOKIE, value, max_age=MAX_AGE_S, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return response


def read(request: Request) -> dict:
    """The message waiting for this page, if any (the caller's response clears it)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return {}
    try:
        data = _serializer(request).loads(raw, max_age=MAX_AGE_S)
    except BadSignature:
        return {}
    return {k: v for k, v in data.items() if v}
