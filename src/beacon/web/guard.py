"""At the door, before routing and sign-in: a browser write from another site is refused
(Origin), a request body has a size limit, and no text a person sends may carry NUL or an
unpaired UTF-16 surrogate (PostgreSQL refuses the first, UTF-8
cannot encode the second; either would fail deep inside a decision or a job). Refused with a
clear 4xx; nothing is stored.

Checked: the query string, JSON bodies (every string, keys included) and form bodies. Multipart
bodies carry files, whose bytes are the file's business: their names are checked where they
are read (``feedback/intake.read_upload``) and their text fields by the routes' own limits."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse

from beacon.db.actor import acting_session
from beacon.text import BAD_TEXT, unstorable

# A JSON or form body: the largest hand-in (200,000 characters) escaped, with room to spare.
MAX_BODY_BYTES = 2 * 1024 * 1024
# A multipart body: the largest upload (10 MB) and its form fields.
MAX_UPLOAD_BODY_BYTES = 11 * 1024 * 1024
# The only ways JSON text spells NUL or a surrogate: \u0000 or \uD800-\uDFFF (one fixed-width
# pattern: linear). A match is only a reason to look closer (a pair is a valid emoji).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_MAY_NEST_TOO_DEEP = 900  # Python's parser recurses once per level, up to about 1,000


def _bad_bytes(raw: bytes) -> bool:
    """Percent-decoded bytes that are not storable text."""
    if b"\x00" in raw:
        return True
    try:
        raw.decode("utf-8")  # a surrogate encoded in UTF-8 (ED A0 80...) is invalid UTF-8
    except UnicodeDecodeError:
        return True
    return False


def _bad_json(value) -> bool:
    stack = [value]  # iterative: any nesting depth costs no recursion
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if unstorable(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _cross_site(headers: dict[str, str], scope) -> bool:
    """A browser's write from another origin (login CSRF, or any cookie-authenticated form):
    browsers send Origin on every cross-origin POST. API clients with a bearer token carry no
    ambient credentials, so their Origin does not matter."""
    origin = headers.get("origin")
    if not origin or headers.get("authorization", "").lower().startswith("bearer "):
        return False
    if origin == "null":  # an opaque origin: trust only the browser's own word that it is ours
        return headers.get("sec-fetch-site") != "same-origin"
    own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
    return origin.rstrip("/").lower() != own.lower()


class RequestGuard:
    """Pure ASGI middleware: buffers a bounded body, checks it, and replays it to the app."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        # Who is acting is set at sign-in, for this request only (not whoever runs it next).
        token = acting_session.set(None)
        try:
            await self._guard(scope, receive, send)
        finally:
            acting_session.reset(token)

    async def _guard(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if _bad_bytes(unquote_to_bytes(scope.get("query_string", b""))):
            return await JSONResponse({"detail": BAD_TEXT}, 422)(scope, receive, send)
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if _cross_site(headers, scope):
            return await JSONResponse({"detail": "a request from another site was refused"}, 403)(scope, receive, send)
        if scope["method"] == "DELETE":
            return await self.app(scope, receive, send)
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        limit = MAX_UPLOAD_BODY_BYTES if kind == "multipart/form-data" else MAX_BODY_BYTES
        too_large = JSONResponse({"detail": f"the request is larger than {limit // (1024 * 1024)} MB"}, 413)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return await too_large(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await too_large(scope, receive, send)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        # Only a body that could carry NUL or a surrogate, or nest deeper than a parser can
        # follow, is parsed here (the route parses it anyway): otherwise there is nothing to find.
        if kind == "application/json" and (b"\x00" in body or _SUSPECT_ESCAPE.search(body)
                                           or body.count(b"[") + body.count(b"{") >= _MAY_NEST_TOO_DEEP):
            try:
                parsed = json.loads(body)
            except RecursionError:
                return await JSONResponse({"detail": "the JSON is nested too deeply"}, 422)(scope, receive, send)
            except ValueError:
                parsed = None  # not JSON: the route says so
            if _bad_json(parsed):
                return await JSONResponse({"detail": BAD_TEXT}, 422)(scope, receive, send)
        elif kind == "application/x-www-form-urlencoded" and _bad_bytes(unquote_to_bytes(body.replace(b"+", b" "))):
            return await JSONResponse({"detail": BAD_TEXT}, 422)(scope, receive, send)

        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),  # no inline script: every script is /static
    (b"x-content-type-options", b"nosniff"),
    # Ids in URLs never leave for another site. ("no-referrer" would make browsers send
    # "Origin: null" on our own forms, which the cross-site check must then refuse.)
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Pure ASGI middleware: the headers above on every response, and ``Cache-Control:
    no-store`` on everything but static files (pages and API answers carry student work)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control" or static]
                headers += HEADERS
                headers.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
