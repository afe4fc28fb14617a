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
            app.state.worker_health.state = "reconnecting"  # as after its database connection failed
            degraded = await client.get("/healthz")
            app.state.worker_health.state = "running"
            ok = await client.get("/healthz")
    assert degraded.status_code == 503 and degraded.json()["status"] == "degraded"
    assert degraded.json()["worker"] is False and degraded.json()["worker_state"] == "reconnecting"
    assert ok.status_code == 200 and ok.json()["worker"] is True
