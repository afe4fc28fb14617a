"""A student's goals and reflections (issue 15): a goal on a competency set, changed and
withdrawn on "My progress", a reflection answering the feedback's revision question on the
feedback's page; the teacher reads both in "On the record" beside the next draft on that
competency; a family reads them on their child's progress page; nobody else reads or writes them."""

from __future__ import annotations

import html
import re
import uuid

from sqlalchemy import text

from beacon.approval.models import Draft, Release
from beacon.db.audit import audit_trail
from tests.api_client import PASSWORD, sign_in, wait_for_queue
from tests.classroom import ESSAY
from tests.mastery.progress_helpers import release
from tests.web.test_progress_page import _family, _teacher, _words

ALL_AT_3 = {c: 3 for c in ("claim", "evidence", "reasoning", "counterargument", "organization", "conventions")}


async def _page_as(client, email: str, path: str):
    client.cookies.clear()
    await client.post("/login", data={"email": email, "password": PASSWORD})
    return await client.get(path)


def _csrf(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


async def _work_of(runtime, release_id) -> uuid.UUID:
    async with runtime.db.transaction() as db:
        found = await db.get(Release, release_id)
        return (await db.get(Draft, found.draft_id)).submission_id


async def test_a_goal_and_a_reflection_reach_the_teacher_beside_the_next_draft(api, people, runtime):
    _, client = api
    released = await release(runtime, await _teacher(runtime, people), people["alice_id"], title="Wind turbines")

    # Alice sets a goal on the competency from her progress page (a cookie form, with its CSRF token).
    page = await _page_as(client, people["alice"], "/student/progress")
    assert 'action="/student/goals"' in page.text and "My goal" in page.text
    assert (await client.post("/student/goals", data={"competency_id": "argument-writing", "text": "x"})).status_code == 403
    done = await client.post("/student/goals", data={
        "csrf": _csrf(page), "competency_id": "argument-writing", "text": "Answer the strongest objection", "target_level": "3"})
    assert done.status_code == 303 and done.headers["location"] == "/student/progress#goal-argument-writing"
    page = await client.get("/student/progress")
    goal_box = _words(page.text.partition('id="goal-argument-writing"')[2].partition("</div>")[0])
    assert "Answer the strongest objection" in goal_box and "aiming for Proficient (3)" in goal_box
    assert "Goal saved." in _words(page.text)

    # She answers the feedback's revision question on its page; the prompt is the release's question.
    opened = await client.get(f"/student/releases/{released}")
    async with runtime.db.transaction() as db:
        question = (await db.get(Release, released)).content["question"]
    assert html.escape(question, quote=False) in opened.text and "My reflection" in opened.text
    done = await client.post(f"/student/releases/{released}/reflection",
                             data={"csrf": _csrf(opened), "text": "I will add the bird study as my counter."})
    assert done.status_code == 303
    assert "I will add the bird study as my counter." in (await client.get(f"/student/releases/{released}")).text
    # Rewritten before the revision: the latest words win, one row, each write audited with its text.
    alice = await sign_in(client, people["alice"])
    rewritten = await client.post(f"/api/v1/releases/{released}/reflection", headers=alice,
                                  json={"text": "I will answer the bird study objection first."})
    assert rewritten.status_code == 200, rewritten.text
    async with runtime.db.transaction() as db:
        trail = [e for e in await audit_trail(db, "release", str(released)) if e.action == "reflection.written"]
        goal_events = [e for e in await audit_trail(db, "student", str(people["alice_id"])) if e.action == "goal.set"]
    assert [e.data["text"] for e in trail] == ["I will add the bird study as my counter.",
                                                 "I will answer the bird study objection first."]
    assert goal_events and goal_events[-1].data["text"] == "Answer the strongest objection"
    # The evidence list on her progress page carries it too.
    assert "My reflection: I will answer the bird study objection first." in _words(
        (await _page_as(client, people["alice"], "/student/progress")).text)

    # She hands in the revision; the teacher's panel beside the new draft shows the goal and the reflection.
    work = await _work_of(runtime, released)
    handed = await client.post("/api/v1/submissions", headers=alice, json={
        "title": "Wind turbines, again", "body": ESSAY, "revision_of_id": str(work)})
    assert handed.status_code == 202, handed.text
    teacher = await sign_in(client, people["teacher"])
    [draft] = await wait_for_queue(client, teacher)
    assert draft["content"]["rubric_id"] == "argument-writing"
    panel = (await _page_as(client, people["teacher"], f"/teacher/drafts/{draft['id']}")).text.partition('id="record"')[2]
    assert "Answer the strongest objection" in _words(panel.partition('id="record-goal"')[2].partition("</dd>")[0])
    assert "aiming for level 3" in panel
    assert "I will answer the bird study objection first." in panel.partition('id="record-reflection"')[2].partition("</dd>")[0]

    # After the revision the reflection stays as the teacher read it.
    again = await client.post(f"/api/v1/releases/{released}/reflection", headers=alice, json={"text": "Changed"})
    assert again.status_code == 409

    # A changed goal replaces the open one; withdrawn, the panel shows none.
    changed = await client.post("/api/v1/goals", headers=alice, json={
        "competency_id": "argument-writing", "text": "Use two sources per reason"})
    assert changed.status_code == 201, changed.text
    listed = (await client.get("/api/v1/goals", headers=alice)).json()
    assert [g["text"] for g in listed] == ["Use two sources per reason"]
    assert (await client.post(f"/api/v1/goals/{changed.json()['id']}/withdraw", headers=alice)).status_code == 200
    assert (await client.get("/api/v1/goals", headers=alice)).json() == []
    panel = (await _page_as(client, people["teacher"], f"/teacher/drafts/{draft['id']}")).text
    assert 'id="record-goal"' not in panel and 'id="record-reflection"' in panel


async def test_limits_and_someone_elses_are_refused(api, people, runtime):
    _, client = api
    released = await release(runtime, await _teacher(runtime, people), people["alice_id"])
    alice, bob = await sign_in(client, people["alice"]), await sign_in(client, people["bob"])
    teacher = await sign_in(client, people["teacher"])

    for body in ({"competency_id": "argument-writing", "text": "x" * 501},
                 {"competency_id": "argument-writing", "text": "   "},
                 {"competency_id": "argument-writing", "text": "fine", "target_level": 9},
                 {"competency_id": "no-such-skill", "text": "fine"}):
        refused = await client.post("/api/v1/goals", headers=alice, json=body)
        assert refused.status_code == 422, (body, refused.text)
    assert "at most 500 characters" in (await client.post("/api/v1/goals", headers=alice, json={
        "competency_id": "argument-writing", "text": "x" * 501})).json()["detail"]
    long = await client.post(f"/api/v1/releases/{released}/reflection", headers=alice, json={"text": "y" * 2001})
    assert long.status_code == 422 and "at most 2000 characters" in long.json()["detail"]
    assert (await client.post(f"/api/v1/releases/{released}/reflection", headers=alice,
                              json={"text": "y" * 2000})).status_code == 200

    # Bob cannot write on Alice's release, read her goals, or withdraw them; a teacher writes neither.
    assert (await client.post(f"/api/v1/releases/{released}/reflection", headers=bob,
                              json={"text": "mine now"})).status_code == 404
    assert (await client.post(f"/api/v1/releases/{uuid.uuid4()}/reflection", headers=alice,
                              json={"text": "nothing there"})).status_code == 404
    goal = (await client.post("/api/v1/goals", headers=alice, json={
        "competency_id": "argument-writing", "text": "Alice's own"})).json()
    assert (await client.get("/api/v1/goals", headers=bob, params={"student_id": str(people["alice_id"])})).status_code == 404
    assert (await client.post(f"/api/v1/goals/{goal['id']}/withdraw", headers=bob)).status_code == 404
    assert (await client.post("/api/v1/goals", headers=teacher, json={
        "competency_id": "argument-writing", "text": "set for her"})).status_code == 404
    # Her teacher reads them; the page form's limit is said in words, and Bob's page shows nothing of hers.
    assert [g["text"] for g in (await client.get("/api/v1/goals", headers=teacher,
                                                 params={"student_id": str(people["alice_id"])})).json()] == ["Alice's own"]
    page = await _page_as(client, people["alice"], "/student/progress")
    done = await client.post("/student/goals", data={"csrf": _csrf(page), "competency_id": "argument-writing",
                                                     "text": "z" * 600}, follow_redirects=True)
    assert "at most 500 characters" in _words(done.text)
    assert (await _page_as(client, people["bob"], f"/student/releases/{released}")).status_code == 404
    bob_page = (await client.get("/student/progress")).text
    assert "Alice's own" not in bob_page and "y" * 200 not in bob_page


async def test_a_family_reads_their_childs_goals_and_reflections_only(api, people, runtime):
    _, client = api
    released = await release(runtime, await _teacher(runtime, people), people["alice_id"], title="Wind turbines")
    alice = await sign_in(client, people["alice"])
    assert (await client.post("/api/v1/goals", headers=alice, json={
        "competency_id": "argument-writing", "text": "Answer the strongest objection"})).status_code == 201
    assert (await client.post(f"/api/v1/releases/{released}/reflection", headers=alice,
                              json={"text": "I will add the bird study."})).status_code == 200
    _, email = await _family(client, people, "en")
    page = await _page_as(client, email, f"/guardian/children/{people['alice_id']}/progress")
    words = _words(page.text)
    assert "Alice's goal Answer the strongest objection" in words
    assert "Alice's reflection: I will add the bird study." in words
    assert 'action="/student/goals' not in page.text and "Withdraw my goal" not in page.text  # read only
    guardian = await sign_in(client, email)
    assert [g["text"] for g in (await client.get("/api/v1/goals", headers=guardian,
                                                 params={"student_id": str(people["alice_id"])})).json()] == [
        "Answer the strongest objection"]
    assert (await client.get("/api/v1/goals", headers=guardian, params={"student_id": str(people["bob_id"])})).status_code == 404
    assert (await client.post(f"/api/v1/releases/{released}/reflection", headers=guardian,
                              json={"text": "from home"})).status_code == 404


async def test_a_portfolio_link_shows_released_evidence_to_anyone_until_a_teacher_stops_it(api, people, runtime):
    _, client = api
    teacher_id = await _teacher(runtime, people)
    released = await release(runtime, teacher_id, people["alice_id"], title="Wind turbines")
    await release(runtime, teacher_id, people["bob_id"], title="Bob's bikes")
    alice, bob = await sign_in(client, people["alice"]), await sign_in(client, people["bob"])
    teacher, stranger = await sign_in(client, people["teacher"]), await sign_in(client, people["stranger"])
    await client.post("/api/v1/goals", headers=alice, json={"competency_id": "argument-writing", "text": "Secret aim"})
    await client.post(f"/api/v1/releases/{released}/reflection", headers=alice, json={"text": "Private thought"})
    # Alice hands in more work that is still a draft: a portfolio never shows it.
    assert (await client.post("/api/v1/submissions", headers=alice, json={"title": "Unreleased essay", "body": ESSAY})).status_code == 202

    # She makes a link from her progress page; it is shown once, in the notice, and only its hash is kept.
    page = await _page_as(client, people["alice"], "/student/progress")
    made = await client.post("/student/portfolio-links", data={"csrf": _csrf(page)}, follow_redirects=True)
    path = re.search(r"http://beacon\.test(/portfolio/[\w-]+)", made.text).group(1)
    token = path.rsplit("/", 1)[1]
    async with runtime.db.transaction() as db:
        stored = (await db.execute(text("SELECT token_hash FROM portfolio_links WHERE student_id = :s"),
                                   {"s": people["alice_id"]})).scalars().all()
    assert stored and token not in stored[0] and len(stored[0]) == 64
    assert "Stop this link" in made.text

    # Anyone, signed out, reads her released evidence and progress, in the third person; nothing else.
    client.cookies.clear()
    shared = await client.get(path)
    assert shared.status_code == 200, shared.text[:500]
    words = _words(shared.text)
    assert "Alice's portfolio" in words and "feedback on “Wind turbines”" in words
    for hidden in ("Secret aim", "Private thought", "Unreleased essay", "Bob", "needs support", "⚑", "My goal",
                   'action="/student', "My progress"):
        assert hidden not in shared.text, hidden
    opened = await client.get(f"{path}/releases/{released}")
    assert opened.status_code == 200 and "Wind turbines" in opened.text
    async with runtime.db.transaction() as db:
        bobs = (await db.execute(text("SELECT id FROM releases WHERE student_id = :s"), {"s": people["bob_id"]})).scalar()
    assert (await client.get(f"{path}/releases/{bobs}")).status_code == 404  # another student's release
    assert (await client.get(f"/portfolio/{token[:-2]}xx")).status_code == 404

    # Only she and her teachers list or stop it; her teacher stops it and it is gone.
    [link] = (await client.get("/api/v1/portfolio-links", headers=alice)).json()
    assert (await client.get("/api/v1/portfolio-links", headers=bob, params={"student_id": str(people["alice_id"])})).status_code == 404
    assert (await client.post(f"/api/v1/portfolio-links/{link['id']}/revoke", headers=bob)).status_code == 404
    assert (await client.post(f"/api/v1/portfolio-links/{link['id']}/revoke", headers=stranger)).status_code == 404
    assert [x["id"] for x in (await client.get("/api/v1/portfolio-links", headers=teacher,
                                               params={"student_id": str(people["alice_id"])})).json()] == [link["id"]]
    assert (await client.post(f"/api/v1/portfolio-links/{link['id']}/revoke", headers=teacher)).status_code == 200
    assert (await client.get(path)).status_code == 404
    assert (await client.get(f"{path}/releases/{released}")).status_code == 404
    assert (await client.get("/api/v1/portfolio-links", headers=alice)).json() == []


async def test_a_goal_reached_is_marked_by_the_student_and_shown_to_family_and_teacher(api, people, runtime):
    _, client = api
    teacher_id = await _teacher(runtime, people)
    await release(runtime, teacher_id, people["alice_id"], title="Wind turbines",
                  levels=ALL_AT_3)
    alice = await sign_in(client, people["alice"])
    low = (await client.post("/api/v1/goals", headers=alice, json={
        "competency_id": "argument-writing", "text": "Reach Extending", "target_level": 4})).json()
    page = await _page_as(client, people["alice"], "/student/progress")
    box = page.text.partition('id="goal-argument-writing"')[2].partition('class="criterion')[0]
    # Not at the target yet: the button is there (her word), the record's congratulation is not.
    assert f'action="/student/goals/{low["id"]}/achieve"' in box and "I reached this goal" in box
    assert 'id="goal-reached-argument-writing"' not in box

    # A goal at the level the record shows: the page says so kindly and offers the button.
    goal = (await client.post("/api/v1/goals", headers=alice, json={
        "competency_id": "argument-writing", "text": "Answer the strongest objection", "target_level": 3})).json()
    page = await client.get("/student/progress")
    assert "you may have reached this goal. Well done!" in _words(page.text.partition('id="goal-reached-argument-writing"')[2][:400])
    assert (await client.post(f"/student/goals/{goal['id']}/achieve", data={})).status_code == 403  # no CSRF token
    done = await client.post(f"/student/goals/{goal['id']}/achieve", data={"csrf": _csrf(page)})
    assert done.status_code == 303 and done.headers["location"] == "/student/progress#goal-argument-writing"
    page = await client.get("/student/progress")
    words = _words(page.text)
    assert "Goal reached: well done!" in words
    reached = _words(page.text.partition('id="goals-reached"')[2].partition("</section>")[0])
    assert "Goals reached" in reached and "“Answer the strongest objection”" in reached and "reached on" in reached
    assert "No goal yet." in _words(page.text.partition('id="goal-argument-writing"')[2].partition("</form>")[0])
    # Closed once: again (page or API), or Bob marking hers, is refused; the decision is audited.
    again = await client.post(f"/student/goals/{goal['id']}/achieve", data={"csrf": _csrf(page)})
    assert again.status_code == 404
    assert (await client.post(f"/api/v1/goals/{goal['id']}/achieve", headers=alice)).status_code == 409
    bob = await sign_in(client, people["bob"])
    assert (await client.post(f"/api/v1/goals/{goal['id']}/achieve", headers=bob)).status_code == 404
    async with runtime.db.transaction() as db:
        events = [e for e in await audit_trail(db, "student", str(people["alice_id"])) if e.action == "goal.achieved"]
    assert [e.data["goal_id"] for e in events] == [goal["id"]] and events[0].data["target_level"] == 3

    # Her family reads "Goals reached" (and no button); the teacher sees it beside the next draft.
    _, email = await _family(client, people, "en")
    family = await _page_as(client, email, f"/guardian/children/{people['alice_id']}/progress")
    assert "Answer the strongest objection" in _words(family.text.partition('id="goals-reached"')[2])
    assert "/achieve" not in family.text and "I reached this goal" not in family.text
    work = await _work_of(runtime, (await _released_to(runtime, people["alice_id"])))
    assert (await client.post("/api/v1/submissions", headers=alice, json={
        "title": "Wind turbines, again", "body": ESSAY, "revision_of_id": str(work)})).status_code == 202
    teacher = await sign_in(client, people["teacher"])
    [draft] = await wait_for_queue(client, teacher)
    panel = (await _page_as(client, people["teacher"], f"/teacher/drafts/{draft['id']}")).text
    reached_panel = _words(panel.partition('id="record-reached"')[2].partition("</dd>")[0])
    assert "Answer the strongest objection" in reached_panel and "Marked reached by the student" in reached_panel


async def test_the_spanish_page_says_a_goal_was_reached_in_spanish(api, people, runtime):
    _, client = api
    await release(runtime, await _teacher(runtime, people), people["alice_id"],
                  levels=ALL_AT_3)
    alice = await sign_in(client, people["alice"])
    goal = (await client.post("/api/v1/goals", headers=alice, json={
        "competency_id": "argument-writing", "text": "Responder la objeción", "target_level": 3})).json()
    assert (await client.post(f"/api/v1/goals/{goal['id']}/achieve", headers=alice)).status_code == 200
    _, email = await _family(client, people, "es")
    words = _words((await _page_as(client, email, f"/guardian/children/{people['alice_id']}/progress")).text)
    assert "Metas alcanzadas" in words and "Responder la objeción" in words


async def _released_to(runtime, student_id) -> uuid.UUID:
    async with runtime.db.transaction() as db:
        return (await db.execute(text("SELECT id FROM releases WHERE student_id = :s ORDER BY released_at DESC LIMIT 1"),
                                 {"s": student_id})).scalar()
