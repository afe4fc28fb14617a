"""A Spanish-reading family opens their child's mastery report from a link (signed out: sign-in
brings them back to it) on a phone: the live report, then the one a teacher published, both in
Spanish, axe clean, never scrolling sideways, the child's own words marked in their language."""

from __future__ import annotations

from datetime import date

import pytest

from beacon.mastery import report as reports
from beacon.school import repository as school
from beacon.school.models import User
from tests.web.test_browser import CHROMIUM, PASSWORD, _launch
from tests.web.test_mastery_pages import _axe_clean
from tests.web.test_progress_browser import PHONE, term  # noqa: F401  (the fixture)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


async def _publish(runtime, term) -> str:  # noqa: F811
    """The teacher publishes the child's report for the term (as the class's publish does)."""
    async with runtime.db.transaction() as session:
        teacher, student = await session.get(User, term["teacher_id"]), await session.get(User, term["student_id"])
        [class_id] = await school.classes_of_student(session, student.id)
        row = await reports.publish(session, teacher, class_id, student, runtime.settings,
                                    start=date(2025, 11, 15), end=date.today())
        return str(row.id)


async def test_a_spanish_family_reads_the_report_on_a_phone(server, runtime, term, tmp_path):  # noqa: F811
    from playwright.async_api import async_playwright

    published = await _publish(runtime, term)
    child = term["student_id"]
    wanted = f"/guardian/children/{child}/report?from=2025-11-15&to={date.today().isoformat()}"
    async with async_playwright() as p:
        browser = await _launch(p)
        page = await browser.new_page(viewport=PHONE, locale="es-ES")
        # The link from the email, signed out: the sign-in page, then the report itself.
        await page.goto(f"{server}{wanted}")
        await page.wait_for_selector("input[name=email]")
        await page.fill("input[name=email]", term["family"])
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{server}{wanted}")
        assert await page.evaluate("document.documentElement.lang") == "es"
        assert "Informe de dominio de Maya Okafor" in await page.locator("h1").inner_text()
        assert "Informes publicados" in await page.locator("nav.published").inner_text()
        await _axe_clean(page)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        await page.screenshot(path=str(tmp_path / "report-es-phone.png"), full_page=True)

        # The published one: labelled with its day, the same report in Spanish.
        await page.click(f"a[href='/guardian/children/{child}/reports/{published}']")
        await page.wait_for_url(f"{server}/guardian/children/{child}/reports/{published}")
        assert "Publicado el" in await page.locator(".published-on").inner_text()
        if await page.locator("blockquote").count():
            assert await page.locator("blockquote").first.get_attribute("lang") == "en"
        await _axe_clean(page)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        await page.screenshot(path=str(tmp_path / "published-report-es-phone.png"), full_page=True)
        await browser.close()
    print(tmp_path)
