"""In a real Chromium at a tablet's width: the review screen with its "On the record" panel, the
queue's record cue and the released list, each passing axe-core's checks and never scrolling
sideways. Screenshots land in test-artifacts/ (30-32)."""

from __future__ import annotations

import pytest

from tests.classroom import ESSAY
from tests.web.test_browser import CHROMIUM, _launch, _shot, _sign_in, _wait_for_review_link, accounts  # noqa: F401
from tests.web.test_mastery_pages import TABLET, _axe_clean

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


async def _no_sideways_scroll(page):
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


async def test_record_panel_queue_cue_and_released_list_at_tablet_width(server, accounts):  # noqa: F811
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _launch(p)
        student = await browser.new_page()
        await _sign_in(student, server, accounts["student"])
        await student.fill("input[name=title]", "Wind turbines")
        await student.fill("textarea[name=body]", ESSAY)
        await student.click("button:has-text('Hand in')")

        teacher = await browser.new_page(viewport=TABLET)
        await _sign_in(teacher, server, accounts["teacher"])
        await (await _wait_for_review_link(teacher, server, 1)).first.click()
        await teacher.wait_for_load_state("networkidle")
        assert "None released on this competency yet." in await teacher.locator("#record").inner_text()
        await teacher.fill("#feedback", "Maya, your claim is clear.\nNext: name the source for the cost savings.")
        async with teacher.expect_navigation(timeout=20_000):
            await teacher.click("#approve")
        await teacher.wait_for_load_state("networkidle")

        await student.goto(f"{server}/student")
        await student.fill("input[name=title]", "Town budget")
        await student.fill("textarea[name=body]", ESSAY.replace("wind turbines", "a budget"))
        await student.click("button:has-text('Hand in')")

        await _wait_for_review_link(teacher, server, 1)
        cue = await teacher.locator(".queue-item .record-cue").first.inner_text()
        assert "/4" in cue or "Not started" in cue
        await _axe_clean(teacher)
        await _no_sideways_scroll(teacher)
        await _shot(teacher, "30-teacher-queue-record-cue")
        await teacher.locator("a:has-text('Review')").first.click()
        await teacher.wait_for_load_state("networkidle")
        panel = await teacher.locator("#record").inner_text()
        assert "On the record" in panel and "Maya, your claim is clear." in panel and "Not revised yet" in panel
        assert "Next: name the source" not in panel  # the first line only
        await _axe_clean(teacher)
        await _no_sideways_scroll(teacher)
        await _shot(teacher, "31-teacher-review-on-the-record")

        await teacher.click("nav a:has-text('Released')")
        await teacher.wait_for_load_state("networkidle")
        rows = teacher.locator(".released-item")
        assert await rows.count() == 1
        assert "Maya, your claim is clear." in await rows.first.inner_text()
        await _axe_clean(teacher)
        await _no_sideways_scroll(teacher)
        await _shot(teacher, "32-teacher-released")
        await browser.close()
