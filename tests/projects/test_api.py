"""Project ideas through the JSON API: students ask and see only approved ideas; teachers
approve some through the same decision route as feedback; starting one makes an assignment."""

from __future__ import annotations

from tests.api_client import sign_in
from tests.api_client import wait_for_queue as _wait_for_queue
from tests.classroom import ESSAY


async def test_ask_approve_some_and_start(api, people):
    _, client = api
    alice, bob = await sign_in(client, people["alice"]), await sign_in(client, people["bob"])
    teacher = await sign_in(client, people["teacher"])

    assert (await client.post("/api/v1/projects/requests", headers=alice, json={"interests": "  "})).status_code == 422
    unknown = await client.post("/api/v1/projects/requests", headers=alice,
                                json={"interests": "robots", "competency_ids": ["no-such"]})
    assert unknown.status_code == 422 and "no competency" in unknown.text
    assert (await client.post("/api/v1/projects/requests", headers=teacher, json={"interests": "x"})).status_code == 404

    asked = await client.post("/api/v1/projects/requests", headers=alice,
                              json={"interests": "robots, cooking, chess", "weeks": 5, "working": "solo"})
    assert asked.status_code == 202 and asked.json()["status"] == "with your teacher"
    [item] = await _wait_for_queue(client, teacher)
    assert item["kind"] == "project" and item["title"] == "Project ideas" and item["bulk_approvable"]
    proposals = item["content"]["proposals"]
    assert (await client.get("/api/v1/projects", headers=alice)).json() == []

    # Choosing proposals is for project ideas only, and must name real ones.
    bad = await client.post(f"/api/v1/drafts/{item['id']}/decision", headers=teacher,
                            json={"action": "approve", "proposals": [9]})
    assert bad.status_code == 422
    done = await client.post(f"/api/v1/drafts/{item['id']}/decision", headers=teacher,
                             json={"action": "approve", "proposals": [1]})
    assert done.status_code == 200, done.text
    [release] = (await client.get("/api/v1/projects", headers=alice)).json()
    assert [p["title"] for p in release["content"]["proposals"]] == [proposals[1]["title"]]
    assert (await client.get("/api/v1/projects", headers=bob)).json() == []
    assert (await client.get("/api/v1/projects/requests", headers=alice)).json()[0]["status"] == "ideas ready"

    assert (await client.post(f"/api/v1/projects/{release['id']}/start", headers=bob, json={"proposal": 0})).status_code == 404
    assert (await client.post(f"/api/v1/projects/{release['id']}/start", headers=alice, json={"proposal": 3})).status_code == 422
    started = await client.post(f"/api/v1/projects/{release['id']}/start", headers=alice, json={"proposal": 0})
    assert started.status_code == 201 and started.json()["title"] == proposals[1]["title"]
    handed_in = await client.post("/api/v1/submissions", headers=alice, json={
        "title": "Pitch", "body": ESSAY, "assignment_id": started.json()["assignment_id"]})
    assert handed_in.status_code == 202 and handed_in.json()["assignment_id"] == started.json()["assignment_id"]
    assert (await client.post("/api/v1/submissions", headers=bob, json={
        "title": "Pitch", "body": ESSAY, "assignment_id": started.json()["assignment_id"]})).status_code == 404

    # A feedback draft cannot be approved "in part".
    [feedback] = [d for d in await _wait_for_queue(client, teacher) if d["kind"] == "feedback"]
    partial = await client.post(f"/api/v1/drafts/{feedback['id']}/decision", headers=teacher,
                                json={"action": "approve", "proposals": [0]})
    assert partial.status_code == 422 and "project ideas" in partial.text
