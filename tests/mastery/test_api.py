"""The mastery record over the API: approved evidence shows up as the student's standing, and
only the student, their teachers and their school's admins can read it (404 for anyone else)."""

from __future__ import annotations

import uuid

from tests.api_client import sign_in, wait_for_queue
from tests.classroom import ESSAY


async def test_an_approved_draft_becomes_the_students_record_and_only_in_scope(api, people):
    _, client = api
    alice, bob = await sign_in(client, people["alice"]), await sign_in(client, people["bob"])
    teacher, stranger = await sign_in(client, people["teacher"]), await sign_in(client, people["stranger"])
    me = (await client.get("/api/v1/me", headers=alice)).json()
    url = f"/api/v1/mastery/students/{me['id']}"
    assert (await client.get(url, headers=alice)).json()["competencies"] == {}  # nothing approved yet

    await client.post("/api/v1/submissions", headers=alice, json={"title": "Wind", "body": ESSAY})
    [pending] = await wait_for_queue(client, teacher)
    assert (await client.get(url, headers=alice)).json()["competencies"] == {}  # a draft is not evidence
    decided = await client.post(f"/api/v1/drafts/{pending['id']}/decision", headers=teacher, json={"action": "approve"})
    assert decided.status_code == 200, decided.text

    record = (await client.get(url, headers=alice)).json()["competencies"]
    competency = pending["content"]["rubric_id"]
    standing = record[competency]
    levels = {c["criterion_id"]: c["level"] for c in pending["content"]["criteria"]}
    assert standing["criteria"] == levels  # one rating each: its value is its level, by any method
    assert standing["evidence"] == dict.fromkeys(levels, 1) and standing["status"] != "met"
    assert (await client.get(url, headers=teacher)).json()["competencies"] == record

    for outsider in (bob, stranger):  # a classmate; a teacher of another class
        assert (await client.get(url, headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/mastery/students/{uuid.uuid4()}", headers=teacher)).status_code == 404


ORAL = ["audience", "organization", "delivery", "visuals", "questions"]


def _demo(students, levels, *, day="2026-10-05", source="teacher", **extra) -> dict:
    return {"student_ids": [str(s) for s in students], "competency_id": "oral-communication", "source": source,
            "work_date": day, "ratings": [{"criterion_id": c, "level": lv} for c, lv in zip(ORAL, levels, strict=False)],
            "note": "Debate on the town budget", **extra}


async def test_a_logged_demonstration_rates_every_student_named_and_only_students_you_teach(api, people, runtime):
    from beacon.db.audit import audit_trail

    _, client = api
    teacher, stranger = await sign_in(client, people["teacher"]), await sign_in(client, people["stranger"])
    alice = await sign_in(client, people["alice"])
    pair = [people["alice_id"], people["bob_id"]]
    logged = await client.post("/api/v1/ratings", headers=teacher,
                               json=_demo(pair, [3, 3, 2, 3, 4], artifact_url="https://video.example.org/debate/7"))
    assert logged.status_code == 201, logged.text
    assert len(logged.json()["ids"]) == 10  # two students × five criteria
    for sid in pair:
        record = (await client.get(f"/api/v1/mastery/students/{sid}", headers=teacher)).json()
        oral = record["competencies"]["oral-communication"]
        assert oral["criteria"] == dict(zip(ORAL, [3, 3, 2, 3, 4], strict=True))
        assert oral["status"] == "approaching" and oral["missing"] == ORAL  # one rating each, two required
    history = (await client.get(f"/api/v1/mastery/students/{pair[0]}/competencies/oral-communication",
                                headers=alice)).json()["ratings"]
    assert {e["source"] for e in history} == {"teacher"}
    assert history[0]["artifact_url"] == "https://video.example.org/debate/7" and history[0]["rated_by"] == "Tia Teacher"

    # Anyone but the students' teacher: 404, and nothing is written for anyone.
    before = len(history)
    for who in (stranger, alice):
        assert (await client.post("/api/v1/ratings", headers=who, json=_demo(pair, [1] * 5))).status_code == 404
    assert (await client.post("/api/v1/ratings", headers=teacher,
                              json=_demo([people["alice_id"], uuid.uuid4()], [1] * 5))).status_code == 404
    again = (await client.get(f"/api/v1/mastery/students/{pair[0]}/competencies/oral-communication",
                              headers=alice)).json()["ratings"]
    assert len(again) == before
    async with runtime.db.transaction() as db:
        trail = await audit_trail(db, "student", str(pair[0]))
    assert [e.action for e in trail] == ["rating.teacher"]
    assert trail[0].data["ratings"] == dict(zip(ORAL, [3, 3, 2, 3, 4], strict=True))


async def test_bad_ratings_are_refused_with_a_reason(api, people):
    _, client = api
    teacher = await sign_in(client, people["teacher"])
    one = [people["alice_id"]]
    cases = [
        _demo(one, [5, 3, 3, 3, 3]),  # the continuum has 4 levels
        {**_demo(one, [3]), "ratings": [{"criterion_id": "thesis", "level": 3}]},  # not this competency's
        {**_demo(one, [3]), "competency_id": "no-such-thing"},
        _demo(one, [3], day="2999-01-01"),
        _demo(one, [3], source="missed"),  # missed has no level
        {**_demo(one, [3]), "ratings": [{"criterion_id": "audience", "level": 3}] * 2},
        _demo(one, [3], artifact_url="javascript:alert(1)"),
        _demo(one, [3], note="x" * 5_001),
        _demo([uuid.uuid4()] * 61, [3]),
    ]
    for body in cases:
        answer = await client.post("/api/v1/ratings", headers=teacher, json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"]
    record = (await client.get(f"/api/v1/mastery/students/{one[0]}", headers=teacher)).json()
    assert record["competencies"] == {}


async def test_a_correction_replaces_a_rating_and_only_once(api, people):
    _, client = api
    teacher = await sign_in(client, people["teacher"])
    alice = people["alice_id"]
    [first] = (await client.post("/api/v1/ratings", headers=teacher, json=_demo([alice], [1]))).json()["ids"]
    fixed = await client.post("/api/v1/ratings", headers=teacher, json=_demo([alice], [3], supersedes_id=first))
    assert fixed.status_code == 201
    record = (await client.get(f"/api/v1/mastery/students/{alice}", headers=teacher)).json()
    assert record["competencies"]["oral-communication"]["criteria"]["audience"] == 3
    assert record["competencies"]["oral-communication"]["evidence"]["audience"] == 1  # the old one stopped counting
    twice = await client.post("/api/v1/ratings", headers=teacher, json=_demo([alice], [2], supersedes_id=first))
    assert twice.status_code == 409
    elsewhere = await client.post("/api/v1/ratings", headers=teacher,
                                  json=_demo([people["bob_id"]], [2], supersedes_id=fixed.json()["ids"][0]))
    assert elsewhere.status_code == 404  # a correction stays on its own student and criterion


async def test_override_completes_the_evidence_missed_is_kept_apart_and_a_baseline_sets_growth(api, people):
    _, client = api
    teacher = await sign_in(client, people["teacher"])
    alice = people["alice_id"]
    await client.post("/api/v1/ratings", headers=teacher, json=_demo([alice], [2] * 5, day="2026-09-01", source="baseline"))
    await client.post("/api/v1/ratings", headers=teacher, json=_demo([alice], [3] * 5))
    oral = (await client.get(f"/api/v1/mastery/students/{alice}", headers=teacher)).json()["competencies"]["oral-communication"]
    assert oral["status"] == "approaching" and oral["growth"]["competency"] == 1.0  # from the baseline 2 to 3
    assert oral["evidence"] == dict.fromkeys(ORAL, 1)  # a baseline is not evidence

    missed = {**_demo([alice], []), "source": "missed", "ratings": [{"criterion_id": "visuals"}]}
    assert (await client.post("/api/v1/ratings", headers=teacher, json=missed)).status_code == 201
    override = _demo([alice], [3] * 5, source="override")
    assert (await client.post("/api/v1/ratings", headers=teacher, json=override)).status_code == 201
    oral = (await client.get(f"/api/v1/mastery/students/{alice}", headers=teacher)).json()["competencies"]["oral-communication"]
    assert oral["missed"] == {"visuals": 1} and oral["evidence"]["visuals"] == 1
    assert oral["status"] == "met" and oral["missing"] == []


async def test_the_class_grid_in_scope_coaches_see_counts_only_and_the_exports(api, people):
    _, client = api
    teacher, stranger = await sign_in(client, people["teacher"]), await sign_in(client, people["stranger"])
    coach, admin = await sign_in(client, people["coach"]), await sign_in(client, people["admin"])
    alice = await sign_in(client, people["alice"])
    await client.post("/api/v1/ratings", headers=teacher,
                      json=_demo([people["alice_id"]], [1] * 5, note="=HYPERLINK(\"http://evil.example\")"))
    url = f"/api/v1/mastery/classes/{people['class_id']}"
    grid = (await client.get(url, headers=teacher)).json()
    assert [s["name"] for s in grid["students"]] == ["Alice A", "Bob B"]
    assert grid["students"][0]["cells"]["oral-communication"]["status"] == "emerging"
    assert grid["students"][1]["cells"]["oral-communication"] == {"status": "not_started"}
    assert (await client.get(url, headers=admin)).json() == grid

    counts = (await client.get(url, headers=coach)).json()
    assert counts["counts"]["oral-communication"] == {"not_started": 1, "emerging": 1, "approaching": 0, "met": 0}
    assert "Alice" not in str(counts) and str(people["alice_id"]) not in str(counts)
    for outsider in (stranger, alice):
        assert (await client.get(url, headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/mastery/classes/{uuid.uuid4()}", headers=admin)).status_code == 404

    status_csv = await client.get(f"{url}/status.csv", headers=teacher)
    assert status_csv.headers["content-type"].startswith("text/csv")
    lines = status_csv.text.splitlines()
    assert lines[0].startswith("student,email,competency_id") and len(lines) == 3
    ratings_csv = (await client.get(f"{url}/ratings.csv", headers=teacher)).text
    assert len(ratings_csv.splitlines()) == 6 and "'=HYPERLINK" in ratings_csv  # a formula is never run
    for outsider in (coach, stranger, alice):
        assert (await client.get(f"{url}/ratings.csv", headers=outsider)).status_code == 404


async def test_a_student_stuck_below_the_threshold_is_flagged_until_dismissed_and_again_on_new_evidence(api, people):
    _, client = api
    teacher, alice = await sign_in(client, people["teacher"]), people["alice_id"]
    for day in ("2026-09-07", "2026-09-21", "2026-10-05"):
        await client.post("/api/v1/ratings", headers=teacher, json=_demo([alice], [2], day=day))

    def stuck(record):
        return [c for c in record["competencies"]["oral-communication"]["support"] if c["kind"] == "stuck"]

    record = (await client.get(f"/api/v1/mastery/students/{alice}", headers=teacher)).json()
    [flag] = stuck(record)
    assert flag["criterion_id"] == "audience" and "3 attempts" in flag["reason"] and len(flag["evidence"]) == 3
    dismissal = {"student_id": str(alice), "competency_id": "oral-communication", "kind": "stuck",
                 "cause": flag["cause"], "note": "She is recovering from a long absence; we have a plan."}
    assert (await client.post("/api/v1/mastery/support/dismissals", headers=teacher, json=dismissal)).status_code == 201
    assert stuck((await client.get(f"/api/v1/mastery/students/{alice}", headers=teacher)).json()) == []
    await client.post("/api/v1/ratings", headers=teacher, json=_demo([alice], [2], day="2026-10-19"))
    [back] = stuck((await client.get(f"/api/v1/mastery/students/{alice}", headers=teacher)).json())
    assert "4 attempts" in back["reason"]
    own = (await client.get(f"/api/v1/mastery/students/{alice}", headers=await sign_in(client, people["alice"]))).json()
    assert own["competencies"]["oral-communication"]["support"] == []  # the flags are for her teachers

    stranger = await sign_in(client, people["stranger"])
    assert (await client.post("/api/v1/mastery/support/dismissals", headers=stranger, json=dismissal)).status_code == 404
    assert (await client.post("/api/v1/mastery/support/dismissals", headers=teacher,
                              json={**dismissal, "note": "   "})).status_code == 422


async def test_a_retried_entry_with_an_idempotency_key_is_written_once(api, people, runtime):
    from beacon.db.audit import audit_trail

    _, client = api
    teacher = await sign_in(client, people["teacher"])
    entry = _demo([people["alice_id"]], [2, 3], day="2026-10-20")
    key = {**teacher, "Idempotency-Key": "exhibition-2026-10-20-alice"}
    first = await client.post("/api/v1/ratings", headers=key, json=entry)
    again = await client.post("/api/v1/ratings", headers=key, json=entry)  # the answer was lost: sent again
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    record = (await client.get(f"/api/v1/mastery/students/{people['alice_id']}", headers=teacher)).json()
    assert record["competencies"]["oral-communication"]["evidence"]["audience"] == 1
    async with runtime.db.transaction() as session:
        events = [e for e in await audit_trail(session, "student", str(people["alice_id"]))
                  if e.action == "rating.teacher"]
    assert len(events) == 1
    other = await client.post("/api/v1/ratings", headers=key, json=_demo([people["alice_id"]], [4, 4], day="2026-10-20"))
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["detail"]
    assert (await client.post("/api/v1/ratings", headers={**teacher, "Idempotency-Key": "k" * 201},
                              json=entry)).status_code == 422


async def test_the_school_overview_for_admins_and_counts_only_for_coaches(api, people):
    _, client = api
    teacher = await sign_in(client, people["teacher"])
    admin, coach = await sign_in(client, people["admin"]), await sign_in(client, people["coach"])
    for day in ("2026-09-07", "2026-09-21", "2026-10-05"):  # three tries below the threshold: stuck
        assert (await client.post("/api/v1/ratings", headers=teacher,
                                  json=_demo([people["bob_id"]], [1], day=day))).status_code == 201
    overview = (await client.get("/api/v1/mastery/school", headers=admin)).json()
    oral = overview["competencies"]["oral-communication"]
    assert oral["emerging"] == 1 and oral["support"] == 1
    assert oral["not_started"] == overview["students"] - 1
    assert [s["id"] for s in overview["needing_support"]] == [str(people["bob_id"])]
    counts = (await client.get("/api/v1/mastery/school", headers=coach)).json()
    assert counts["competencies"] == overview["competencies"] and counts["needing_support"] == []
    assert str(people["bob_id"]) not in str(counts)
    assert (await client.get("/api/v1/mastery/school", headers=teacher)).status_code in (403, 404)
