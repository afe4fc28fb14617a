"""Notifications, against a real SMTP server on loopback (aiosmtpd): an approval tells the student
and their guardian, in-app and by one email each in their own language, with one-click
unsubscribe headers and nothing of the feedback, a level, the draft or another student; a
rejection or a regeneration tells nobody; no SMTP means in-app only; an unsubscribe or a switch
turned off stops that person's email, never their in-app notification; a mail server that is
down leaves the job to be retried and the notification in place."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from sqlalchemy import text

from beacon.catalogues import LOCALE_DIR
from beacon.db.audit import audit_trail
from beacon.notifications import messages
from tests.api_client import PASSWORD, sign_in, wait_for_queue
from tests.classroom import ESSAY
from tests.mail import free_port


async def _family(client, people, language="es") -> tuple[dict, dict, str]:
    """A guardian (in ``language``) linked to Alice: (admin's headers, the guardian's, their email)."""
    admin = await sign_in(client, people["admin"])
    address = f"g-{uuid.uuid4().hex[:6]}@example.org"
    made = await client.post("/api/v1/admin/people", headers=admin, json={
        "full_name": "Gloria Guardian", "email": address, "role": "guardian", "password": PASSWORD,
        "preferred_language": language})
    assert made.status_code == 201, made.text
    linked = await client.put(f"/api/v1/admin/guardians/{made.json()['id']}/students/{people['alice_id']}", headers=admin)
    assert linked.status_code == 200
    return admin, await sign_in(client, address), address


async def _hand_in(client, who, title, n_waiting, teacher) -> dict:
    """``who`` hands in work; the draft for it, once the in-process worker made it."""
    done = await client.post("/api/v1/submissions", headers=who, json={"title": title, "body": ESSAY + f" {title}."})
    assert done.status_code in (200, 201, 202), done.text
    queue = await wait_for_queue(client, teacher, n_waiting)
    return next(d for d in queue if d["submission_id"] == done.json()["id"])


async def _jobs_done(runtime, release_id, *, status="succeeded", attempts=0, timeout=20.0) -> dict:
    """The email job of a release, once it reached ``status`` after at least ``attempts`` failures."""
    job = None
    for _ in range(int(timeout * 10)):
        async with runtime.db.transaction() as session:
            job = (await session.execute(text(
                "SELECT id, status, attempts FROM procrastinate_jobs WHERE queueing_lock = :lock "
                "ORDER BY id DESC LIMIT 1"), {"lock": f"notify:release:{release_id}"})).mappings().first()
        if job and job["status"] == status and job["attempts"] >= attempts:
            return dict(job)
        await asyncio.sleep(0.1)
    raise AssertionError(f"the email job of release {release_id} did not reach {status}: {job}")


async def _approve(client, teacher, draft) -> str:
    done = await client.post(f"/api/v1/drafts/{draft['id']}/decision", headers=teacher, json={"action": "approve"})
    assert done.status_code == 200, done.text
    return done.json()["release_id"]


async def _mine(client, who) -> list[dict]:
    listed = await client.get("/api/v1/notifications", headers=who)
    assert listed.status_code == 200, listed.text
    return listed.json()


def _says_nothing_of(body: str, draft: dict, *others: str) -> None:
    content = draft["content"]
    assert content["feedback"][:30] not in body and draft["id"] not in body
    for criterion in content["criteria"]:
        assert (criterion.get("level_label") or "\0") not in body
        assert criterion["rationale"][:30] not in body and criterion["title"] not in body
        for quote in criterion["evidence"]:
            assert str(quote.get("quote", quote) if isinstance(quote, dict) else quote)[:30] not in body
    for other in others:
        assert other not in body


async def test_an_approval_emails_the_student_and_their_guardian_once_and_nothing_else(api, people, runtime, inbox):
    _, client = api
    teacher, alice, bob = [await sign_in(client, people[k]) for k in ("teacher", "alice", "bob")]
    _admin, family, family_address = await _family(client, people)
    alices = await _hand_in(client, alice, "Wind", 1, teacher)
    bobs = await _hand_in(client, bob, "Tides", 2, teacher)

    release_id = await _approve(client, teacher, alices)
    await _jobs_done(runtime, release_id)
    [to_alice], [to_family] = inbox.to(people["alice"]), inbox.to(family_address)
    assert inbox.to(people["bob"]) == []
    assert to_alice["Subject"] == "Your teacher shared feedback on “Wind”"
    assert to_family["Subject"] == "Quien da clase a Alice compartió retroalimentación"  # the guardian's language
    for message, lang in ((to_alice, "en"), (to_family, "es")):
        assert message["Content-Language"] == lang
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/unsubscribe/")
        body = message.get_content()
        assert f"/releases/{release_id}" in body  # where to read it, after signing in
        _says_nothing_of(body, alices, "Bob", "Tides", bobs["content"]["feedback"][:30])
    assert "/guardian/children/" in to_family.get_content() and "Wind" not in to_family.get_content()

    # In-app: one each, unread, with the link; Bob has none; reading one is the reader's own.
    [note] = await _mine(client, alice)
    assert note["link"] == f"/student/releases/{release_id}" and note["read_at"] is None
    [family_note] = await _mine(client, family)
    assert family_note["kind"] == "feedback_released" and await _mine(client, bob) == []
    assert (await client.post(f"/api/v1/notifications/{note['id']}/read", headers=bob)).status_code == 404
    assert (await client.post(f"/api/v1/notifications/{note['id']}/read", headers=alice)).status_code == 200
    assert (await _mine(client, alice))[0]["read_at"] is not None

    # Regenerating Bob's draft, then rejecting the new one, tells nobody anything.
    regenerated = await client.post(f"/api/v1/drafts/{bobs['id']}/decision", headers=teacher,
                                    json={"action": "regenerate", "instructions": "shorter"})
    assert regenerated.status_code == 200, regenerated.text
    again = (await wait_for_queue(client, teacher, 1))[0]
    rejected = await client.post(f"/api/v1/drafts/{again['id']}/decision", headers=teacher,
                                 json={"action": "reject", "reason": "talk to me first"})
    assert rejected.status_code == 200, rejected.text
    await asyncio.sleep(0.5)
    assert await _mine(client, bob) == [] and inbox.to(people["bob"]) == []
    # (Counted for this school's people: jobs that other tests left queued may send theirs now.)
    ours = [people["alice"], people["bob"], people["teacher"], family_address]
    assert sum(len(inbox.to(address)) for address in ours) == 2

    # The page lists it (unread marked) with the switches.
    client.cookies.clear()
    await client.post("/login", data={"email": people["bob"], "password": PASSWORD})
    page = await client.get("/me/notifications")
    assert page.status_code == 200 and "Nothing yet." in page.text and 'name="feedback_released"' in page.text
    client.cookies.clear()


async def test_unsubscribing_or_a_switch_off_stops_that_persons_email_not_the_in_app_one(api, people, runtime, inbox):
    _, client = api
    teacher, alice = await sign_in(client, people["teacher"]), await sign_in(client, people["alice"])
    _admin, family, family_address = await _family(client, people)
    first = await _approve(client, teacher, await _hand_in(client, alice, "Wind", 1, teacher))
    await _jobs_done(runtime, first)
    [to_alice] = inbox.to(people["alice"])
    link = to_alice["List-Unsubscribe"].strip("<>")
    token = link.rsplit("/", 1)[1]

    # The link opened changes nothing (a button); the one-click POST, with no cookie, does.
    assert (await client.get(f"/unsubscribe/{token}")).status_code == 200
    assert (await client.get("/api/v1/notifications/preferences", headers=alice)).json()["email"]["feedback_released"]
    one_click = await client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert (await client.post(f"/unsubscribe/{token}x", data={"List-Unsubscribe": "One-Click"})).status_code == 404
    assert (await client.get("/api/v1/notifications/preferences", headers=alice)).json()["email"] == {
        "feedback_released": False, "ideas_approved": False, "report_published": False}
    # The guardian turns feedback emails off (and keeps the others).
    switched = await client.put("/api/v1/notifications/preferences", headers=family,
                                json={"email": {"feedback_released": False}})
    assert switched.status_code == 200 and switched.json()["email"] == {
        "feedback_released": False, "ideas_approved": True, "report_published": True}

    second = await _approve(client, teacher, await _hand_in(client, alice, "Rain", 1, teacher))
    await _jobs_done(runtime, second)
    assert len(inbox.to(people["alice"])) == 1 and len(inbox.to(family_address)) == 1  # nothing new
    assert len(await _mine(client, alice)) == 2 and len(await _mine(client, family)) == 2
    async with runtime.db.transaction() as session:
        trail = [e.data.get("how") for e in await audit_trail(session, "user", str(people["alice_id"]))
                 if e.action == "notifications.preferences"]
    assert trail == ["unsubscribe"]


async def test_without_smtp_notifications_are_in_app_only(api, people, runtime, mail_settings):
    mail_settings.smtp_host = None
    _, client = api
    teacher, alice = await sign_in(client, people["teacher"]), await sign_in(client, people["alice"])
    release_id = await _approve(client, teacher, await _hand_in(client, alice, "Wind", 1, teacher))
    job = await _jobs_done(runtime, release_id)
    assert job["attempts"] == 1  # one run, no failure to retry
    [note] = await _mine(client, alice)
    assert note["subject"] == "Your teacher shared feedback on “Wind”"
    async with runtime.db.transaction() as session:
        assert await session.scalar(text("SELECT emailed_at FROM notifications WHERE id = CAST(:id AS uuid)"),
                                    {"id": note["id"]}) is None


async def test_a_mail_server_that_is_down_leaves_the_job_to_be_retried(api, people, runtime, inbox, mail_settings):
    live_port = mail_settings.smtp_port
    mail_settings.smtp_port, mail_settings.smtp_timeout_s = free_port(), 2.0  # nothing listens there
    _, client = api
    teacher, alice = await sign_in(client, people["teacher"]), await sign_in(client, people["alice"])
    release_id = await _approve(client, teacher, await _hand_in(client, alice, "Wind", 1, teacher))
    job = await _jobs_done(runtime, release_id, status="todo", attempts=1)  # failed once, waits for a retry
    assert job["attempts"] >= 1 and inbox.messages == []
    assert len(await _mine(client, alice)) == 1  # the in-app notification is there all along
    mail_settings.smtp_port = live_port  # the server is back: the retry (in 4 s) sends it
    await _jobs_done(runtime, release_id, timeout=30.0)
    assert len(inbox.to(people["alice"])) == 1


def test_every_notification_message_is_translated_to_spanish():
    source = Path(messages.__file__)
    found = [m for _l, m, _c, _ctx in extract_from_file("python", source)]
    assert len(found) >= 10
    with (LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="es")
    missing = [m for m in found if not (catalog.get(m) and catalog.get(m).string and not catalog.get(m).fuzzy)]
    assert not missing, missing
    assert messages.subject("ideas_approved", "es", child="Ana").startswith("Quien da clase a Ana")
