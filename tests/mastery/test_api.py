"""The mastery record over the API: approved evidence shows up as the student's standing, and
only the student, their teachers and their school's admins can read it (404 for anyone else)."""

from __future__ import annotations

import uuid

from tests.api_client import sign_in, wait_for_queue
from tests.classroom import ESSAY


async def test_an_approved_draft_becomes_the_students_record_and_only_in_scope(api, people):
    _, client = api
    alice, bob = await sign_in(client, people["alice"]), await sign_in(client, people["bob"])
    teacher, stranger = await sign_in(client, people["teacher"]), await sign_in(client, people["stranger"])
    me = (await client.get("/api/v1/me", headers=alice)).json()
    url = f"/api/v1/mastery/students/{me['id']}"
    assert (await client.get(url, headers=alice)).json()["competencies"] == {}  # nothing approved yet

    await client.post("/api/v1/submissions", headers=alice, json={"title": "Wind", "body": ESSAY})
    [pending] = await wait_for_queue(client, teacher)
    assert (await client.get(url, headers=alice)).json()["competencies"] == {}  # a draft is not evidence
    decided = await client.post(f"/api/v1/drafts/{pending['id']}/decision", headers=teacher, json={"action": "approve"})
    assert decided.status_code == 200, decided.text

    record = (await client.get(url, headers=alice)).json()["competencies"]
    competency = pending["content"]["rubric_id"]
    standing = record[competency]
    levels = {c["criterion_id"]: c["level"] for c in pending["content"]["criteria"]}
    assert standing["criteria"] == levels  # one rating each: its value is its level, by any method
    assert standing["evidence"] == dict.fromkeys(levels, 1) and standing["status"] != "met"
    assert (await client.get(url, headers=teacher)).json()["competencies"] == record

    for outsider in (bob, stranger):  # a classmate; a teacher of another class
        assert (await client.get(url, headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/mastery/students/{uuid.uuid4()}", headers=teacher)).status_code == 404
