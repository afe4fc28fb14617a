"""Rate limits at the door: per person for work and for requests, per address for sign-in;
refusals are answered late, and hand-ins take a bounded share of the server at once."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from beacon.web.app import create_app
from beacon.web.limits import RateLimits
from tests.api_client import sign_in

ESSAY = {"title": "Trees", "body": "My claim is that trees cool our schoolyard, as our readings in June show."}


@pytest.fixture
async def limited(runtime):
    """The app with low limits and a short refusal delay."""
    settings = runtime.settings.model_copy(update={
        "rate_limit_work": "2/minute", "rate_limit_sign_in": "5/minute", "rate_limit_requests": "30/minute",
        "refusal_delay_s": 0.3})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://beacon.test") as client:
            yield app, client


async def test_work_is_limited_per_person_and_a_refusal_says_when_to_try_again(limited, people):
    _, client = limited
    alice, bob = await sign_in(client, people["alice"]), await sign_in(client, people["bob"])
    answers = [(await client.post("/api/v1/submissions", headers=alice, json=ESSAY)).status_code for _ in range(3)]
    assert answers == [202, 202, 429]
    started = time.perf_counter()
    refused = await client.post("/api/v1/submissions", headers=alice, json=ESSAY)
    assert time.perf_counter() - started >= 0.3  # answered late: a refused client cannot loop fast
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    assert "try again" in refused.json()["detail"]
    # Bob's own allowance is untouched, and Alice may still read.
    assert (await client.post("/api/v1/submissions", headers=bob, json=ESSAY)).status_code == 202
    assert (await client.get("/api/v1/submissions", headers=alice)).status_code == 200


async def test_sign_in_is_limited_per_address_before_any_lookup(limited, people, runtime):
    from sqlalchemy import func, select

    from beacon.school.models import SignInThrottle

    _, client = limited
    for _ in range(5):
        assert (await client.post("/api/v1/auth/token", json={"email": people["bob"], "password": "no"})).status_code == 401
    async with runtime.db.transaction() as session:
        counted = await session.scalar(select(func.count()).select_from(SignInThrottle))
    refused = await client.post("/api/v1/auth/token", json={"email": people["bob"], "password": "no"})
    assert refused.status_code == 429
    async with runtime.db.transaction() as session:  # refused at the door: nothing more was counted
        assert await session.scalar(select(func.count()).select_from(SignInThrottle)) == counted
    assert (await client.get("/healthz")).status_code == 200  # health is never limited


async def test_requests_are_limited_per_person_and_a_forged_token_counts_against_its_address(limited, people):
    _, client = limited
    bob = await sign_in(client, people["bob"])
    forged = {"Authorization": "Bearer not-a-token"}
    answers = [(await client.get("/api/v1/submissions", headers=forged)).status_code for _ in range(31)]
    assert answers[:30] == [401] * 30 and answers[30] == 429
    # Bob is counted as himself, not as the address the forger shares with him.
    assert (await client.get("/api/v1/submissions", headers=bob)).status_code == 200


async def test_hand_ins_are_served_a_few_at_a_time(runtime):
    """The bulkhead: past ``work_at_once`` hand-ins at once, the rest wait their turn."""
    running = peak = 0

    async def slow_app(scope, receive, send):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    settings = runtime.settings.model_copy(update={"work_at_once": 2})
    door = RateLimits(slow_app, settings=settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=door), base_url="http://beacon.test") as client:
        answers = await asyncio.gather(*(client.post("/api/v1/submissions", json=ESSAY) for _ in range(6)),
                                       client.get("/api/v1/submissions"))
    assert [a.status_code for a in answers] == [202] * 7
    assert peak == 3  # two hand-ins and the read, which never waits for a hand-in's turn
