"""Families: an admin adds a guardian with their own language and links them to a student; the
guardian reads that child's released feedback and record (never a draft, never the support
flags, never another child); the schema refuses a link between the wrong roles."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from beacon.db.audit import audit_trail
from tests.api_client import PASSWORD, sign_in, wait_for_queue
from tests.classroom import ESSAY


async def _guardian(client, admin, email, language="es") -> str:
    done = await client.post("/api/v1/admin/people", headers=admin, json={
        "full_name": "Gloria Guardian", "email": email, "role": "guardian", "password": PASSWORD,
        "preferred_language": language})
    assert done.status_code == 201, done.text
    return done.json()["id"]


async def test_a_guardian_reads_only_their_own_childs_released_work(api, people, runtime):
    _, client = api
    admin, teacher = await sign_in(client, people["admin"]), await sign_in(client, people["teacher"])
    alice, bob = await sign_in(client, people["alice"]), await sign_in(client, people["bob"])
    email = f"g-{uuid.uuid4().hex[:6]}@example.org"
    guardian_id = await _guardian(client, admin, email)
    link = f"/api/v1/admin/guardians/{guardian_id}/students/{people['alice_id']}"
    assert (await client.put(link, headers=admin)).status_code == 200
    assert (await client.put(link, headers=admin)).status_code == 200  # once is enough: nothing twice
    family = await sign_in(client, email)
    assert (await client.get("/api/v1/guardian/children", headers=family)).json() == [
        {"id": str(people["alice_id"]), "full_name": "Alice A"}]

    await client.post("/api/v1/submissions", headers=alice, json={"title": "Wind", "body": ESSAY})
    await client.post("/api/v1/submissions", headers=bob, json={"title": "Tides", "body": ESSAY + " Tides too."})
    queue = await wait_for_queue(client, teacher, 2)
    mine = f"/api/v1/guardian/children/{people['alice_id']}/releases"
    assert (await client.get(mine, headers=family)).json() == []  # a draft is not shared
    for draft in queue:
        assert draft["id"] not in (await client.get(mine, headers=family)).text
        assert (await client.get(f"/api/v1/drafts/{draft['id']}", headers=family)).status_code == 404
    alices = next(d for d in queue if d["student_id"] == str(people["alice_id"]))
    bobs = next(d for d in queue if d["id"] != alices["id"])
    for draft in queue:
        assert (await client.post(f"/api/v1/drafts/{draft['id']}/decision", headers=teacher,
                                  json={"action": "approve"})).status_code == 200
    [released] = (await client.get(mine, headers=family)).json()
    assert released["content"]["feedback"] == alices["content"]["feedback"]
    assert bobs["content"]["feedback"] not in (await client.get(mine, headers=family)).text
    for outside in (f"/api/v1/guardian/children/{people['bob_id']}/releases",
                    f"/api/v1/guardian/children/{uuid.uuid4()}/releases",
                    f"/api/v1/mastery/students/{people['bob_id']}"):
        assert (await client.get(outside, headers=family)).status_code == 404
    record = (await client.get(f"/api/v1/mastery/students/{people['alice_id']}", headers=family)).json()
    assert record["competencies"] and record["support"] == []
    assert all(s["support"] == [] for s in record["competencies"].values())  # flags are for staff

    # The pages: the family's home lists the release and opens it; another child's is 404.
    pages = client.cookies
    pages.clear()
    await client.post("/login", data={"email": email, "password": PASSWORD})
    home = await client.get("/guardian")
    assert "Alice A" in home.text and "Wind" in home.text and "Tides" not in home.text
    assert '<html lang="es">' in home.text and "Tu familia" in home.text  # the guardian's own language
    page = await client.get(f"/guardian/children/{people['alice_id']}/releases/{released['id']}")
    assert page.status_code == 200 and alices["content"]["feedback"][:40] in page.text
    assert (await client.get(f"/guardian/children/{people['bob_id']}/releases/{released['id']}")).status_code == 404
    assert (await client.get("/student")).status_code == 404 and (await client.get("/teacher")).status_code == 404
    pages.clear()

    assert (await client.delete(link, headers=admin)).status_code == 200
    assert (await client.get(mine, headers=family)).status_code == 404  # unlinked: nothing more
    async with runtime.db.transaction() as session:
        trail = [e.action for e in await audit_trail(session, "user", str(people["alice_id"]))]
    assert trail.count("guardian.linked") == 1 and trail.count("guardian.unlinked") == 1


async def test_only_a_guardian_and_a_student_of_the_school_can_be_linked(api, people, runtime):
    _, client = api
    admin = await sign_in(client, people["admin"])
    guardian_id = await _guardian(client, admin, f"g-{uuid.uuid4().hex[:6]}@example.org")
    me = (await client.get("/api/v1/me", headers=await sign_in(client, people["teacher"]))).json()["id"]
    wrong = await client.put(f"/api/v1/admin/guardians/{guardian_id}/students/{me}", headers=admin)
    assert wrong.status_code == 422 and "is a teacher" in wrong.text
    assert (await client.put(f"/api/v1/admin/guardians/{guardian_id}/students/{uuid.uuid4()}",
                             headers=admin)).status_code == 404
    teacher = await sign_in(client, people["teacher"])
    assert (await client.put(f"/api/v1/admin/guardians/{guardian_id}/students/{people['alice_id']}",
                             headers=teacher)).status_code == 404  # admins only
    with pytest.raises(sqlalchemy.exc.IntegrityError):  # the schema itself refuses the wrong roles
        async with runtime.db.transaction() as session:
            await session.execute(text("INSERT INTO guardianships (guardian_id, student_id) VALUES (:g, :s)"),
                                  {"g": uuid.UUID(me), "s": people["alice_id"]})
