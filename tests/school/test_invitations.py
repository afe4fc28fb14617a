"""A teacher invites a student's family (issue 15), against a real SMTP server on loopback: the
email arrives in the invitation's language with the link and nothing else; the family member
makes their guardian account through it and then reads that child's released work only. Only
a teacher of the child invites or revokes (anyone else: 404); a link revoked, expired or used
is refused (410), one Beacon did not sign is 404; an address with a staff account is refused;
every step is in the audit trail."""

from __future__ import annotations

import asyncio
import re
import uuid
from urllib.parse import urlsplit

from sqlalchemy import text

from beacon.db.audit import audit_trail
from beacon.school import invitations
from tests.api_client import PASSWORD, sign_in, wait_for_queue
from tests.classroom import ESSAY


def _invitations(student_id) -> str:
    return f"/api/v1/teacher/students/{student_id}/guardian-invitations"


async def _invite(client, teacher, student_id, email, language="es"):
    return await client.post(_invitations(student_id), headers=teacher,
                             json={"email": email, "preferred_language": language})


async def _email_to(inbox, address: str, timeout: float = 20.0):
    for _ in range(int(timeout * 10)):
        if found := inbox.to(address):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no email reached {address}")


def _path(link: str) -> str:
    return urlsplit(link).path


async def _join(client, path: str, name="Gloria Guardian", language="es"):
    client.cookies.clear()  # signed out: the page makes the account
    return await client.post(path, data={"full_name": name, "password": PASSWORD, "preferred_language": language})


async def test_the_family_is_emailed_in_spanish_joins_through_the_link_and_reads_only_their_child(api, people, runtime, inbox):
    _, client = api
    teacher, alice, bob = [await sign_in(client, people[k]) for k in ("teacher", "alice", "bob")]
    address = f"fam-{uuid.uuid4().hex[:6]}@example.org"
    made = await _invite(client, teacher, people["alice_id"], address)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["email"] == address and body["expires_at"] and "link" not in body  # emailed: no link to copy

    [message] = await _email_to(inbox, address)
    assert message["Content-Language"] == "es"
    assert message["Subject"] == "Tia Teacher te invita a seguir el progreso de Alice en API School"
    content = message.get_content().replace("\r\n", "\n")
    [link] = re.findall(r"https?://\S+", content)
    assert "/invitations/" in link
    # One line and the link: no surname, no other child, no id, nothing of Beacon's record.
    assert content == f"{message['Subject']}.\n\nAcepta la invitación: {link}\n"
    for absent in (" A ", "Bob", str(people["alice_id"]), body["id"]):
        assert absent not in content

    page = await client.get(_path(link))
    assert page.status_code == 200 and '<html lang="es">' in page.text
    assert "Crea tu cuenta para aceptar" in page.text and address in page.text

    joined = await _join(client, _path(link))
    assert joined.status_code == 303 and joined.headers["location"] == "/guardian"
    home = await client.get("/guardian")
    assert home.status_code == 200 and "Alice" in home.text

    family = await sign_in(client, address)
    assert (await client.get("/api/v1/guardian/children", headers=family)).json() == [
        {"id": str(people["alice_id"]), "full_name": "Alice A"}]
    await client.post("/api/v1/submissions", headers=alice, json={"title": "Wind", "body": ESSAY})
    await client.post("/api/v1/submissions", headers=bob, json={"title": "Tides", "body": ESSAY + " Tides too."})
    queue = await wait_for_queue(client, teacher, 2)
    mine = f"/api/v1/guardian/children/{people['alice_id']}/releases"
    assert (await client.get(mine, headers=family)).json() == []  # drafts are not shared
    for draft in queue:
        assert (await client.post(f"/api/v1/drafts/{draft['id']}/decision", headers=teacher,
                                  json={"action": "approve"})).status_code == 200
    [released] = (await client.get(mine, headers=family)).json()
    alices = next(d for d in queue if d["student_id"] == str(people["alice_id"]))
    assert released["content"]["feedback"] == alices["content"]["feedback"]
    assert (await client.get(f"/api/v1/guardian/children/{people['bob_id']}/releases", headers=family)).status_code == 404

    # Used once: the link now says so (410), and no second account or link is made.
    client.cookies.clear()
    again = await client.get(_path(link))
    assert again.status_code == 410 and "ya se aceptó" in again.text
    assert (await _join(client, _path(link), name="Someone Else")).status_code == 410
    async with runtime.db.transaction() as session:
        trail = [e.action for e in await audit_trail(session, "guardian_invitation", body["id"])]
        linked = [e for e in await audit_trail(session, "user", str(people["alice_id"])) if e.action == "guardian.linked"]
        assert await session.scalar(text("SELECT count(*) FROM users WHERE lower(email) = :e"), {"e": address}) == 1
    assert trail == ["guardian.invited", "guardian.invitation_accepted"]
    assert len(linked) == 1 and linked[0].data["invitation_id"] == body["id"]


