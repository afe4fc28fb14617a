"""Signing in resists attack: failures are limited per account and per address (in Postgres,
so across replicas), wrong and unknown emails cost the same, sessions live on the server
(signing out, a password change or an admin's reset revokes them), and a write from another
site is refused, /login included."""

from __future__ import annotations

import pytest

from beacon.school import accounts
from tests.api_client import PASSWORD, sign_in


async def _token(client, email, password):
    return await client.post("/api/v1/auth/token", json={"email": email, "password": password})


async def test_an_account_locks_after_repeated_failures_with_a_lock_that_grows(api, people):
    _, client = api
    email = people["bob"]
    for _ in range(accounts.ACCOUNT_LIMIT - 1):
        assert (await _token(client, email, "wrong")).status_code == 401
    locked = await _token(client, email, "wrong")  # the limit-th failure locks
    assert locked.status_code == 401
    refused = await _token(client, email, PASSWORD)  # even the right password waits
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 30
    assert "too many failed sign-ins" in refused.json()["detail"]
    # The same lock holds on the pages, and for the same email typed in another case.
    page = await client.post("/login", data={"email": email.upper(), "password": PASSWORD})
    assert page.status_code == 429 and "Too many failed sign-ins" in page.text
    other = await _token(client, people["alice"], PASSWORD)  # another account is not locked
    assert other.status_code == 200


async def test_the_lock_doubles_and_a_success_clears_the_count(runtime):
    from datetime import UTC, datetime

    from beacon.school.repository import throttle_row

    email = "nobody-at-all@example.org"
    async with runtime.db.transaction() as session:
        for _ in range(accounts.ACCOUNT_LIMIT + 2):
            await accounts.record_failure(session, email, None)
        row = await throttle_row(session, f"account:{email}")
        lock = (row.locked_until - datetime.now(UTC)).total_seconds()
    assert row.failures == accounts.ACCOUNT_LIMIT + 2 and 100 < lock <= 120  # 30 s doubled twice
    async with runtime.db.transaction() as session:
        with pytest.raises(accounts.TooManyAttempts):
            await accounts.check_not_locked(session, email, None)


async def test_unknown_and_known_emails_cost_the_same_argon2_work(api, people, monkeypatch):
    import beacon.school.accounts as auth

    _, client = api
    checked = []
    real = auth.password_matches
    monkeypatch.setattr(auth, "password_matches", lambda h, p: checked.append(h) or real(h, p))
    await _token(client, "no-such-person@example.org", "whatever")
    await _token(client, people["alice"], "whatever")
    assert len(checked) == 2 and all(h.startswith("$argon2") for h in checked)  # one verification each


async def test_signing_out_revokes_the_token_and_the_cookie_on_the_server(api, people):
    _, client = api
    headers = await sign_in(client, people["alice"])
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401  # the copy is dead too

    await client.post("/login", data={"email": people["alice"], "password": PASSWORD})
    cookie = client.cookies.get("beacon_session")
    assert (await client.get("/student")).status_code == 200
    page = await client.get("/student")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    await client.post("/logout", data={"csrf": csrf})
    client.cookies.set("beacon_session", cookie)  # a cookie kept from before signing out
    assert (await client.get("/student", follow_redirects=False)).status_code == 303  # to /login


async def test_a_password_change_or_reset_signs_out_every_other_session(api, people, runtime):
    from sqlalchemy import select

    from beacon.school.auth import hash_password
    from beacon.school.models import School, User
    from beacon.school.service import ensure_user

    _, client = api
    first, second = await sign_in(client, people["bob"]), await sign_in(client, people["bob"])
    change = await client.post("/api/v1/me/password", headers=first,
                               json={"current_password": PASSWORD, "new_password": "a much newer secret"})
    assert change.status_code == 204
    assert (await client.get("/api/v1/me", headers=first)).status_code == 200  # the one that changed it
    assert (await client.get("/api/v1/me", headers=second)).status_code == 401
    wrong = await client.post("/api/v1/me/password", headers=first,
                              json={"current_password": "nope", "new_password": "another secret 1"})
    assert wrong.status_code == 403

    async with runtime.db.transaction() as session:  # an admin of the same school
        bob = await session.scalar(select(User).where(User.email == people["bob"]))
        school = await session.get(School, bob.school_id)
        admin = await ensure_user(session, school, f"admin-{bob.id.hex[:6]}@example.org", "Ada Admin", "admin")
        admin.password_hash = hash_password(PASSWORD)
    admin_headers = await sign_in(client, admin.email)
    reset = await client.post(f"/api/v1/admin/people/{bob.id}/password", headers=admin_headers,
                              json={"new_password": "set by the admin"})
    assert reset.status_code == 200 and reset.json()["sessions_revoked"] >= 1
    assert (await client.get("/api/v1/me", headers=first)).status_code == 401
    assert (await _token(client, people["bob"], "set by the admin")).status_code == 200
    teacher = await sign_in(client, people["teacher"])
    assert (await client.post(f"/api/v1/admin/people/{bob.id}/password", headers=teacher,
                              json={"new_password": "not allowed at all"})).status_code == 404


async def test_writes_from_another_site_are_refused_login_included(api, people):
    _, client = api
    forged = await client.post("/login", data={"email": people["alice"], "password": PASSWORD},
                               headers={"origin": "https://evil.example"})
    assert forged.status_code == 403 and "another site" in forged.json()["detail"]
    opaque = await client.post("/login", data={"email": people["alice"], "password": PASSWORD},
                               headers={"origin": "null"})
    assert opaque.status_code == 403
    same = await client.post("/login", data={"email": people["alice"], "password": PASSWORD},
                             headers={"origin": "http://beacon.test"})
    assert same.status_code == 303
    headers = await sign_in(client, people["alice"])  # an API client with a token: no ambient credential
    api_call = await client.get("/api/v1/me", headers={**headers, "origin": "https://elsewhere.example"})
    assert api_call.status_code == 200
