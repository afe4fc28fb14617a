"""The app over ASGI with its lifespan (in-process worker included), a small school of
accounts, and signing in: shared by the API tests of every domain."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from beacon.school import service as school
from beacon.school.auth import hash_password
from beacon.school.models import User
from beacon.school.schemas import StudentSeed
from beacon.web.app import create_app

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def api(runtime):
    app = create_app(runtime.settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://beacon.test") as client:
            yield app, client


async def sign_in(client, email) -> dict:
    done = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert done.status_code == 200, done.text
    return {"Authorization": f"Bearer {done.json()['token']}"}


@pytest.fixture
async def people(runtime):
    tag = uuid.uuid4().hex[:8]
    async with runtime.db.transaction() as session:
        sch = await school.ensure_school(session, f"api-{tag}", "API School")
        klass = await school.ensure_class(session, sch, "Seminar")
        other_class = await school.ensure_class(session, sch, "Other")
        teacher = await school.ensure_user(session, sch, f"t-{tag}@example.org", "Tia Teacher", "teacher")
        stranger = await school.ensure_user(session, sch, f"x-{tag}@example.org", "Xavier Teacher", "teacher")
        await school.enroll(session, klass, teacher, "teacher")
        await school.enroll(session, other_class, stranger, "teacher")
        alice = await school.ensure_student(session, sch, klass, StudentSeed(first_name="Alice", last_name="A", email=f"a-{tag}@example.org", grade=8))
        bob = await school.ensure_student(session, sch, klass, StudentSeed(first_name="Bob", last_name="B", email=f"b-{tag}@example.org", grade=8))
        coach = await school.ensure_user(session, sch, f"c-{tag}@example.org", "Cora Coach", "coach")
        admin = await school.ensure_user(session, sch, f"ad-{tag}@example.org", "Ada Admin", "admin")
        for user in (teacher, stranger, alice, bob, coach, admin):
            (await session.get(User, user.id)).password_hash = hash_password(PASSWORD)
    return {"teacher": teacher.email, "stranger": stranger.email, "alice": alice.email, "bob": bob.email,
            "coach": coach.email, "admin": admin.email, "class_id": klass.id, "other_class_id": other_class.id,
            "alice_id": alice.id, "bob_id": bob.id}


async def wait_for_queue(client, headers, n=1):
    for _ in range(100):
        queue = (await client.get("/api/v1/review/queue", headers=headers)).json()
        if len(queue) >= n:
            return queue
        await asyncio.sleep(0.1)
    raise AssertionError("the in-process worker drafted nothing")
