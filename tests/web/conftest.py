"""The app over ASGI with its lifespan (in-process worker included), and signing in to it."""

from __future__ import annotations

import httpx
import pytest

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
