"""Teachers set assignments for their classes; students hand work in for them, and it is drafted
against the assignment's competencies."""

from __future__ import annotations

import re

from tests.api_client import PASSWORD, sign_in, wait_for_queue

WORK = ("We measured how far a paper airplane flies with three wing shapes, five throws each, "
        "and recorded the distances in a table. The delta wing flew farthest on average.")


async def test_teacher_sets_an_assignment_and_work_for_it_uses_its_rubric(api, people):
    _, client = api
    teacher, stranger = await sign_in(client, people["teacher"]), await sign_in(client, people["stranger"])
    alice = await sign_in(client, people["alice"])
    # The teacher's own page lists the classes they teach.
    await client.post("/login", data={"email": people["teacher"], "password": PASSWORD})
    page = (await client.get("/teacher/assignments")).text
    class_id = re.search(r'<option value="([0-9a-f-]{36})">Seminar</option>', page).group(1)
    body = {"class_id": class_id, "title": "Argue for a change at school",
            "competency_ids": ["argument-writing"]}
    assert (await client.post("/api/v1/assignments", headers=stranger, json=body)).status_code == 404
    assert (await client.post("/api/v1/assignments", headers=alice, json=body)).status_code == 404
    bad = await client.post("/api/v1/assignments", headers=teacher, json={**body, "competency_ids": ["nope"]})
    assert bad.status_code == 422 and "no competency 'nope'" in bad.text
    made = await client.post("/api/v1/assignments", headers=teacher, json=body)
    assert made.status_code == 201, made.text
    assignment_id = made.json()["id"]

    listed = (await client.get("/api/v1/assignments", headers=alice)).json()
    assert [a["id"] for a in listed] == [assignment_id]
    assert (await client.get("/api/v1/assignments", headers=stranger)).json() == []
    # A science-sounding work handed in for an argument assignment is drafted against argument writing.
    handed = await client.post("/api/v1/submissions", headers=alice,
                               json={"title": "Planes", "body": WORK, "assignment_id": assignment_id})
    assert handed.status_code == 202
    [draft] = await wait_for_queue(client, teacher)
    assert draft["content"]["rubric_id"] == "argument-writing"
    filtered = (await client.get(f"/api/v1/review/queue?assignment_id={assignment_id}", headers=teacher)).json()
    assert [d["id"] for d in filtered] == [draft["id"]]
