"""Bad characters never wedge work: NUL and lone surrogates are refused at the door (422) on
every write route, signed in or not, and a draft someone tried to poison still takes its
decision afterwards."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.api_client import sign_in, wait_for_queue

POISON = ["nul\u0000here", "lone \ud800 surrogate"]


def _write_routes(app) -> list[str]:
    paths, routes = [], list(app.routes)
    while routes:
        route = routes.pop()
        if hasattr(route, "original_router"):  # an included router: its own routes, with its prefix
            routes.extend(route.original_router.routes)
            continue
        if (getattr(route, "methods", None) or set()) & {"POST", "PUT", "PATCH"}:
            paths.append(route.path.replace("{", "").replace("}", ""))
    return sorted(set(paths))


def _concrete(path: str) -> str:
    """A template path with every parameter filled (ids that exist nowhere)."""
    parts = []
    for part in path.split("/"):
        parts.append({"kind": "feedback"}.get(part, str(uuid.uuid4()) if part.endswith("id") else part))
    return "/".join(parts)


async def test_every_write_route_refuses_nul_and_lone_surrogates_before_anything_else(api):
    app, client = api
    routes = _write_routes(app)
    assert "/api/v1/auth/token" in routes and "/login" in routes and len(routes) >= 20
    for path in routes:
        url = _concrete(path)
        for text in POISON:
            as_json = await client.post(url, content=json.dumps({  # escaped: \\u0000, \\ud800
                "email": text, "title": text, "body": text, "reason": text, "interests": text,
                "nested": [{"deep": text}]}), headers={"content-type": "application/json"})
            assert as_json.status_code == 422, (url, as_json.status_code, as_json.text)
            assert "NUL" in as_json.json()["detail"]
        as_form = await client.post(url, content=b"email=a%00b&password=x",
                                    headers={"content-type": "application/x-www-form-urlencoded"})
        assert as_form.status_code == 422, (url, as_form.text)
        surrogate = await client.post(url, content=b"title=%ED%A0%80", headers={"content-type": "application/x-www-form-urlencoded"})
        assert surrogate.status_code == 422, url
        query = await client.post(url + "?flag=%00", json={})
        assert query.status_code == 422, url


async def test_a_body_over_the_limit_is_refused_before_sign_in(api):
    _, client = api
    huge = await client.post("/api/v1/submissions", content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
                             headers={"content-type": "application/json"})
    assert huge.status_code == 413


async def test_a_poisoned_decision_is_refused_and_the_draft_still_decides(api, people):
    _, client = api
    student, teacher = await sign_in(client, people["alice"]), await sign_in(client, people["teacher"])
    done = await client.post("/api/v1/submissions", headers=student, json={
        "title": "Essay", "body": "I claim our school should start later because sleep matters for learning."})
    assert done.status_code == 202
    [draft] = await wait_for_queue(client, teacher)
    url = f"/api/v1/drafts/{draft['id']}/decision"
    for body in ({"action": "reject", "reason": "no\u0000"}, {"action": "regenerate", "instructions": "a\ud800"},
                 {"action": "approve", "edited_content": {**draft["content"], "feedback": "x\u0000"}}):
        sent = await client.post(url, headers={**teacher, "content-type": "application/json"}, content=json.dumps(body))
        assert sent.status_code == 422
    bulk = await client.post("/api/v1/review/bulk-approve", headers={**teacher, "content-type": "application/json"},
                             content=json.dumps({"draft_ids": [draft["id"], "x\u0000"]}))
    assert bulk.status_code == 422
    approved = await client.post(url, headers=teacher, json={"action": "approve", "content_hash": draft["content_hash"]})
    assert approved.status_code == 200, approved.text
    assert len((await client.get("/api/v1/releases", headers=student)).json()) == 1


@pytest.mark.parametrize("field", ["title", "filename"])
async def test_uploads_with_bad_names_or_fields_are_refused(api, people, field):
    _, client = api
    student = await sign_in(client, people["bob"])
    name, title = ("essay.txt", "x\u0000y") if field == "title" else ("e" * 300 + ".txt", "Essay")
    done = await client.post("/api/v1/submissions/upload", headers=student, data={"title": title},
                             files={"file": (name, b"My claim is that homework should be optional.", "text/plain")})
    assert done.status_code == 422, done.text
    assert (await client.get("/api/v1/submissions", headers=student)).json() == []
