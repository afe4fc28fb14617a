"""/student/progress over ASGI: the growth said in words that celebrate it (and kindly when
there is none, or a dip), never a teacher's needs-support flag; a student's own page only; a
12-level continuum drawn whole; the page and the rubric in the student's language; and a
family's view of their own child's, in the family's language and the third person."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date

import pytest

from beacon.school import repository as school
from beacon.school.models import StudentProfile
from tests.api_client import PASSWORD, sign_in
from tests.fixtures.rubrics import CONTINUUM
from tests.mastery.progress_helpers import continuum_current, log, release

SEPT, OCT, NOV = date(2025, 9, 15), date(2025, 10, 20), date(2025, 11, 24)


def _words(page: str) -> str:
    """The page's text as a reader hears it: no tags, one space between words."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()).replace(" ,", ",").replace(" .", ".").replace(" :", ":")


async def _teacher(runtime, people):
    async with runtime.db.transaction() as session:
        return (await school.user_by_email(session, people["teacher"])).id


async def _page(client, email: str):
    client.cookies.clear()
    await client.post("/login", data={"email": email, "password": PASSWORD})
    return await client.get("/student/progress")


async def test_growth_in_words_and_never_a_teachers_flag(api, people, runtime):
    _, client = api
    teacher, alice = await _teacher(runtime, people), people["alice_id"]
    await log(runtime, teacher, alice, "argument-writing",
              {"claim": 2, "evidence": 2, "reasoning": 3, "counterargument": 3, "organization": 1, "conventions": 2}, SEPT)
    await log(runtime, teacher, alice, "argument-writing",
              {"claim": 4, "evidence": 2, "counterargument": 2, "organization": 1}, OCT, note="Town budget debate")
    await log(runtime, teacher, alice, "argument-writing", {"organization": 1}, NOV)  # three tries below: "stuck"
    await log(runtime, teacher, alice, "argument-writing", {"reasoning": 3}, NOV, source="override")

    page = await _page(client, people["alice"])
    assert page.status_code == 200, page.text[:500]
    words = _words(page.text)
    assert "Since September you moved from Developing to Proficient on Claim, in two pieces of work." in words
    assert "Two pieces so far: the next one shows where you are heading." in words  # evidence: no change
    assert "One piece so far: the next one shows where you are heading." in words  # reasoning
    assert ("Your latest work on Counterargument came in below where you started. That happens when the work gets "
            "harder: you have reached Proficient before, and the next piece is your chance to show it again.") in words
    # What teachers see about this student (stuck, a drop) is theirs: none of it here.
    for teachers_only in ("attempts at", "dropped from", "No rise", "needs support", "⚑", "stuck"):
        assert teachers_only not in words
    # Below mastery, the next level in the rubric's words; the evidence against what is required.
    assert "Next step: Proficient (3)" in words and "You support each reason with relevant, specific evidence" in words
    assert "Evidence: 2 pieces, 2 needed: complete." in words and "Evidence: 1 of 2 needed: one more to go." in words
    assert "Evidence: 1 of 2 needed: complete, your teacher confirmed it." in words  # an override
    # Every point is a link with a text alternative; the chart's table says the same.
    assert re.search(r'<a href="#work-argument-writing-2"><title>Oct 20, 2025: Town budget debate, Extending \(4\)</title>',
                     page.text)
    assert "My levels on Claim as a table" in words and "<details>" in page.text


async def test_released_work_is_linked_and_its_quotes_shown(api, people, runtime):
    _, client = api
    released = await release(runtime, await _teacher(runtime, people), people["alice_id"], title="Wind turbines")
    page = await _page(client, people["alice"])
    assert page.text.count(f'href="/student/releases/{released}"') >= 2  # a point, its table row, the evidence list
    assert "<blockquote" in page.text and "feedback on “Wind turbines”" in _words(page.text)
    assert '<blockquote class="work" lang="en">' in page.text  # her English words, voiced as English
    opened = await client.get(f"/student/releases/{released}")
    assert opened.status_code == 200 and "Wind turbines" in opened.text


async def test_a_student_reads_only_their_own_progress(api, people, runtime):
    _, client = api
    await log(runtime, await _teacher(runtime, people), people["alice_id"], "oral-communication", {"delivery": 3}, OCT,
              note="Alice's exhibition")
    assert "Alice" in (await _page(client, people["alice"])).text
    bobs = await _page(client, people["bob"])
    assert bobs.status_code == 200 and "Nothing here yet" in bobs.text and "exhibition" not in bobs.text
    for other in ("teacher", "admin", "coach"):  # not a student: as for every student page, 404
        assert (await _page(client, people[other])).status_code == 404
    client.cookies.clear()
    signed_out = await client.get("/student/progress")
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/login?next=/student/progress"


