"""Headers and page hygiene: a strict Content-Security-Policy that every page can live with (no
inline script anywhere), no caching of student work, /docs without a CDN, and no attacker text
from a query string on a real page."""

from __future__ import annotations

import re

from tests.api_client import PASSWORD
from tests.api_client import sign_in as _sign_in
from tests.api_client import wait_for_queue as _wait_for_queue

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


async def _page_client(client, email):
    await client.post("/login", data={"email": email, "password": PASSWORD})


async def test_every_page_has_the_policy_and_no_inline_script(api, people):
    _, client = api
    alice, teacher = await _sign_in(client, people["alice"]), await _sign_in(client, people["teacher"])
    await client.post("/api/v1/submissions", headers=alice, json={"title": "Wind", "body": "I claim we need trees because shade cools our yard."})
    [draft] = await _wait_for_queue(client, teacher)
    login = await client.get("/login")
    policy = login.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert login.headers["x-content-type-options"] == "nosniff" and login.headers["referrer-policy"] == "same-origin"
    await _page_client(client, people["teacher"])
    pages = [await client.get(path) for path in ("/login", "/teacher", f"/teacher/drafts/{draft['id']}",
                                                 "/teacher/assignments")]
    client.cookies.clear()
    await _page_client(client, people["alice"])
    pages += [await client.get("/student")]
    for page in pages:
        assert page.status_code == 200, page.url
        assert page.headers["cache-control"] == "no-store"
        assert INLINE_SCRIPT.findall(page.text) == [], page.url
        assert INLINE_HANDLER.findall(page.text) == [], page.url
    static = await client.get("/static/beacon.js")
    assert static.status_code == 200 and "no-store" not in static.headers["cache-control"]
    assert (await client.get("/api/v1/releases", headers=alice)).headers["cache-control"] == "no-store"


async def test_docs_are_served_without_a_cdn(api):
    _, client = api
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "/api/v1/auth/token" in docs.text
    assert "cdn" not in docs.text.lower() and "<script" not in docs.text.lower()
    assert (await client.get("/openapi.json")).status_code == 200


async def test_query_strings_put_no_text_on_real_pages(api, people):
    _, client = api
    bait = "Your account is locked: call 555-0100"
    assert bait not in (await client.get("/login", params={"error": bait})).text
    await _page_client(client, people["teacher"])
    assert bait not in (await client.get("/teacher", params={"notice": bait})).text
    assert bait not in (await client.get("/teacher/assignments", params={"error": bait, "notice": bait})).text
    # A real notice still arrives, once, through the signed flash cookie.
    page = await client.get("/teacher")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    done = await client.post("/teacher/bulk-approve", data={"csrf": csrf})
    assert done.status_code == 303 and "notice" not in done.headers["location"]
    landed = await client.get(done.headers["location"])
    assert "Tick the drafts to approve first." in landed.text
    assert "Tick the drafts to approve first." not in (await client.get("/teacher")).text  # shown once
