"""The review app in a real headless Chromium (Debian's, driven by Playwright): a teacher edits
and approves, the student sees exactly that text; a rejected draft never shows; student text
with HTML and script is shown as text and never runs. Screenshots land in test-artifacts/."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid

import pytest

from beacon.school import service as school
from beacon.school.auth import hash_password
from beacon.school.models import User
from beacon.school.schemas import StudentSeed
from tests.classroom import ESSAY
from tests.conftest import PROJECT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = PROJECT / "test-artifacts"
PASSWORD = "browser-test-password"
HOSTILE = '<script>alert("pwned")</script><img src=x onerror="alert(1)"> <b>bold?</b>'

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("BEACON_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)


@pytest.fixture
async def accounts(runtime):
    tag = uuid.uuid4().hex[:8]
    async with runtime.db.transaction() as session:
        sch = await school.ensure_school(session, f"web-{tag}", "Web School")
        klass = await school.ensure_class(session, sch, "Studio")
        teacher = await school.ensure_user(session, sch, f"teacher-{tag}@example.org", "Rosa Alvarez", "teacher")
        await school.enroll(session, klass, teacher, "teacher")
        student = await school.ensure_student(session, sch, klass, StudentSeed(
            first_name="Maya", last_name="Okafor", email=f"maya-{tag}@example.org", grade=8))
        admin = await school.ensure_user(session, sch, f"admin-{tag}@example.org", "Ada Admin", "admin")
        coach = await school.ensure_user(session, sch, f"coach-{tag}@example.org", "Cy Coach", "coach")
        for user in (teacher, student, admin, coach):
            (await session.get(User, user.id)).password_hash = hash_password(PASSWORD)
    return {"teacher": teacher.email, "student": student.email, "admin": admin.email, "coach": coach.email}


async def _sign_in(page, base, email):
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")


async def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def _launch(playwright):
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"])


async def _wait_for_review_link(page, base, count):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await page.goto(f"{base}/teacher")
        links = page.locator("a:has-text('Review')")
        if await links.count() >= count:
            return links
        await asyncio.sleep(0.3)
    raise AssertionError("no draft reached the teacher's queue")


async def test_teacher_approves_student_sees_exactly_that_and_never_a_rejection(server, accounts):
    from playwright.async_api import async_playwright

    teacher_email, student_email = accounts["teacher"], accounts["student"]
    async with async_playwright() as p:
        browser = await _launch(p)
        dialogs: list[str] = []

        student = await browser.new_page()
        student.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
        await _sign_in(student, server, student_email)
        await student.fill("input[name=title]", "Wind turbines")
        await student.fill("textarea[name=body]", ESSAY + "\n\n" + HOSTILE)
        await student.click("button:has-text('Hand in')")
        await student.fill("input[name=title]", "Second thoughts")
        await student.fill("textarea[name=body]", "I changed my mind about the turbines because the birds matter more to me now.")
        await student.click("button:has-text('Hand in')")
        assert await student.locator("text=with your teacher").count() == 2
        assert await student.title() == "My work · Beacon"
        await _shot(student, "01-student-handed-in")

        teacher = await browser.new_page()
        await _sign_in(teacher, server, teacher_email)
        await _wait_for_review_link(teacher, server, 2)
        await _shot(teacher, "02-teacher-queue")

        # Reject the short one, approve the essay with an edit and one level changed.
        for _ in range(2):
            await teacher.goto(f"{server}/teacher")
            await teacher.locator("a:has-text('Review')").first.click()
            title = await teacher.locator("h1").inner_text()
            if "Second thoughts" in title:
                await teacher.fill("input[name=reason]", "Let's talk about this one in class")
                await teacher.click("#reject")
            else:
                assert await teacher.locator("#work mark").count() >= 1  # evidence highlighted in place
                assert HOSTILE in await teacher.locator("#work").inner_text()  # shown as text
                await _shot(teacher, "03-teacher-review")
                await teacher.fill("#feedback", "Maya, your claim is clear. Next: name the source for the cost savings.")
                await teacher.locator("input[type=radio]").first.check()
                # Ctrl+A in the work selects text; it must never approve.
                await teacher.locator("#work").click()
                await teacher.keyboard.press("Control+A")
                await teacher.keyboard.press("Meta+A")
                assert await teacher.locator("#undo").is_hidden()
                # An approval waits with an Undo: undone, nothing is sent.
                await teacher.click("#approve")
                await teacher.wait_for_selector("#undo:visible")
                await _shot(teacher, "03b-teacher-approve-undo")
                await teacher.click("#undo button")
                await asyncio.sleep(6)
                assert "/teacher/drafts/" in teacher.url and await teacher.locator("#approve").is_enabled()
                async with teacher.expect_navigation(timeout=20_000):
                    await teacher.click("#approve")
            await teacher.wait_for_load_state("networkidle")

        await student.goto(f"{server}/student")
        await _shot(student, "04-student-home")
        links = student.locator("a:has-text('Feedback on your')")
        assert await links.count() == 1  # the rejected draft never appears
        await links.first.click()
        await student.wait_for_load_state("networkidle")
        assert (await student.locator("#feedback").inner_text()).strip() == \
            "Maya, your claim is clear. Next: name the source for the cost savings."
        page_text = await student.content()
        assert "Let's talk about this one" not in page_text and "offline_model" not in page_text
        assert HOSTILE in await student.locator(".work").nth(1).inner_text()
        await _shot(student, "05-student-feedback")
        assert dialogs == []  # no script from student text ever ran
        await browser.close()



async def test_bulk_approve_in_place_then_revise_and_review_by_keyboard(server, accounts):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _launch(p)
        student = await browser.new_page()
        await _sign_in(student, server, accounts["student"])
        for title in ("Wind turbines", "Town budget"):
            await student.fill("input[name=title]", title)
            await student.fill("textarea[name=body]", ESSAY.replace("wind turbines", title.lower()))
            await student.click("button:has-text('Hand in')")

        teacher = await browser.new_page()
        await _sign_in(teacher, server, accounts["teacher"])
        await _wait_for_review_link(teacher, server, 2)
        # Each item's context is on the queue: levels and the start of the feedback.
        assert await teacher.locator(".queue-item").count() == 2
        # Filters apply in place: no flagged draft here, so filtering by a flag empties the list.
        await teacher.evaluate("window.__stillHere = true")
        await teacher.select_option("select[name=flag]", "prompt_injection")
        await teacher.wait_for_selector("text=Nothing waiting for this filter")
        assert await teacher.evaluate("window.__stillHere === true") and "flag=prompt_injection" in teacher.url
        await teacher.select_option("select[name=flag]", "")
        await teacher.wait_for_selector(".queue-item")
        assert "Claim" in await teacher.locator(".queue-item").first.inner_text()
        await teacher.evaluate("window.__stillHere = true")  # survives only an in-place swap
        await teacher.check("#all")
        await teacher.click("#bulk-approve")
        await teacher.wait_for_selector("text=Approved 2.")
        assert await teacher.evaluate("window.__stillHere === true")
        assert await teacher.locator(".queue-item").count() == 0
        await _shot(teacher, "06-teacher-bulk-approved")

        await student.goto(f"{server}/student")
        assert await student.locator("a:has-text('Feedback on your')").count() == 2
        await student.locator("a:has-text('Feedback on your')").first.click()
        await student.click("text=Revise and hand in again")
        body = student.locator("textarea[name=body]")
        assert "wind" in (await body.input_value()).lower() or "budget" in (await body.input_value()).lower()
        await body.fill((await body.input_value()) + " I added a source: the 2024 council energy report.")
        await _shot(student, "07-student-revise")
        await student.click("button:has-text('Hand in the revision')")
        await student.wait_for_load_state("networkidle")
        assert await student.locator("text=(revision)").count() == 1

        # The revision waits for the teacher, who approves it with the keyboard alone.
        await _wait_for_review_link(teacher, server, 1)
        await teacher.locator("a:has-text('Review')").first.click()
        await teacher.wait_for_load_state("networkidle")
        await teacher.fill("input[name=reason]", "")  # typing "r" into the reason box stays text
        await teacher.locator("input[name=reason]").press("r")
        assert await teacher.locator("input[name=reason]").input_value() == "r"
        await teacher.locator("input[name=reason]").fill("")
        await teacher.locator("h1").click()
        async with teacher.expect_navigation(timeout=20_000):
            await teacher.keyboard.press("a")
        await teacher.wait_for_selector("text=No other drafts are waiting.")
        await student.goto(f"{server}/student")
        assert await student.locator("a:has-text('Feedback on your')").count() == 3

        for role, path, name in (("admin", "/admin", "08-admin"), ("coach", "/coach", "09-coach")):
            page = await browser.new_page()
            await _sign_in(page, server, accounts[role])
            await page.goto(f"{server}{path}")
            await _shot(page, name)
        coach_text = await page.locator("main").inner_text()
        assert "Rosa Alvarez" in coach_text  # the teacher's three approvals are counted
        assert "(edited)" not in coach_text  # approving untouched text (CRLF from the browser) is no edit
        await browser.close()


async def test_student_asks_for_projects_teacher_approves_some_student_sees_only_those(server, accounts):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _launch(p)
        student = await browser.new_page()
        await _sign_in(student, server, accounts["student"])
        await student.fill("input[name=interests]", "skateboarding, filming, <b>physics</b>")
        await student.fill("input[name=weeks]", "4")
        await student.click("button:has-text('Ask for project ideas')")
        await student.wait_for_load_state("networkidle")
        assert await student.locator("#projects >> text=with your teacher").count() == 1

        teacher = await browser.new_page()
        await _sign_in(teacher, server, accounts["teacher"])
        await _wait_for_review_link(teacher, server, 1)
        assert "Project ideas" in await teacher.locator(".queue-item").first.inner_text()
        await teacher.locator("a:has-text('Review')").first.click()
        await teacher.wait_for_load_state("networkidle")
        assert await teacher.locator(".proposal").count() == 3
        titles = [await teacher.locator(f"input[name='title:{i}']").input_value() for i in range(3)]
        assert "<b>physics</b>" in await teacher.locator("main").inner_text()  # the student's words, as text
        await _shot(teacher, "10-teacher-project-ideas")
        await teacher.fill("input[name='title:0']", "Skate Science, edited by Ms. Alvarez")
        await teacher.locator("input[name=proposal][value='1']").uncheck()
        async with teacher.expect_navigation(timeout=20_000):
            await teacher.click("#approve")
        await teacher.wait_for_load_state("networkidle")

        await student.goto(f"{server}/student")
        await student.locator("a:has-text('Project ideas:')").click()
        await student.wait_for_load_state("networkidle")
        shown = await student.locator("main").inner_text()
        assert "Skate Science, edited by Ms. Alvarez" in shown and titles[2] in shown
        assert titles[1] not in shown and titles[0] not in shown  # the left-out idea and the pre-edit title
        await _shot(student, "11-student-project-ideas")
        await student.locator("button:has-text('Start this project')").first.click()
        await student.wait_for_load_state("networkidle")
        assert await student.locator("text=Started").count() == 1
        await student.goto(f"{server}/student")
        options = await student.locator("select[name=assignment_id] option").all_inner_texts()
        assert "Skate Science, edited by Ms. Alvarez (your project)" in options
        await _shot(student, "12-student-home-with-project")
        await browser.close()


async def test_regenerate_shows_progress_then_the_new_draft_and_a_late_second_decision_is_told(server, accounts):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _launch(p)
        student = await browser.new_page()
        await _sign_in(student, server, accounts["student"])
        await student.fill("input[name=title]", "Wind turbines")
        await student.fill("textarea[name=body]", ESSAY)
        await student.click("button:has-text('Hand in')")

        teacher = await browser.new_page()
        await _sign_in(teacher, server, accounts["teacher"])
        await (await _wait_for_review_link(teacher, server, 1)).first.click()
        await teacher.wait_for_load_state("networkidle")
        first = teacher.url
        stale = await browser.new_page()  # the same teacher in a second tab, on the same draft
        await _sign_in(stale, server, accounts["teacher"])
        await stale.goto(first)

        await teacher.fill("input[name=instructions]", "in Spanish")
        await teacher.click("button[value=regenerate]")
        # The request returns at once; the screen says it is regenerating, then opens the new draft.
        await teacher.wait_for_url(lambda url: url != first and "/teacher/drafts/" in url, timeout=30_000)
        assert "Próximos pasos" in await teacher.locator("#feedback").input_value()
        assert await teacher.locator("#feedback").get_attribute("lang") == "es"
        changed = await teacher.locator("#changed").inner_text()  # what the regeneration did
        assert "with “in Spanish”" in changed and "The feedback was rewritten (language: es)" in changed
        await _shot(teacher, "12-teacher-regenerated")

        async with stale.expect_navigation(timeout=20_000):
            await stale.click("#approve")  # approving what the other tab already sent back
        await stale.wait_for_load_state("networkidle")
        assert "Already sent back for regeneration by Rosa Alvarez" in await stale.locator("[role=alert]").inner_text()
        assert await stale.locator("#approve").count() == 0  # closed drafts show no decision buttons
        await _shot(stale, "13-teacher-late-decision")
        await student.goto(f"{server}/student")
        assert await student.locator("a:has-text('Feedback on your')").count() == 0
        await browser.close()