async def test_only_a_teacher_of_the_child_invites_or_revokes(api, people):
    _, client = api
    teacher, stranger, alice, admin = [await sign_in(client, people[k]) for k in ("teacher", "stranger", "alice", "admin")]
    address = f"fam-{uuid.uuid4().hex[:6]}@example.org"
    for who in (stranger, alice, admin):  # not this child's teacher, or no teacher at all
        assert (await _invite(client, who, people["alice_id"], address)).status_code == 404
        assert (await client.get(_invitations(people["alice_id"]), headers=who)).status_code == 404
    assert (await _invite(client, teacher, uuid.uuid4(), address)).status_code == 404
    made = (await _invite(client, teacher, people["alice_id"], address)).json()
    revoke = f"{_invitations(people['alice_id'])}/{made['id']}/revoke"
    assert (await client.post(revoke, headers=stranger)).status_code == 404
    assert (await client.post(f"{_invitations(people['bob_id'])}/{made['id']}/revoke", headers=teacher)).status_code == 404
    [listed] = (await client.get(_invitations(people["alice_id"]), headers=teacher)).json()
    assert listed["id"] == made["id"] and listed["state"] == "open"


async def test_a_revoked_expired_or_forged_link_is_refused(api, people, runtime, mail_settings):
    mail_settings.smtp_host = None  # no mail server: the teacher is given the link to pass on
    _, client = api
    teacher = await sign_in(client, people["teacher"])
    revoked = (await _invite(client, teacher, people["alice_id"], f"r-{uuid.uuid4().hex[:6]}@example.org")).json()
    assert revoked["link"].startswith(runtime.settings.app_url)
    done = await client.post(f"{_invitations(people['alice_id'])}/{revoked['id']}/revoke", headers=teacher)
    assert done.status_code == 200 and done.json()["state"] == "revoked"
    assert (await client.get(_invitations(people["alice_id"]), headers=teacher)).json() == []
    client.cookies.clear()
    page = await client.get(_path(revoked["link"]))
    assert page.status_code == 410 and "se retiró" in page.text
    assert (await _join(client, _path(revoked["link"]))).status_code == 410

    expired = (await _invite(client, teacher, people["bob_id"], f"e-{uuid.uuid4().hex[:6]}@example.org", "en")).json()
    async with runtime.db.transaction() as session:
        await session.execute(text("UPDATE guardian_invitations SET created_at = now() - interval '15 days', "
                                   "expires_at = now() - interval '1 day' WHERE id = CAST(:id AS uuid)"),
                              {"id": expired["id"]})
    page = await client.get(_path(expired["link"]))
    assert page.status_code == 410 and '<html lang="en">' in page.text and "has expired" in page.text
    assert (await _join(client, _path(expired["link"]))).status_code == 410

    for forged in ("/invitations/nothing-signed", "/invitations/" + invitations.token(runtime.settings, uuid.uuid4())):
        assert (await client.get(forged)).status_code == 404

    async with runtime.db.transaction() as session:
        trail = [e.action for e in await audit_trail(session, "guardian_invitation", revoked["id"])]
        assert await session.scalar(text("SELECT count(*) FROM users WHERE email = :e"),
                                    {"e": revoked["email"]}) == 0
    assert trail == ["guardian.invited", "guardian.invitation_revoked"]


async def test_an_address_with_a_staff_account_is_refused_and_a_resend_replaces_the_link(api, people, runtime, mail_settings):
    mail_settings.smtp_host = None
    _, client = api
    teacher = await sign_in(client, people["teacher"])
    refused = await _invite(client, teacher, people["alice_id"], people["stranger"])
    assert refused.status_code == 422 and "not a family's" in refused.json()["detail"]
    address = f"fam-{uuid.uuid4().hex[:6]}@example.org"
    first = (await _invite(client, teacher, people["alice_id"], address)).json()
    second = (await _invite(client, teacher, people["alice_id"], address.upper())).json()
    assert (await client.get(_path(first["link"]))).status_code == 410  # only the newest link works
    # A staff account made for the address meanwhile: the page refuses rather than link it.
    async with runtime.db.transaction() as session:
        await session.execute(text("UPDATE users SET email = :e WHERE email = :old"),
                              {"e": second["email"], "old": people["coach"]})
    client.cookies.clear()
    page = await client.get(_path(second["link"]))
    assert page.status_code == 409 and "no es de una familia" in page.text
    assert (await _join(client, _path(second["link"]))).status_code == 409


