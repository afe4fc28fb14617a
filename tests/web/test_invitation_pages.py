"""The pages of a family's invitation: the teacher's panel on the student's page on the record
(invite with the form and its CSRF token, the link shown when no email is set up, revoke), and
the family's page in a real Chromium at a phone's width, in Spanish, axe clean: they make their
account through it and land on their family page."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.api_client import PASSWORD, sign_in
from tests.web.test_browser import CHROMIUM, _launch
from tests.web.test_mastery_pages import _axe_clean
from tests.web.test_progress_browser import PHONE

CELL = "/teacher/mastery/students/{}/argument-writing"


async def _signed_in_page(client, email: str, path: str) -> tuple[str, str]:
    client.cookies.clear()
    assert (await client.post("/login", data={"email": email, "password": PASSWORD})).status_code == 303
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return page.text, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


async def test_a_teacher_invites_from_the_students_page_and_revokes(api, people, mail_settings):
    mail_settings.smtp_host = None  # no email: the notice carries the link to pass on
    _, client = api
    cell = CELL.format(people["alice_id"])
    html, csrf = await _signed_in_page(client, people["teacher"], cell)
    assert "Invite a family member" in html and "No invitation is waiting" in html
    address = f"fam-{uuid.uuid4().hex[:6]}@example.org"
    action = f"/teacher/students/{people['alice_id']}/guardian-invitations"
    assert (await client.post(action, data={"email": address, "preferred_language": "es"})).status_code == 403
    sent = await client.post(action, data={"csrf": csrf, "email": address, "preferred_language": "es", "back": cell})
    assert sent.status_code == 303 and sent.headers["location"] == cell + "#family-invitations"
    html = (await client.get(cell)).text
    link = re.search(r"(http\S+/invitations/[\w.-]+)", html).group(1)
    assert f"send {address} this link yourself" in html
    assert f'aria-label="Revoke the invitation to {address}"' in html
    client.cookies.clear()
    assert '<html lang="es">' in (await client.get(link.split("8000", 1)[1])).text

    html, csrf = await _signed_in_page(client, people["teacher"], cell)
    revoke = re.search(r'action="(/teacher/students/[^"]+/revoke)"', html).group(1)
    done = await client.post(revoke, data={"csrf": csrf, "back": cell})
    assert done.status_code == 303
    assert "no longer opens" in (await client.get(cell)).text
    bad = await client.post(action, data={"csrf": csrf, "email": "not an address", "back": cell})
    assert bad.status_code == 303 and "email address" in (await client.get(cell)).text

    # Another teacher's student: nothing to see, nothing to invite.
    html, csrf = await _signed_in_page(client, people["stranger"], "/teacher/mastery")
    assert (await client.get(cell)).status_code == 404
    assert (await client.post(action, data={"csrf": csrf, "email": address})).status_code == 404


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
async def test_the_invitation_page_on_a_phone_in_spanish(server, api, people, runtime, mail_settings, tmp_path):
    from playwright.async_api import async_playwright

    from beacon.school import invitations

    mail_settings.smtp_host = None
    _, client = api
    teacher = await sign_in(client, people["teacher"])
    address = f"fam-{uuid.uuid4().hex[:6]}@example.org"
    made = await client.post(f"/api/v1/teacher/students/{people['alice_id']}/guardian-invitations", headers=teacher,
                             json={"email": address, "preferred_language": "es"})
    assert made.status_code == 201, made.text
    path = "/invitations/" + invitations.token(runtime.settings, uuid.UUID(made.json()["id"]))
    async with async_playwright() as p:
        browser = await _launch(p)
        page = await (await browser.new_context(viewport=PHONE, locale="en-US")).new_page()
        await page.goto(server + path)
        await page.wait_for_selector("h1:has-text('Una invitación a Beacon')")
        assert await page.get_attribute("html", "lang") == "es"  # the family's language, not the browser's
        await _axe_clean(page)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        await page.screenshot(path=str(tmp_path / "invitation-es-phone.png"), full_page=True)
        await page.fill("input[name=full_name]", "Gloria Guardian")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button:has-text('Crear mi cuenta y aceptar')")
        await page.wait_for_url(re.compile(r"/guardian$"))
        assert "Alice" in await page.locator("main").inner_text()
        await _axe_clean(page)
        await page.goto(server + path)  # used: it says so
        assert "ya se aceptó" in await page.locator("main").inner_text()
        await browser.close()
