"""'My progress' in a real Chromium at a phone's width: axe clean, no sideways page scroll, and
a chart's points open the work (released feedback's page; a logged demonstration's entry); and
a Spanish-speaking family's view of the same progress, whose points open the family's pages."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from beacon.school import service as school
from beacon.school.auth import hash_password
from beacon.school.models import User
from beacon.school.schemas import StudentSeed
from tests.fixtures.rubrics import CONTINUUM
from tests.mastery.progress_helpers import continuum_current, log, release
from tests.web.test_browser import ARTIFACTS, CHROMIUM, PASSWORD, _launch, _shot, _sign_in
from tests.web.test_mastery_pages import _axe_clean

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def term(runtime):
    """A student with a term of evidence: demonstrations logged by hand, and released feedback."""
    tag = uuid.uuid4().hex[:8]
    async with runtime.db.transaction() as session:
        sch = await school.ensure_school(session, f"progress-{tag}", "Progress School")
        klass = await school.ensure_class(session, sch, "Humanities 8")
        teacher = await school.ensure_user(session, sch, f"teacher-{tag}@example.org", "Rosa Alvarez", "teacher")
        await school.enroll(session, klass, teacher, "teacher")
        student = await school.ensure_student(session, sch, klass, StudentSeed(
            first_name="Maya", last_name="Okafor", email=f"maya-{tag}@example.org", grade=8))
        (await session.get(User, student.id)).password_hash = hash_password(PASSWORD)
        family = await school.ensure_user(session, sch, f"family-{tag}@example.org", "Ngozi Okafor", "guardian")
        family.password_hash, family.preferred_language = hash_password(PASSWORD), "es"
        await school.ensure_guardianship(session, family, student)
    for on, levels, note in ((date(2025, 9, 12), {"audience": 2, "delivery": 1, "organization": 2}, "Pitch to the class"),
                             (date(2025, 10, 17), {"audience": 3, "delivery": 2}, "Exhibition night"),
                             (date(2025, 11, 21), {"audience": 3, "delivery": 3, "organization": 3}, "Town hall debate")):
        await log(runtime, teacher.id, student.id, "oral-communication", levels, on, note=note,
                  artifact_url="https://video.example.org/maya/" + on.isoformat())
    await log(runtime, teacher.id, student.id, "argument-writing", {"claim": 2, "evidence": 1, "reasoning": 2},
              date(2025, 9, 26), note="Letter to the editor, first draft")
    released = await release(runtime, teacher.id, student.id, title="Wind turbines on the ridge",
                             levels={"claim": 3, "evidence": 3, "reasoning": 2})
    return {"student": student.email, "student_id": student.id, "teacher_id": teacher.id, "release_id": released,
            "family": family.email}


async def test_my_progress_on_a_phone_and_a_point_opens_the_work(server, term):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _launch(p)
        page = await browser.new_page(viewport=PHONE)
        await _sign_in(page, server, term["student"])
        await page.goto(f"{server}/student/progress")
        await page.wait_for_selector("h1:has-text('My progress')")
        await _axe_clean(page)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        await _shot(page, "30-my-progress-phone")

        # A demonstration's point opens its entry in the evidence list, on this page.
        demo = page.locator("#c-oral-communication-audience ~ figure svg a").last
        target = await demo.get_attribute("href")
        assert target.startswith("#work-oral-communication-")
        await demo.click()
        assert page.url.endswith(target)
        assert "Town hall debate" in await page.locator(target).inner_text()

        # A released piece of work's point opens the work with its quoted evidence.
        point = page.locator(f"svg a[href='/student/releases/{term['release_id']}']").first
        await point.scroll_into_view_if_needed()
        await point.click()
        await page.wait_for_url(f"{server}/student/releases/{term['release_id']}")
        assert "Wind turbines on the ridge" in await page.locator("h1").inner_text()
        assert await page.locator("mark").count() > 0
        await browser.close()


async def test_a_12_level_continuum_on_a_phone(server, runtime, term):
    from playwright.async_api import async_playwright

    async with continuum_current(runtime):
        for on, level in ((date(2025, 9, 5), 3), (date(2025, 10, 3), 6), (date(2025, 11, 7), 9)):
            await log(runtime, term["teacher_id"], term["student_id"], CONTINUUM,
                      {"contribution": level, "communication": level - 1}, on, note="Robotics team meeting")
        async with async_playwright() as p:
            browser = await _launch(p)
            page = await browser.new_page(viewport=PHONE)
            await _sign_in(page, server, term["student"])
            await page.goto(f"{server}/student/progress#c-{CONTINUUM}")
            section = page.locator(f"#c-{CONTINUUM}")
            assert await section.locator("ol.levels li").count() == 12
            await _axe_clean(page)
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            await section.screenshot(path=str(ARTIFACTS / "31-my-progress-12-levels.png"))
            await browser.close()


async def test_a_familys_view_of_the_progress_on_a_phone_in_spanish(server, term):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _launch(p)
        page = await browser.new_page(viewport=PHONE, locale="en-US")  # the family's own language wins
        await _sign_in(page, server, term["family"])
        await page.click("a:has-text('Progreso')")
        await page.wait_for_selector("h1:has-text('El progreso de Maya')")
        assert await page.get_attribute("html", "lang") == "es"
        assert await page.locator("text=Desde septiembre, Maya pasó de").count() > 0
        await _axe_clean(page)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        await _shot(page, "32-family-progress-es-phone")

        # A released piece of work's point opens it on the family's page, not the student's.
        family_release = f"/guardian/children/{term['student_id']}/releases/{term['release_id']}"
        assert await page.locator("a[href^='/student/']").count() == 0
        point = page.locator(f"svg a[href='{family_release}']").first
        await point.scroll_into_view_if_needed()
        await point.click()
        await page.wait_for_url(f"{server}{family_release}")
        assert "Wind turbines on the ridge" in await page.locator("h1").inner_text()
        await browser.close()
