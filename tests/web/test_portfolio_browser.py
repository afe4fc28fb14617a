"""'My portfolio' in a real Chromium at a phone's width: axe clean, no sideways page scroll, the
filter form narrowing it; the shared link's page, signed out, in a Spanish visitor's language;
and a Spanish-speaking family's view. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import re

import pytest

from tests.classroom import ESSAY
from tests.mastery.progress_helpers import release
from tests.mastery.test_portfolio import QUESTION, start_project
from tests.web.test_browser import CHROMIUM, _launch, _sign_in
from tests.web.test_mastery_pages import _axe_clean
from tests.web.test_progress_browser import PHONE, term  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


@pytest.fixture
async def with_project(runtime, term):  # noqa: F811
    project = await start_project(runtime, term["student_id"], term["teacher_id"])
    await release(runtime, term["teacher_id"], term["student_id"], title="Skate park letter",
                  body=ESSAY.replace("wind turbines", "a skate park"), assignment_id=project)
    return term


async def _fits_a_phone(page, shot: str):
    await _axe_clean(page)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await page.screenshot(path=shot, full_page=True)


async def test_my_portfolio_on_a_phone_filtered_and_shared(server, with_project, tmp_path):
    from playwright.async_api import async_playwright

    t = with_project
    async with async_playwright() as p:
        browser = await _launch(p)
        page = await browser.new_page(viewport=PHONE)
        await _sign_in(page, server, t["student"])
        await page.goto(f"{server}/student/progress")
        await page.click("header nav a:has-text('My portfolio')")
        await page.wait_for_selector("h1:has-text('My portfolio')")
        await _fits_a_phone(page, str(tmp_path / "portfolio-phone.png"))
        body = await page.locator("main").inner_text()
        assert "Wind turbines on the ridge" in body and "Town hall debate" in body and QUESTION in body

        # The filter form by keyboard-reachable controls: only what was shown to a teacher.
        await page.select_option("select[name=kind]", "demonstration")
        await page.click("button:has-text('Show')")
        await page.wait_for_url(re.compile(r"kind=demonstration"))
        body = await page.locator("main").inner_text()
        assert "Town hall debate" in body and "Wind turbines on the ridge" not in body
        assert "kind=demonstration" in await page.locator("a:has-text('Download as PDF')").get_attribute("href")
        await _fits_a_phone(page, str(tmp_path / "portfolio-filtered-phone.png"))

        # A link to share: shown once, opened signed out by a Spanish-speaking visitor.
        await page.goto(f"{server}/student/portfolio")
        await page.click("button:has-text('Make a link')")
        notice = await page.locator("p.notice").inner_text()
        url = re.search(r"(http\S+/portfolio/[\w-]+)", notice).group(1)
        await _fits_a_phone(page, str(tmp_path / "portfolio-share-phone.png"))
        visitor = await browser.new_context(viewport=PHONE, locale="es-ES")
        shared = await visitor.new_page()
        await shared.goto(url)
        await shared.wait_for_selector("h1:has-text('Portafolio de Maya')")
        assert await shared.locator("form[method=post]").count() == 0
        await _fits_a_phone(shared, str(tmp_path / "portfolio-shared-es-phone.png"))
        await shared.locator("a:has-text('Wind turbines on the ridge')").first.click()
        await shared.wait_for_url(re.compile(r"/releases/"))
        assert await shared.locator("mark").count() > 0
        await browser.close()


async def test_a_familys_portfolio_on_a_phone_in_spanish(server, with_project, tmp_path):
    from playwright.async_api import async_playwright

    t = with_project
    async with async_playwright() as p:
        browser = await _launch(p)
        page = await browser.new_page(viewport=PHONE, locale="en-US")  # the family's own language wins
        await _sign_in(page, server, t["family"])
        await page.click("a:has-text('Portafolio')")
        await page.wait_for_selector("h1:has-text('Portafolio de Maya')")
        assert await page.get_attribute("html", "lang") == "es"
        await _fits_a_phone(page, str(tmp_path / "family-portfolio-es-phone.png"))
        await browser.close()
