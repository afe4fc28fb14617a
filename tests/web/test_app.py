"""`beacon serve`: the app starts with its in-process worker, which drafts queued work."""

from __future__ import annotations

import asyncio

import httpx

from beacon.feedback.service import submit_for_feedback
from beacon.web.app import create_app
from tests.classroom import ESSAY


async def test_serve_drafts_queued_work_in_process(runtime, classroom):
    app = create_app(runtime.settings)
    async with app.router.lifespan_context(app):
        async with runtime.db.transaction() as session:
            sub = await submit_for_feedback(session, student_id=classroom.student_id, title="Essay", body=ESSAY)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://beacon.test") as client:
            health = await client.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "model": "offline", "database": True, "worker": True,
                                 "worker_state": "running", "worker_restarts": 0}
        for _ in range(100):  # the worker picks the job up by itself
            payload = await app.state.workflow.pending_review(sub.id)
            if payload is not None:
                break
            await asyncio.sleep(0.1)
    assert payload is not None and payload.submission_id == str(sub.id)


async def test_health_says_when_the_worker_is_reconnecting(runtime):
    app = create_app(runtime.settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://beacon.test") as client:
            for _ in range(100):  # started: from here on only a failure changes its state
                if app.state.worker_health.running:
                    break
                await asyncio.sleep(0.05)
            app.state.worker_health.state = "reconnecting"  # as after its database connection failed
            degraded = await client.get("/healthz")
            app.state.worker_health.state = "running"
            ok = await client.get("/healthz")
    assert degraded.status_code == 503 and degraded.json()["status"] == "degraded"
    assert degraded.json()["worker"] is False and degraded.json()["worker_state"] == "reconnecting"
    assert ok.status_code == 200 and ok.json()["worker"] is True


async def test_health_answers_while_the_users_pool_is_exhausted(runtime):
    """The probe has its own connection: a server busy with its users is not reported down."""
    app = create_app(runtime.settings)
    async with app.router.lifespan_context(app):
        engine = app.state.runtime.db.engine
        held = [await engine.connect() for _ in range(engine.pool.size() + engine.pool._max_overflow)]
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://beacon.test") as client:
                async with asyncio.timeout(10):  # the users' pool would make it wait 30 s, then fail
                    health = await client.get("/healthz")
        finally:
            for conn in held:
                await conn.close()
    assert health.status_code == 200 and health.json()["database"] is True