async def test_a_signed_in_guardian_accepts_with_one_button(api, people, runtime, mail_settings):
    mail_settings.smtp_host = None
    _, client = api
    teacher, admin = await sign_in(client, people["teacher"]), await sign_in(client, people["admin"])
    address = f"fam-{uuid.uuid4().hex[:6]}@example.org"
    made = await client.post("/api/v1/admin/people", headers=admin, json={
        "full_name": "Gloria Guardian", "email": address, "role": "guardian", "password": PASSWORD})
    assert made.status_code == 201
    link = (await _invite(client, teacher, people["bob_id"], address, "en")).json()["link"]
    client.cookies.clear()
    assert "Sign in, then open this link again" in (await client.get(_path(link))).text
    assert (await _join(client, _path(link))).status_code == 409  # the account exists: sign in first
    signed = await client.post("/login", data={"email": address, "password": PASSWORD})
    assert signed.status_code == 303
    page = await client.get(_path(link))
    assert "Accept and follow Bob" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert (await client.post(_path(link), data={})).status_code == 403  # no CSRF token
    accepted = await client.post(_path(link), data={"csrf": csrf})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/guardian"
    family = await sign_in(client, address)
    assert [c["id"] for c in (await client.get("/api/v1/guardian/children", headers=family)).json()] == [
        str(people["bob_id"])]


async def test_a_guardian_of_another_school_is_not_invited(api, people, runtime):
    from beacon.school import service as school

    _, client = api
    teacher = await sign_in(client, people["teacher"])
    tag = uuid.uuid4().hex[:6]
    async with runtime.db.transaction() as session:
        elsewhere = await school.ensure_school(session, f"elsewhere-{tag}", "Elsewhere")
        other = await school.ensure_user(session, elsewhere, f"g-{tag}@example.org", "Gil Guardian", "guardian")
    refused = await _invite(client, teacher, people["alice_id"], other.email)
    assert refused.status_code == 422 and "ask an admin" in refused.json()["detail"]


async def test_a_family_the_roster_added_claims_their_account_through_an_invitation(api, people, runtime, mail_settings):
    mail_settings.smtp_host = None
    _, client = api
    teacher, admin = await sign_in(client, people["teacher"]), await sign_in(client, people["admin"])
    address = f"fam-{uuid.uuid4().hex[:6]}@example.org"
    # As a roster import makes them: a guardian without a password, already linked to Alice.
    made = await client.post("/api/v1/admin/people", headers=admin, json={
        "full_name": "Rosa Roster", "email": address, "role": "guardian", "preferred_language": "es"})
    assert made.status_code == 201, made.text
    assert (await client.put(f"/api/v1/admin/guardians/{made.json()['id']}/students/{people['alice_id']}",
                             headers=admin)).status_code == 200
    invited = await _invite(client, teacher, people["alice_id"], address)
    assert invited.status_code == 201, invited.text  # linked, but she cannot sign in yet
    path = _path(invited.json()["link"])
    client.cookies.clear()
    page = await client.get(path)
    assert page.status_code == 200 and "Tu escuela ya te agregó. Elige una contraseña" in page.text
    assert 'value="Rosa Roster"' in page.text  # her name as the school has it, hers to correct
    joined = await _join(client, path, name="Rosa María Roster")
    assert joined.status_code == 303 and joined.headers["location"] == "/guardian"
    family = await sign_in(client, address)
    me = (await client.get("/api/v1/me", headers=family)).json()
    assert me["id"] == made.json()["id"] and me["full_name"] == "Rosa María Roster"  # the same account
    assert [c["id"] for c in (await client.get("/api/v1/guardian/children", headers=family)).json()] == [
        str(people["alice_id"])]
    async with runtime.db.transaction() as session:
        actions = [e.action for e in await audit_trail(session, "user", made.json()["id"])]
    assert "person.claimed" in actions
    # Claimed once: the link is used, and a new invitation is refused (she follows Alice now).
    assert (await client.get(path)).status_code == 410
    again = await _invite(client, teacher, people["alice_id"], address)
    assert again.status_code == 422 and "already follows" in again.json()["detail"]
