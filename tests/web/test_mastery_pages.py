"""The mastery pages in a real Chromium: a teacher logs a presentation for one student, "Save and
next student" keeps the task for the next, the class grid shows both with words and numbers
(not colour alone), a cell opens by keyboard with its ratings and evidence, and both pages pass
axe-core's accessibility checks at a tablet's size."""

from __future__ import annotations

import uuid

import pytest

from beacon.school import service as school
from beacon.school.auth import hash_password
from beacon.school.models import User
from beacon.school.schemas import StudentSeed
from tests.web.test_browser import CHROMIUM, PASSWORD, _launch, _shot, _sign_in

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
TABLET = {"width": 820, "height": 1180}


@pytest.fixture
async def classroom(runtime):
    tag = uuid.uuid4().hex[:8]
    async with runtime.db.transaction() as session:
        sch = await school.ensure_school(session, f"grid-{tag}", "Grid School")
        klass = await school.ensure_class(session, sch, "Humanities 8")
        teacher = await school.ensure_user(session, sch, f"teacher-{tag}@example.org", "Rosa Alvarez", "teacher")
        await school.enroll(session, klass, teacher, "teacher")
        for first, last in (("Maya", "Okafor"), ("Luis", "Ortega")):
            await school.ensure_student(session, sch, klass, StudentSeed(
                first_name=first, last_name=last, email=f"{first.lower()}-{tag}@example.org", grade=8))
        admin = await school.ensure_user(session, sch, f"admin-{tag}@example.org", "Ada Admin", "admin")
        for person in (teacher, admin):
            (await session.get(User, person.id)).password_hash = hash_password(PASSWORD)
    return {"teacher": teacher.email, "teacher_id": teacher.id, "admin": admin.email, "class_id": klass.id}


async def _axe_clean(page):
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


async def test_log_a_demonstration_then_next_student_then_the_grid_by_keyboard(server, classroom):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _launch(p)
        page = await browser.new_page(viewport=TABLET)
        await _sign_in(page, server, classroom["teacher"])
        await page.goto(f"{server}/teacher/ratings/new")
        await page.select_option("select[name=competency_id]", "oral-communication")
        await page.wait_for_selector("select[name='level:delivery']")
        await _axe_clean(page)

        await page.check("label.pick:has-text('Luis Ortega') input")
        await page.fill("input[name=work_date]", "2026-10-14")
        await page.select_option("select[name='level:audience']", "3")
        await page.select_option("select[name='level:delivery']", "2")
        await page.select_option("select[name='level:visuals']", "missed")
        await page.fill("textarea[name=note]", "Exhibition night: the water-rights presentation")
        await page.fill("input[name=artifact_url]", "https://video.example.org/exhibition/12")
        await page.click("button:has-text('Save and next student')")
        await page.wait_for_load_state("networkidle")
        assert "Saved for 1 student." in await page.locator(".notice").inner_text()
        # The task stays; the next student in the class (by name: Maya after Luis) is ticked.
        assert await page.locator("label.pick:has-text('Maya Okafor') input").is_checked()
        assert not await page.locator("label.pick:has-text('Luis Ortega') input").is_checked()
        assert await page.input_value("textarea[name=note]") == "Exhibition night: the water-rights presentation"
        assert await page.input_value("input[name=work_date]") == "2026-10-14"
        await page.select_option("select[name='level:audience']", "4")
        await page.select_option("select[name='level:delivery']", "4")
        await _shot(page, "20-log-a-demonstration")
        await page.click("button:has-text('Save'):not(:has-text('next'))")
        await page.wait_for_load_state("networkidle")

        assert page.url.startswith(f"{server}/teacher/mastery")
        cells = page.locator("td.cell button")
        assert await cells.count() == 2  # two students × the one competency with evidence
        luis = page.locator("tr:has(th:has-text('Luis Ortega')) td.cell button")
        assert "Emerging" in await luis.inner_text() or "Approaching" in await luis.inner_text()
        assert "Oral" in (await luis.get_attribute("aria-label"))
        await _axe_clean(page)
        # The page itself never scrolls sideways on a tablet; the grid region does if it must.
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        await _shot(page, "21-class-grid")

        # Keyboard: focus Luis's cell and press Enter; the detail shows his ratings and evidence.
        await luis.focus()
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#detail h2:has-text('Luis Ortega')")
        detail = await page.locator("#detail").inner_text()
        assert "Exhibition night" in detail and "missed" in detail and "logged demonstration" in detail
        assert await page.locator("#detail a:has-text('The artifact')").get_attribute("href") == \
            "https://video.example.org/exhibition/12"
        await _axe_clean(page)
        await _shot(page, "22-grid-cell-detail")

        # Filter by status in place.
        await page.select_option("select[name=status]", "met")
        await page.wait_for_selector("text=No student matches.")
        await browser.close()


async def test_the_schools_record_for_its_admin(server, runtime, classroom):
    """An admin reads the school at a glance (students by status per competency, who needs
    support) and opens one student's every competency; axe clean on a phone's width."""
    from datetime import date, timedelta

    from playwright.async_api import async_playwright

    from beacon.mastery import service as mastery
    from beacon.mastery.schemas import NewRatings

    async with runtime.db.transaction() as session:
        teacher = await session.get(User, classroom["teacher_id"])
        students = await mastery.repository.students_of_class(session, classroom["class_id"])
        luis = next(s for s in students if s.full_name.startswith("Luis"))
        for weeks, level in ((9, 1), (6, 1), (3, 1)):  # three tries below Proficient: stuck
            await mastery.log_ratings(session, teacher, NewRatings(
                student_ids=[luis.id], competency_id="oral-communication", work_date=date.today() - timedelta(weeks=weeks),
                ratings=[{"criterion_id": "delivery", "level": level}]))
    async with async_playwright() as p:
        browser = await _launch(p)
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await _sign_in(page, server, classroom["admin"])
        await page.goto(f"{server}/admin/mastery")
        row = page.locator("tr:has(th:has-text('Oral Communication'))")
        assert [await row.locator("td").nth(i).inner_text() for i in range(5)] == ["1", "1", "0", "0", "1"]
        await _axe_clean(page)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        await _shot(page, "23-admin-school-record")
        await page.click("a:has-text('Luis Ortega')")
        await page.wait_for_selector("h1:has-text('Luis Ortega')")
        assert "attempts at Delivery" in await page.locator("table.mastery").inner_text()
        await _axe_clean(page)
        await browser.close()