async def test_the_rubric_in_the_students_language(api, people, runtime):
    _, client = api
    async with runtime.db.transaction() as session:
        (await session.get(StudentProfile, people["alice_id"])).preferred_language = "es"
    await log(runtime, await _teacher(runtime, people), people["alice_id"], "argument-writing", {"claim": 2}, OCT)
    words = _words((await _page(client, people["alice"])).text)
    assert "Escritura argumentativa" in words and "Tesis" in words and "En desarrollo" in words


@pytest.fixture
async def continuum(runtime):
    async with continuum_current(runtime) as definition:
        yield definition


async def test_a_12_level_continuum_is_drawn_whole(api, people, runtime, continuum):
    _, client = api
    await log(runtime, await _teacher(runtime, people), people["alice_id"], CONTINUUM, {"contribution": 4}, SEPT)
    await log(runtime, await _teacher(runtime, people), people["alice_id"], CONTINUUM, {"contribution": 9}, NOV)
    page = (await _page(client, people["alice"])).text
    levels = re.search(r'<ol class="levels".*?</ol>', page, re.DOTALL).group(0)
    assert [html.unescape(label) for label in re.findall(r'<span class="n">\d+</span> ([^<]+?)\s*(?:<|$)', levels)] == \
        [lv.label for lv in continuum.levels]
    assert "12 levels, from Starting to Transforming, with mastery at Meeting (8)" in page
    # The chart's gridlines: one per level.
    chart = re.search(r'<svg role="group" aria-labelledby="c-collaboration-continuum-contribution-summary".*?</svg>',
                      page, re.DOTALL).group(0)
    assert chart.count('class="grid"') == 12
    words = _words(page)
    assert "Since September you moved from Practising to Approaching on Contributing to the Team" in words


async def test_a_spanish_speaking_student_reads_her_progress_in_spanish(api, people, runtime):
    _, client = api
    async with runtime.db.transaction() as session:
        (await session.get(StudentProfile, people["alice_id"])).preferred_language = "es"
    teacher = await _teacher(runtime, people)
    await log(runtime, teacher, people["alice_id"], "argument-writing", {"claim": 2, "evidence": 2}, SEPT)
    await log(runtime, teacher, people["alice_id"], "argument-writing", {"claim": 4}, OCT, note="Debate del presupuesto")
    page = await _page(client, people["alice"])
    words = _words(page.text.partition("<main>")[2])  # the page's words, not its style sheet
    assert '<html lang="es">' in page.text and page.headers["content-language"] == "es"
    assert "<title>Mi progreso · Beacon</title>" in page.text
    assert "Desde septiembre pasaste de En desarrollo a Competente en Tesis, en dos trabajos." in words, words
    assert "Un trabajo hasta ahora: el próximo mostrará hacia dónde vas." in words  # evidence: one rating
    assert "Evidencia: 1 de 2: falta uno." in words and "20 oct 2025: Debate del presupuesto" in page.text
    for english in ("Since", "pieces", "Next step", "mastery", "you are here"):
        assert english not in words, english
    assert 'lang="en"' not in page.text  # the rubric is translated: nothing on the page is English
    # And an English speaker's page is English, whatever Spanish is in the catalogue.
    await log(runtime, teacher, people["bob_id"], "argument-writing", {"claim": 2}, SEPT)
    await log(runtime, teacher, people["bob_id"], "argument-writing", {"claim": 4}, OCT)
    page = await _page(client, people["bob"])
    assert '<html lang="en">' in page.text and "<title>My progress · Beacon</title>" in page.text
    assert "Since September you moved from Developing to Proficient on Claim, in two pieces of work." in _words(page.text)
    assert "Desde" not in page.text


async def _family(client, people, language: str) -> tuple[dict, str]:
    """A guardian of Alice's (not Bob's) who reads ``language``: the admin's headers and the guardian's email."""
    admin = await sign_in(client, people["admin"])
    email = f"g-{uuid.uuid4().hex[:6]}@example.org"
    made = await client.post("/api/v1/admin/people", headers=admin, json={
        "full_name": "Gloria Guardian", "email": email, "role": "guardian", "password": PASSWORD,
        "preferred_language": language})
    assert made.status_code == 201, made.text
    linked = await client.put(f"/api/v1/admin/guardians/{made.json()['id']}/students/{people['alice_id']}", headers=admin)
    assert linked.status_code == 200, linked.text
    return admin, email


