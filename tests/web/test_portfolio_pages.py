"""The portfolio's pages (issue 15): "My portfolio" filtered by a GET form and as a PDF; a shared
link opening it read-only, signed out, in the visitor's language, until the student or a
teacher of theirs stops it; a family's view of their own child's only. Out of scope is 404, a
bad filter 422."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import text

from tests.classroom import ESSAY
from tests.mastery.progress_helpers import log, release
from tests.mastery.test_portfolio import QUESTION, start_project
from tests.web.test_goals_reflections import _csrf, _page_as
from tests.web.test_progress_page import _family, _teacher, _words
from tests.web.test_reports import _ink, _pages


async def _alice_evidence(runtime, people) -> dict:
    teacher_id = await _teacher(runtime, people)
    wind = await release(runtime, teacher_id, people["alice_id"], title="Wind turbines")
    await log(runtime, teacher_id, people["alice_id"], "oral-communication", {"audience": 3, "delivery": 2},
              date(2025, 10, 17), note="Exhibition night")
    project = await start_project(runtime, people["alice_id"], teacher_id)
    produced = await release(runtime, teacher_id, people["alice_id"], title="Skate park letter",
                             body=ESSAY.replace("wind turbines", "a skate park"), assignment_id=project)
    await release(runtime, teacher_id, people["bob_id"], title="Bob's bikes")
    return {"wind": wind, "produced": produced}


async def _make_link(client) -> str:
    page = await client.get("/student/portfolio")
    made = await client.post("/student/portfolio-links", data={"csrf": _csrf(page)})
    assert made.status_code == 303 and made.headers["location"] == "/student/portfolio#share"
    shown = await client.get("/student/portfolio")
    return re.search(r"http://beacon\.test(/portfolio/[\w-]+)", shown.text).group(1)


async def test_my_portfolio_filtered_and_as_a_pdf(api, people, runtime, tmp_path):
    _, client = api
    found = await _alice_evidence(runtime, people)
    page = await _page_as(client, people["alice"], "/student/portfolio")
    assert page.status_code == 200, page.text[:500]
    words = _words(page.text)
    for shown in ("My portfolio", "feedback on “Wind turbines”", "something you showed your teacher: Exhibition night",
                  "started “Skate park pitch”", QUESTION, "“Skate park letter”, feedback released", "English Language Arts",
                  "Durable Skills", "4 pieces of evidence", "In your own words:"):
        assert shown in words, shown
    assert f'href="/student/releases/{found["wind"]}"' in page.text
    assert f'href="/student/releases/{found["produced"]}"' in page.text
    assert "Bob" not in words and 'href="/student/portfolio.pdf"' in page.text
    assert '<blockquote class="work" lang="en">' in page.text  # her quotes keep their language's voice
    assert 'href="/student/portfolio"' in (await client.get("/student")).text  # in the navigation

    narrowed = await client.get("/student/portfolio", params={"kind": "demonstration", "from": "", "to": ""})
    words = _words(narrowed.text)
    assert "Exhibition night" in words and "Wind turbines" not in words and "1 piece of evidence" in words
    assert 'href="/student/portfolio.pdf?kind=demonstration"' in narrowed.text
    assert '<option value="demonstration" selected>' in narrowed.text
    none = await client.get("/student/portfolio", params={"competency": "mathematical-modeling"})
    assert none.status_code == 200 and "Nothing matches these filters." in _words(none.text)
    for bad in ({"kind": "goal"}, {"from": "soon"}, {"from": "2025-10-02", "to": "2025-10-01"}, {"subject": "Cooking"},
                {"competency": "../../etc"}, {"competency": "x" * 500}):
        refused = await client.get("/student/portfolio", params=bad)
        assert refused.status_code == 422, (bad, refused.status_code)
        assert (await client.get("/student/portfolio.pdf", params=bad)).status_code == 422

    pdf = await client.get("/student/portfolio.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    images, texts = _pages(pdf.content)
    assert _ink(images[0]) > 0.01
    images[0].save(tmp_path / "portfolio-pdf-page-1.png")  # to look at
    said = " ".join(" ".join(t.split()) for t in texts)
    assert "Wind turbines" in said and "Exhibition night" in said and QUESTION in said
    only = await client.get("/student/portfolio.pdf", params={"kind": "project"})
    said = " ".join(" ".join(t.split()) for t in _pages(only.content)[1])
    assert "Skate park pitch" in said and "Exhibition night" not in said

    # Bob reads his own, never Alice's.
    bobs = _words((await _page_as(client, people["bob"], "/student/portfolio")).text)
    assert "Bob's bikes" in bobs and "Wind turbines" not in bobs and "Skate park" not in bobs


async def test_a_shared_link_opens_it_read_only_in_the_visitors_language_until_stopped(api, people, runtime):
    _, client = api
    found = await _alice_evidence(runtime, people)
    await _page_as(client, people["alice"], "/student/portfolio")
    path = await _make_link(client)
    token = path.rsplit("/", 1)[1]
    async with runtime.db.transaction() as db:
        stored = (await db.execute(text("SELECT token_hash FROM portfolio_links WHERE student_id = :s"),
                                   {"s": people["alice_id"]})).scalars().all()
    assert stored and token not in stored[0]

    client.cookies.clear()
    shared = await client.get(path)
    assert shared.status_code == 200, shared.text[:500]
    words = _words(shared.text)
    assert "Alice's portfolio" in words and "something Alice showed a teacher: Exhibition night" in words
    assert "In Alice's own words:" in words and "started “Skate park pitch”" in words
    for hidden in ("My portfolio", "Make a link", "Stop this link", 'method="post"', "Bob", "My goal"):
        assert hidden not in shared.text, hidden
    assert f'href="{path}/releases/{found["wind"]}"' in shared.text
    assert (await client.get(f"{path}/releases/{found['wind']}")).status_code == 200
    assert (await client.get(path, params={"kind": "feedback"})).status_code == 200
    assert (await client.get(path, params={"kind": "nonsense"})).status_code == 422

    spanish = await client.get(path, headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert "Portafolio de Alice" in _words(spanish.text) and 'lang="es"' in spanish.text
    pdf = await client.get(f"{path}.pdf", headers={"Accept-Language": "es"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    images, texts = _pages(pdf.content)
    assert _ink(images[0]) > 0.01 and "Portafolio de Alice" in " ".join(texts[0].split())

    # She stops it from her portfolio: the page, its releases and its PDF are gone.
    page = await _page_as(client, people["alice"], "/student/portfolio")
    link_id = re.search(r'action="/student/portfolio-links/([\w-]+)/revoke"', page.text).group(1)
    stopped = await client.post(f"/student/portfolio-links/{link_id}/revoke", data={"csrf": _csrf(page)})
    assert stopped.status_code == 303 and stopped.headers["location"] == "/student/portfolio#share"
    client.cookies.clear()
    for gone in (path, f"{path}.pdf", f"{path}/releases/{found['wind']}", "/portfolio/nope", "/portfolio/nope.pdf"):
        assert (await client.get(gone)).status_code == 404, gone


async def test_a_family_reads_their_own_childs_portfolio_only(api, people, runtime):
    _, client = api
    await _alice_evidence(runtime, people)
    _, email = await _family(client, people, "es")
    home = await _page_as(client, email, "/guardian")
    assert f'href="/guardian/children/{people["alice_id"]}/portfolio"' in home.text
    page = await client.get(f"/guardian/children/{people['alice_id']}/portfolio")
    assert page.status_code == 200
    words = _words(page.text)
    assert "Portafolio de Alice" in words and "Lengua y literatura" in words and "Proyecto" in words
    assert f'href="/guardian/children/{people["alice_id"]}/releases/' in page.text
    assert 'method="post"' not in page.text.partition("<main>")[2]
    pdf = await client.get(f"/guardian/children/{people['alice_id']}/portfolio.pdf")
    assert pdf.status_code == 200 and _ink(_pages(pdf.content)[0][0]) > 0.01
    for other in (f"/guardian/children/{people['bob_id']}/portfolio", f"/guardian/children/{people['bob_id']}/portfolio.pdf",
                  "/guardian/children/not-an-id/portfolio"):
        assert (await client.get(other)).status_code in (404, 422), other
    assert (await client.get(f"/guardian/children/{people['bob_id']}/portfolio")).status_code == 404
    # A student is not a family, and a signed-out visitor is sent to sign in.
    await _page_as(client, people["bob"], "/student")
    assert (await client.get(f"/guardian/children/{people['alice_id']}/portfolio")).status_code == 404
    client.cookies.clear()
    assert (await client.get("/student/portfolio")).status_code == 303


async def test_a_teacher_of_the_student_stops_a_link_and_nobody_else_can(api, people, runtime):
    _, client = api
    await _alice_evidence(runtime, people)
    await _page_as(client, people["alice"], "/student/portfolio")
    path = await _make_link(client)
    token = path.rsplit("/", 1)[1]
    cell = f"/teacher/mastery/students/{people['alice_id']}/argument-writing"

    # Her teacher sees when the link was made, never the token, with a button to stop it.
    page = await _page_as(client, people["teacher"], cell)
    assert page.status_code == 200 and "Stop this link" in page.text and token not in page.text
    action = re.search(r'action="(/teacher/students/[\w-]+/portfolio-links/([\w-]+)/revoke)"', page.text)
    url, link_id = action.group(1), action.group(2)
    csrf = _csrf(page)

    # Another teacher (not hers), a student, or the wrong student in the path: 404, and the link still opens.
    other = await _page_as(client, people["stranger"], "/teacher")
    assert (await client.post(url, data={"csrf": _csrf(other), "back": cell})).status_code == 404
    bob = await _page_as(client, people["bob"], "/student/portfolio")
    assert (await client.post(url, data={"csrf": _csrf(bob)})).status_code == 404
    page = await _page_as(client, people["teacher"], cell)
    csrf = _csrf(page)
    wrong = f"/teacher/students/{people['bob_id']}/portfolio-links/{link_id}/revoke"
    assert (await client.post(wrong, data={"csrf": csrf})).status_code == 404
    client.cookies.clear()
    assert (await client.get(path)).status_code == 200

    # Her teacher stops it: back to the page, told so, and the link no longer opens.
    page = await _page_as(client, people["teacher"], cell)
    done = await client.post(url, data={"csrf": _csrf(page), "back": cell})
    assert done.status_code == 303 and done.headers["location"] == cell
    after = await client.get(cell)
    assert "That portfolio link no longer opens." in after.text and "has no open portfolio link" in after.text
    elsewhere = await client.post(url, data={"csrf": _csrf(after), "back": "https://evil.example/"})
    assert elsewhere.status_code == 303 and elsewhere.headers["location"] == "/teacher/mastery"
    client.cookies.clear()
    assert (await client.get(path)).status_code == 404
    async with runtime.db.transaction() as db:
        actions = (await db.execute(text(
            "SELECT action FROM audit_events WHERE subject_type = 'student' AND subject_id = :s ORDER BY id"),
            {"s": str(people["alice_id"])})).scalars().all()
    assert actions.count("portfolio.link_revoked") == 1


async def test_the_portfolio_in_the_api_for_the_student_their_family_and_teacher_only(api, people, runtime):
    from tests.api_client import sign_in

    _, client = api
    made = await _alice_evidence(runtime, people)
    url = f"/api/v1/portfolio/students/{people['alice_id']}"
    alice = await sign_in(client, people["alice"])
    mine = await client.get(url, headers=alice)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    pieces = {p["title"]: p for c in body["competencies"] for p in c["pieces"]}
    assert {"Wind turbines", "Skate park letter", "Skate park pitch"} <= set(pieces) and "Bob's bikes" not in pieces
    wind = pieces["Wind turbines"]
    assert wind["kind"] == "feedback" and wind["release_id"] == str(made["wind"]) and wind["quotes"]
    assert all(q.strip() in ESSAY or q.endswith("…") for q in wind["quotes"])  # the student's own words
    assert pieces["Skate park pitch"]["driving_question"] == QUESTION
    assert {"Exhibition night"} <= {p["note"] for p in pieces.values()}
    # Narrowed as the page is; a bad filter is 422 naming it.
    only = (await client.get(url, headers=alice, params={"kind": "demonstration"})).json()
    assert {p["kind"] for c in only["competencies"] for p in c["pieces"]} == {"demonstration"}
    bad = await client.get(url, headers=alice, params={"from": "yesterday"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    # Her family reads it in their language; Bob, and a family of hers reading Bob's, do not.
    _, family_email = await _family(client, people, "es")
    family = await sign_in(client, family_email)
    theirs = (await client.get(url, headers=family)).json()
    assert {(c["title"], c["language"]) for c in theirs["competencies"]} == {
        ("Escritura argumentativa", "es"), ("Comunicación oral", "es")}
    assert {c["title"] for c in body["competencies"]} == {"Argument Writing", "Oral Communication"}
    assert {p["title"] for c in theirs["competencies"] for p in c["pieces"]} == set(pieces)
    teacher = await sign_in(client, people["teacher"])
    assert {p["title"] for c in (await client.get(url, headers=teacher)).json()["competencies"] for p in c["pieces"]} == set(pieces)
    bob = await sign_in(client, people["bob"])
    for headers, other in ((bob, url), (family, f"/api/v1/portfolio/students/{people['bob_id']}")):
        assert (await client.get(other, headers=headers)).status_code == 404
    assert (await client.get(url)).status_code == 401
