"""The teacher decides with the student's record in view: the review screen's "On the record"
panel and the queue's record cue carry the numbers ``records_of`` reads (nothing recalculated),
the last feedback on the competency and whether the student revised that work since; the
released list shows this teacher's releases only, with what was approved."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from beacon.mastery import service as mastery
from beacon.school.models import User
from beacon.web.mastery_pages import cell_view
from tests.api_client import PASSWORD
from tests.api_client import sign_in as _sign_in
from tests.api_client import wait_for_queue as _wait_for_queue
from tests.classroom import ESSAY


def _text(page: str, element_id: str) -> str:
    """The text of the element with this id (tags dropped, spaces folded)."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:span|dd|ul)>', page, re.S)
    assert found, f"no #{element_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


async def _standing(runtime, student_id, competency_id):
    async with runtime.db.transaction() as db:
        student = await db.get(User, student_id)  # the school (and its method) is the teacher's too
        records = await mastery.records_of(db, [student_id], runtime.settings,
                                           school_choice=await mastery.school_choice(db, student))
    return records[student_id].competencies.get(competency_id)


async def _hand_in(client, headers, title, **extra) -> str:
    done = await client.post("/api/v1/submissions", headers=headers, json={"title": title, "body": ESSAY, **extra})
    assert done.status_code == 202, done.text
    return done.json()["id"]


async def test_review_screen_and_queue_show_the_record_and_whether_feedback_was_acted_on(api, people, runtime):
    _, client = api
    alice, bob = await _sign_in(client, people["alice"]), await _sign_in(client, people["bob"])
    teacher = await _sign_in(client, people["teacher"])
    first_work = await _hand_in(client, alice, "Wind")
    [first] = await _wait_for_queue(client, teacher)
    competency = first["content"]["rubric_id"]
    criteria = [c["criterion_id"] for c in first["content"]["criteria"]]

    # Strong work logged a week ago, then this work released a level 1 on every criterion: a drop.
    logged = await client.post("/api/v1/ratings", headers=teacher, json={
        "student_ids": [str(people["alice_id"])], "competency_id": competency,
        "work_date": (date.today() - timedelta(days=7)).isoformat(),
        "ratings": [{"criterion_id": c, "level": 4} for c in criteria], "note": "Debate"})
    assert logged.status_code in (200, 201), logged.text
    edited = dict(first["content"], feedback="Alice, name a source for the savings.\nThen look at the birds again.")
    edited["criteria"] = [dict(c, level=1) for c in first["content"]["criteria"]]
    decided = await client.post(f"/api/v1/drafts/{first['id']}/decision", headers=teacher,
                                json={"action": "approve", "edited_content": edited})
    assert decided.status_code == 200, decided.text

    await _hand_in(client, alice, "Budget")
    await _hand_in(client, bob, "Bob's wind")
    queue = await _wait_for_queue(client, teacher, 2)
    second = next(d for d in queue if d["student_name"].startswith("Alice"))
    bobs = next(d for d in queue if d["student_name"].startswith("Bob"))
    assert second["content"]["rubric_id"] == competency  # the same essay: the same competency

    await client.post("/login", data={"email": people["teacher"], "password": PASSWORD})
    standing = await _standing(runtime, people["alice_id"], competency)
    cell = cell_view(standing)
    assert standing.concerns and any(c.kind == "drop" for c in standing.concerns)

    page = (await client.get(f"/teacher/drafts/{second['id']}")).text
    assert 'id="record"' in page and "On the record" in page
    assert _text(page, "record-value") == "%.1f" % standing.status.value
    assert f"{cell['word']}</strong>" in page and f"of {standing.levels} levels" in page
    assert _text(page, "record-evidence") == cell["evidence"]
    assert _text(page, "record-trend").startswith("4 → 1")  # the logged work, then the released one
    last = _text(page, "record-last")
    assert "Alice, name a source for the savings." in last and "look at the birds" not in last  # its first line
    assert "Not revised yet" in last and f'href="/teacher/drafts/{first["id"]}"' in page
    assert "⚑" in _text(page, "record-support")
    assert "goal" not in page.lower() and "reflection" not in page.lower()  # none written: nothing shown

    # One row per draft, each with its student's cue; Alice needs support on it, Bob has no record.
    queue_page = (await client.get("/teacher")).text
    rows = dict(re.findall(r'data-draft="([^"]+)">(.*?)</tr>', queue_page, re.S))
    assert f"{cell['word']} {'%.1f' % standing.status.value}/{standing.levels}" in rows[second["id"]]
    assert "⚑" in rows[second["id"]] and "needs support" in rows[second["id"]]
    assert "Not started" in rows[bobs["id"]] and "⚑" not in rows[bobs["id"]]
    # The JSON queue carries the same cue, under "record" (the item's "status" is the draft's).
    listed = {d["id"]: d for d in (await client.get("/api/v1/review/queue", headers=teacher)).json()}
    assert listed[second["id"]]["record"] == {
        "status": standing.status.status, "value": standing.status.value, "levels": standing.levels,
        "flags": sorted({c.kind for c in standing.concerns})}
    assert "drop" in listed[second["id"]]["record"]["flags"] and listed[second["id"]]["status"] == "pending_review"
    assert listed[bobs["id"]]["record"] == {"status": "not_started", "value": None, "levels": None, "flags": []}

    # She revises the work the feedback was on: the panel says so.
    await _hand_in(client, alice, "Wind, again", revision_of_id=first_work)
    page = (await client.get(f"/teacher/drafts/{second['id']}")).text
    assert "Revised on " + date.today().strftime("%b %d") in _text(page, "record-last")

    # The decided draft (read-only) still shows the record; its own release is not "the last feedback".
    page = (await client.get(f"/teacher/drafts/{first['id']}")).text
    assert "None released on this competency yet." in _text(page, "record-last")