async def test_a_family_reads_their_childs_progress_in_their_language_in_the_third_person(api, people, runtime):
    _, client = api
    teacher = await _teacher(runtime, people)
    await log(runtime, teacher, people["alice_id"], "argument-writing", {"claim": 2, "evidence": 2}, SEPT)
    await log(runtime, teacher, people["alice_id"], "argument-writing", {"claim": 4}, OCT, note="Town budget debate")
    released = await release(runtime, teacher, people["alice_id"], title="Wind turbines", levels={"claim": 4})
    await log(runtime, teacher, people["bob_id"], "argument-writing", {"claim": 3}, OCT, note="Bob's debate")
    _, email = await _family(client, people, "es")  # Alice herself reads English
    client.cookies.clear()
    await client.post("/login", data={"email": email, "password": PASSWORD})

    home = await client.get("/guardian")
    assert f'<a href="/guardian/children/{people["alice_id"]}/progress"' in home.text and ">Progreso</a>" in home.text
    page = await client.get(f"/guardian/children/{people['alice_id']}/progress")
    assert page.status_code == 200, page.text[:500]
    words = _words(page.text.partition("<main>")[2])
    assert '<html lang="es">' in page.text and "<title>El progreso de Alice · Beacon</title>" in page.text
    assert "Escritura argumentativa" in words  # the rubric in the family's language too
    assert re.search(r"Desde septiembre, Alice pasó de En desarrollo a \w+ en Tesis, en tres trabajos\.", words), words
    assert "algo que Alice le mostró a su docente: Town budget debate" in words
    for second_person in ("pasaste", "tu docente", "Mi progreso", "Mis niveles", "estás aquí", "Since", "you"):
        assert second_person not in words, second_person
    # A point, its table row and the evidence list open the release on the family's own page.
    family_release = f'href="/guardian/children/{people["alice_id"]}/releases/{released}"'
    assert page.text.count(family_release) >= 3 and "/student/releases/" not in page.text
    assert (await client.get(f"/guardian/children/{people['alice_id']}/releases/{released}")).status_code == 200
    for teachers_only in ("needs support", "stuck", "⚑", "Bob"):
        assert teachers_only not in words

    # Another child, or no child at all, is not found.
    for other in (people["bob_id"], uuid.uuid4()):
        assert (await client.get(f"/guardian/children/{other}/progress")).status_code == 404
    client.cookies.clear()
    await client.post("/login", data={"email": people["alice"], "password": PASSWORD})
    assert (await client.get(f"/guardian/children/{people['alice_id']}/progress")).status_code == 404  # not a guardian


async def test_an_english_speaking_family_reads_english_in_the_third_person(api, people, runtime):
    _, client = api
    teacher = await _teacher(runtime, people)
    await log(runtime, teacher, people["alice_id"], "argument-writing", {"claim": 2, "counterargument": 3}, SEPT)
    await log(runtime, teacher, people["alice_id"], "argument-writing", {"claim": 4, "counterargument": 2}, OCT)
    _, email = await _family(client, people, "en")
    client.cookies.clear()
    await client.post("/login", data={"email": email, "password": PASSWORD})
    page = await client.get(f"/guardian/children/{people['alice_id']}/progress")
    words = _words(page.text)
    assert '<html lang="en">' in page.text and "<title>Alice's progress · Beacon</title>" in page.text
    assert "Since September Alice moved from Developing to Proficient on Claim, in two pieces of work." in words
    assert ("Alice's latest work on Counterargument came in below where they started. That happens when the work "
            "gets harder: Alice has reached Proficient before, and the next piece is the chance to show it again.") in words
    assert "Alice's levels on Claim as a table" in words and "My levels" not in words and "Your latest" not in words


async def test_what_a_student_or_teacher_wrote_is_shown_as_text_never_as_markup(api, people, runtime):
    """The points, the table rows and the evidence list are worded in Python (for speed): every
    note and title in them is escaped, in the point's title, the row's link and the evidence."""
    _, client = api
    teacher = await _teacher(runtime, people)
    note = 'Debate <img src=x onerror="alert(1)"> & "quotes"'
    await log(runtime, teacher, people["alice_id"], "argument-writing", {"claim": 3}, OCT, note=note)
    released = await release(runtime, teacher, people["alice_id"], title='Wind <b>turbines</b>')
    page = (await _page(client, people["alice"])).text
    assert "<img src=x" not in page and "<b>turbines</b>" not in page
    escaped = 'Debate &lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; &#34;quotes&#34;'
    assert page.count(escaped) >= 3  # the point's title, its table row, the evidence list
    assert page.count("Wind &lt;b&gt;turbines&lt;/b&gt;") >= 3
    assert f'<a href="/student/releases/{released}">feedback on “Wind &lt;b&gt;turbines&lt;/b&gt;”</a>' in page
