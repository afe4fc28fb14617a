"""Rate limits at the door, before the body is read or anyone is looked up: no one person (or
address) can send Beacon more than a person could mean to.

Three kinds of limit (``limits``'s sliding-window counters, in this process's memory):

- *work*: handing in work, asking for projects and starting eval runs (each one costs a model
  run) per signed-in person;
- *sign-in*: attempts per network address (the database throttle also counts per account and
  holds across replicas);
- *requests*: everything else per person, or per address before sign-in.

A person is the session their bearer token or cookie names, the signature checked (no database
lookup); an unverifiable credential counts against its address. ``/healthz`` and static files
are not limited.

A refusal (429 here, and the 413 and 429 the guard and the sign-in throttle answer) is sent
after a short delay: a client that is refused cannot loop faster than once a second per
connection, so a flood of refusals costs the server little. Delays are bounded: past
``MAX_DELAYED`` refusals waiting at once, the rest are answered at once and the connection
closed."""

from __future__ import annotations

import asyncio
import math
import time
from functools import cached_property

from itsdangerous import BadSignature
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse

from beacon.config import Settings
from beacon.school.auth import SESSION_COOKIE, serializers

WORK = frozenset({
    ("POST", "/api/v1/submissions"), ("POST", "/api/v1/submissions/upload"),
    ("POST", "/api/v1/projects/requests"), ("POST", "/api/v1/coach/evals"),
    ("POST", "/student/submissions"), ("POST", "/student/projects/requests"), ("POST", "/coach/evals"),
})
SIGN_IN = frozenset({("POST", "/api/v1/auth/token"), ("POST", "/login")})
JOINING = "/invitations/"  # accepting a family's invitation makes an account and signs in: a sign-in
NOT_LIMITED = ("/healthz", "/static/")
REFUSALS = (413, 429)
MAX_DELAYED = 256


class RateLimits:
    """Pure ASGI middleware; see the module's docstring."""

    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.work = parse_many(settings.rate_limit_work)
        self.sign_in = parse_many(settings.rate_limit_sign_in)
        self.requests = parse_many(settings.rate_limit_requests)
        self.delayed = 0
        self._slots: tuple[int, asyncio.Semaphore] | None = None

    @cached_property
    def _signers(self):
        """Token and cookie serializers: made on first use (the key may live in data_dir)."""
        return serializers(self.settings)

    def _who(self, scope) -> str:
        """The session a verified credential names, or the caller's address."""
        token_signer, cookie_signer = self._signers
        max_age = self.settings.token_max_age_s
        headers = dict(scope["headers"])
        try:
            scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                return "session:" + str(token_signer.loads(token, max_age=max_age))
            cookie = cookie_parser(headers.get(b"cookie", b"").decode("latin-1")).get(SESSION_COOKIE)
            if cookie:
                return "session:" + str(cookie_signer.loads(cookie, max_age=max_age).get("sid"))
        except (BadSignature, AttributeError):
            pass
        return "address:" + _address(scope)

    def _refused(self, items, key: str) -> int | None:
        """Seconds until ``key`` may try again, if any of ``items`` is used up (else counted)."""
        for item in items:
            if not self.limiter.hit(item, key):
                stats = self.limiter.get_window_stats(item, key)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NOT_LIMITED):
            return await self.app(scope, receive, send)
        route = (scope["method"], scope["path"].rstrip("/") or "/")
        if route in SIGN_IN or (route[0] == "POST" and route[1].startswith(JOINING)):
            retry = self._refused(self.sign_in, "sign-in:" + _address(scope))
        else:
            who = self._who(scope)
            retry = self._refused(self.requests, who)
            if retry is None and route in WORK:
                retry = self._refused(self.work, "work:" + who)
        if retry is not None:
            response = JSONResponse({"detail": f"too many requests: try again in {retry} s"}, 429,
                                    headers={"Retry-After": str(retry)})
            return await response(scope, receive, self._delaying(send))
        if route in WORK:
            # A bulkhead: hand-ins (storing up to 200,000 characters each) take at most a few
            # database connections at once; the rest wait here, before reading their bodies, and
            # pages, reviews and sign-ins keep theirs.
            async with self._work_slots():
                return await self.app(scope, receive, self._delaying(send))
        await self.app(scope, receive, self._delaying(send))

    def _work_slots(self) -> asyncio.Semaphore:
        loop = id(asyncio.get_running_loop())
        if self._slots is None or self._slots[0] != loop:  # one per event loop (tests run several)
            self._slots = (loop, asyncio.Semaphore(self.settings.work_at_once))
        return self._slots[1]

    def _delaying(self, send):
        """``send``, holding back a refusal's answer for the refusal delay."""
        delay = self.settings.refusal_delay_s

        async def delayed_send(message) -> None:
            if message["type"] == "http.response.start" and message["status"] in REFUSALS and delay > 0:
                if self.delayed >= MAX_DELAYED:  # too many waiting: answer, and make them reconnect
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
                else:
                    self.delayed += 1
                    try:
                        await asyncio.sleep(delay)
                    finally:
                        self.delayed -= 1
            await send(message)

        return delayed_send


def _address(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"