async def test_the_queue_cue_never_calls_a_student_quiet_on_the_work_they_just_handed_in(api, people, runtime):
    _, client = api
    alice, bob = await _sign_in(client, people["alice"]), await _sign_in(client, people["bob"])
    teacher = await _sign_in(client, people["teacher"])
    await _hand_in(client, alice, "Wind")
    await _hand_in(client, bob, "Bob's wind")
    queue = await _wait_for_queue(client, teacher, 2)
    competency = queue[0]["content"]["rubric_id"]
    criteria = [c["criterion_id"] for c in queue[0]["content"]["criteria"]]
    # Alice's last evidence ten weeks ago, Bob's last week: read together, she is "quiet".
    for student_id, days in ((people["alice_id"], 70), (people["bob_id"], 7)):
        logged = await client.post("/api/v1/ratings", headers=teacher, json={
            "student_ids": [str(student_id)], "competency_id": competency,
            "work_date": (date.today() - timedelta(days=days)).isoformat(),
            "ratings": [{"criterion_id": c, "level": 2} for c in criteria]})
        assert logged.status_code in (200, 201), logged.text
    klass = (await client.get(f"/api/v1/mastery/classes/{people['class_id']}", headers=teacher)).json()
    assert "quiet" in str(klass)  # the class's record says so, where it is weighed against the class

    # But her draft is new evidence on it: neither the queue nor the review panel says "quiet".
    listed = {d["id"]: d for d in (await client.get("/api/v1/review/queue", headers=teacher)).json()}
    mine = next(d for d in listed.values() if d["student_name"].startswith("Alice"))
    assert mine["record"]["status"] != "not_started" and "quiet" not in mine["record"]["flags"]
    await client.post("/login", data={"email": people["teacher"], "password": PASSWORD})
    row = dict(re.findall(r'data-draft="([^"]+)">(.*?)</tr>', (await client.get("/teacher")).text, re.S))[mine["id"]]
    panel = (await client.get(f"/teacher/drafts/{mine['id']}")).text
    assert "No evidence since" not in row and "No evidence since" not in panel


async def test_released_list_is_this_teachers_with_the_approved_content(api, people):
    _, client = api
    alice, bob = await _sign_in(client, people["alice"]), await _sign_in(client, people["bob"])
    teacher, stranger = await _sign_in(client, people["teacher"]), await _sign_in(client, people["stranger"])
    await _hand_in(client, alice, "Wind")
    await _hand_in(client, bob, "Bob's wind")
    queue = await _wait_for_queue(client, teacher, 2)
    approved = next(d for d in queue if d["student_name"].startswith("Alice"))
    rejected = next(d for d in queue if d["student_name"].startswith("Bob"))
    edited = dict(approved["content"], feedback="Edited by Tia: add your source.")
    assert (await client.post(f"/api/v1/drafts/{approved['id']}/decision", headers=teacher,
                              json={"action": "approve", "edited_content": edited})).status_code == 200
    assert (await client.post(f"/api/v1/drafts/{rejected['id']}/decision", headers=teacher,
                              json={"action": "reject", "reason": "Talk first"})).status_code == 200
    await _hand_in(client, alice, "Still waiting")
    await _wait_for_queue(client, teacher, 1)

    listed = (await client.get("/api/v1/review/released", headers=teacher)).json()
    [one] = listed["releases"]
    assert listed["next_before"] is None
    assert (one["draft_id"], one["student_name"], one["title"]) == (approved["id"], "Alice A", "Wind")
    assert one["feedback"] == "Edited by Tia: add your source."
    assert [c["level"] for c in one["levels"]] == [c["level"] for c in approved["content"]["criteria"]]
    assert one["competency_ids"] == [approved["content"]["rubric_id"]]
    assert (await client.get("/api/v1/review/released", headers=stranger)).json()["releases"] == []
    assert (await client.get("/api/v1/review/released", headers=alice)).status_code == 404
    # Filters: their class, another class, a range before today.
    by_class = await client.get("/api/v1/review/released", headers=teacher, params={"class_id": str(people["class_id"])})
    assert len(by_class.json()["releases"]) == 1
    other = await client.get("/api/v1/review/released", headers=teacher, params={"class_id": str(people["other_class_id"])})
    assert other.json()["releases"] == []
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    old = await client.get("/api/v1/review/released", headers=teacher, params={"until": yesterday})
    assert old.json()["releases"] == []
    today = await client.get("/api/v1/review/released", headers=teacher,
                             params={"since": date.today().isoformat(), "until": date.today().isoformat()})
    assert len(today.json()["releases"]) == 1

    await client.post("/login", data={"email": people["teacher"], "password": PASSWORD})
    page = await client.get("/teacher/released")
    assert page.status_code == 200
    assert "Edited by Tia: add your source." in page.text and f'href="/teacher/drafts/{approved["id"]}"' in page.text
    assert "Bob B" not in page.text and "Still waiting" not in page.text
    assert 'href="/teacher/released"' in page.text  # the nav link
    assert (await client.get(f"/teacher/released?class_id={people['other_class_id']}")).status_code == 404
    assert (await client.get(f"/teacher/drafts/{approved['id']}")).status_code == 200  # the link opens, read-only
