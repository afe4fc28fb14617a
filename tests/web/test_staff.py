"""Admins manage people and classes of their own school; coaches read alignment; neither role
reaches another school, and nobody else reaches theirs (404, as if nothing were there)."""

from __future__ import annotations

import re
import uuid

import pytest

from beacon.school import service as school
from beacon.school.auth import hash_password
from beacon.school.models import User
from beacon.school.schemas import StudentSeed
from tests.api_client import PASSWORD, sign_in
from tests.classroom import ESSAY


@pytest.fixture
async def staff(runtime):
    tag = uuid.uuid4().hex[:8]
    async with runtime.db.transaction() as session:
        sch = await school.ensure_school(session, f"staff-{tag}", "Staff School")
        elsewhere = await school.ensure_school(session, f"else-{tag}", "Other School")
        klass = await school.ensure_class(session, sch, "Biology")
        people = {
            "admin": await school.ensure_user(session, sch, f"admin-{tag}@example.org", "Ada Admin", "admin"),
            "coach": await school.ensure_user(session, sch, f"coach-{tag}@example.org", "Cy Coach", "coach"),
            "teacher": await school.ensure_user(session, sch, f"t-{tag}@example.org", "Tia Teacher", "teacher"),
            "other_admin": await school.ensure_user(session, elsewhere, f"oa-{tag}@example.org", "Oli Admin", "admin"),
            "student": await school.ensure_student(session, sch, klass, StudentSeed(
                first_name="Sam", last_name="Student", email=f"s-{tag}@example.org", grade=9)),
        }
        for user in people.values():
            (await session.get(User, user.id)).password_hash = hash_password(PASSWORD)
    return {name: user.email for name, user in people.items()} | {"tag": tag, "class_id": str(klass.id)}


async def test_admin_api_manages_people_and_classes_in_their_school_only(api, staff):
    _, client = api
    admin, other_admin = await sign_in(client, staff["admin"]), await sign_in(client, staff["other_admin"])
    teacher, coach = await sign_in(client, staff["teacher"]), await sign_in(client, staff["coach"])

    new = {"full_name": "Noor Haddad", "email": f"noor-{staff['tag']}@example.org", "role": "student",
           "grade": 7, "password": PASSWORD}
    created = await client.post("/api/v1/admin/people", headers=admin, json=new)
    assert created.status_code == 201, created.text
    noor = created.json()["id"]
    assert (await client.post("/api/v1/admin/people", headers=admin, json=new)).status_code == 409
    assert (await client.post("/api/v1/admin/people", headers=admin, json={**new, "grade": None, "email": "x@y.org"})).status_code == 422
    assert (await client.post("/api/v1/admin/people", headers=admin, json={**new, "email": "not an email"})).status_code == 422

    me = (await client.get("/api/v1/me", headers=admin)).json()
    teacher_id = next(p["id"] for p in (await client.get("/api/v1/admin/people", headers=admin)).json() if p["role"] == "teacher")
    klass = staff["class_id"]
    assert (await client.put(f"/api/v1/admin/classes/{klass}/members/{noor}", headers=admin,
                             json={"role_in_class": "student"})).status_code == 200
    assert (await client.put(f"/api/v1/admin/classes/{klass}/members/{teacher_id}", headers=admin,
                             json={"role_in_class": "teacher"})).status_code == 200
    assert (await client.put(f"/api/v1/admin/classes/{klass}/members/{noor}", headers=admin,
                             json={"role_in_class": "teacher"})).status_code == 422
    [biology] = (await client.get("/api/v1/admin/classes", headers=admin)).json()
    assert {m["full_name"]: m["role_in_class"] for m in biology["members"]} == {
        "Tia Teacher": "teacher", "Noor Haddad": "student", "Sam Student": "student"}

    # The new student can sign in, hand in work, and it reaches the teacher just added.
    noor_headers = await sign_in(client, new["email"])
    assert (await client.post("/api/v1/submissions", headers=noor_headers, json={"title": "Cells", "body": ESSAY})).status_code == 202

    # Another school's admin: that class and that person do not exist for them.
    assert (await client.put(f"/api/v1/admin/classes/{klass}/members/{noor}", headers=other_admin,
                             json={"role_in_class": "student"})).status_code == 404
    assert all(p["id"] != noor for p in (await client.get("/api/v1/admin/people", headers=other_admin)).json())
    assert (await client.get("/api/v1/admin/classes", headers=other_admin)).json() == []
    # Teachers and coaches do not administer: 404, never 403.
    for headers in (teacher, coach):
        assert (await client.get("/api/v1/admin/people", headers=headers)).status_code == 404
        assert (await client.post("/api/v1/admin/classes", headers=headers, json={"name": "X"})).status_code == 404
    assert (await client.delete(f"/api/v1/admin/classes/{klass}/members/{noor}", headers=admin)).status_code == 200
    assert me["role"] == "admin"


async def test_coach_reads_alignment_and_changes_nothing(api, staff):
    _, client = api
    coach, student = await sign_in(client, staff["coach"]), await sign_in(client, staff["student"])
    use = await client.get("/api/v1/coach/real-use", headers=coach)
    assert use.status_code == 200 and use.json()["overall"]["decisions"] == 0
    assert (await client.get("/api/v1/coach/real-use", headers=student)).status_code == 404
    # Pages: the coach's page renders; the teacher queue and decisions are not theirs.
    await client.post("/login", data={"email": staff["coach"], "password": PASSWORD})
    page = await client.get("/coach")
    assert page.status_code == 200 and "How drafts compare" in page.text
    assert (await client.get("/teacher")).status_code == 404
    assert (await client.get("/admin")).status_code == 404
    assert (await client.get("/", follow_redirects=False)).headers["location"] == "/coach"


async def test_admin_pages_add_a_class_and_a_person_with_csrf(api, staff):
    _, client = api
    await client.post("/login", data={"email": staff["admin"], "password": PASSWORD})
    page = await client.get("/admin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert (await client.post("/admin/classes", data={"name": "Forged"})).status_code == 403
    done = await client.post("/admin/classes", data={"csrf": csrf, "name": "Chemistry", "subject": "Science"})
    # Messages travel in a signed one-time cookie, never in the URL.
    assert done.status_code == 303 and done.headers["location"] == "/admin"
    assert "Added class Chemistry" in (await client.get("/admin")).text
    bad = await client.post("/admin/people", data={"csrf": csrf, "full_name": "No Grade",
                                                   "email": f"ng-{staff['tag']}@example.org", "role": "student"})
    assert bad.headers["location"] == "/admin" and "grade" in (await client.get("/admin")).text
    ok = await client.post("/admin/people", data={"csrf": csrf, "full_name": "Lu Lopez", "role": "student", "grade": "8",
                                                  "email": f"lu-{staff['tag']}@example.org", "interests": "music, robots"})
    assert ok.headers["location"] == "/admin"
    shown = (await client.get(ok.headers["location"])).text
    assert "Chemistry" in shown and "Lu Lopez" in shown and "Added Lu Lopez" in shown
    assert (await client.post("/admin/members", data={"csrf": csrf, "class_id": str(uuid.uuid4()),
                                                      "user_id": str(uuid.uuid4()), "role_in_class": "student"})).status_code == 404


async def test_coach_runs_an_eval_suite_from_the_web_and_reads_its_report(api, staff):
    import asyncio

    _, client = api
    coach, teacher = await sign_in(client, staff["coach"]), await sign_in(client, staff["teacher"])
    assert (await client.post("/api/v1/coach/evals", headers=coach, json={"suite": "nope"})).status_code == 422
    assert (await client.post("/api/v1/coach/evals", headers=teacher, json={"suite": "feedback-core"})).status_code == 404
    started = await client.post("/api/v1/coach/evals", headers=coach, json={"suite": "feedback-core", "limit": 6})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    for _ in range(150):  # the in-process worker runs it
        run = (await client.get(f"/api/v1/coach/evals/{run_id}", headers=coach)).json()
        if run["status"] in ("done", "failed"):
            break
        await asyncio.sleep(0.1)
    assert run["status"] == "done", run
    assert run["summary"]["items"] == 6 and run["summary"]["retrieval"]["n"] == 6
    await client.post("/login", data={"email": staff["coach"], "password": PASSWORD})
    page = (await client.get("/coach")).text
    assert "feedback-core" in page and f"/coach/evals/{run_id}/report" in page
    report = await client.get(f"/coach/evals/{run_id}/report")
    assert report.status_code == 200 and "<svg" in report.text
    other = await sign_in(client, staff["other_admin"])  # another school's admin
    assert (await client.get(f"/api/v1/coach/evals/{run_id}", headers=other)).status_code == 404


async def test_coach_opens_a_draft_teachers_changed_most_in_their_school_only(api, staff):
    from tests.api_client import wait_for_queue
    from tests.classroom import ESSAY

    _, client = api
    admin, teacher = await sign_in(client, staff["admin"]), await sign_in(client, staff["teacher"])
    student, coach = await sign_in(client, staff["student"]), await sign_in(client, staff["coach"])
    people = (await client.get("/api/v1/admin/people", headers=admin)).json()
    teacher_id = next(p["id"] for p in people if p["role"] == "teacher")
    await client.put(f"/api/v1/admin/classes/{staff['class_id']}/members/{teacher_id}", headers=admin,
                     json={"role_in_class": "teacher"})
    await client.post("/api/v1/submissions", headers=student, json={"title": "Wind", "body": ESSAY})
    [pending] = await wait_for_queue(client, teacher)
    content = pending["content"]
    content["criteria"][0]["level"] = 5 - content["criteria"][0]["level"]  # the teacher disagrees
    done = await client.post(f"/api/v1/drafts/{pending['id']}/decision", headers=teacher,
                             json={"action": "approve", "edited_content": content})
    assert done.status_code == 200, done.text

    use = (await client.get("/api/v1/coach/real-use", headers=coach)).json()
    first = f"argument-writing/{content['criteria'][0]['criterion_id']}"
    assert use["by_criterion"][first]["edited"] == 1
    await client.post("/login", data={"email": staff["coach"], "password": PASSWORD})
    home = (await client.get("/coach")).text
    assert f"/coach/drafts/{pending['id']}" in home and "moved" in home
    page = await client.get(f"/coach/drafts/{pending['id']}")
    assert page.status_code == 200 and "Released feedback" in page.text and "<strong>" in page.text
    for email in (staff["student"], staff["other_admin"], staff["teacher"]):
        await client.post("/login", data={"email": email, "password": PASSWORD})
        assert (await client.get(f"/coach/drafts/{pending['id']}")).status_code == 404


async def test_taking_a_student_out_of_a_class_ends_the_teachers_access_not_the_students(api, staff):
    from tests.api_client import wait_for_queue
    from tests.classroom import ESSAY

    _, client = api
    admin, teacher = await sign_in(client, staff["admin"]), await sign_in(client, staff["teacher"])
    student = await sign_in(client, staff["student"])
    people = {p["role"]: p["id"] for p in (await client.get("/api/v1/admin/people", headers=admin)).json()}
    klass = staff["class_id"]
    await client.put(f"/api/v1/admin/classes/{klass}/members/{people['teacher']}", headers=admin,
                     json={"role_in_class": "teacher"})
    await client.post("/api/v1/submissions", headers=student, json={"title": "One", "body": ESSAY})
    [first] = await wait_for_queue(client, teacher)
    assert (await client.post(f"/api/v1/drafts/{first['id']}/decision", headers=teacher,
                              json={"action": "approve"})).status_code == 200
    await client.post("/api/v1/submissions", headers=student, json={"title": "Two", "body": ESSAY + " More."})
    [second] = await wait_for_queue(client, teacher)

    removed = await client.delete(f"/api/v1/admin/classes/{klass}/members/{people['student']}", headers=admin)
    assert removed.status_code == 200
    assert (await client.get("/api/v1/review/queue", headers=teacher)).json() == []
    assert (await client.get(f"/api/v1/drafts/{second['id']}", headers=teacher)).status_code == 404
    assert (await client.post(f"/api/v1/drafts/{second['id']}/decision", headers=teacher,
                              json={"action": "approve"})).status_code == 404
    # What was released stays the student's; nothing unapproved appears.
    releases = (await client.get("/api/v1/releases", headers=student)).json()
    assert [r["content"]["feedback"] for r in releases] == [first["content"]["feedback"]]


async def test_coaches_see_unreleased_work_only_where_the_school_grants_it_and_every_view_is_audited(api, staff, runtime):
    from sqlalchemy import select

    from beacon.db.audit import AuditEvent
    from beacon.school.models import School, User
    from tests.api_client import wait_for_queue

    _, client = api
    admin, teacher = await sign_in(client, staff["admin"]), await sign_in(client, staff["teacher"])
    student = await sign_in(client, staff["student"])
    people = (await client.get("/api/v1/admin/people", headers=admin)).json()
    teacher_id = next(p["id"] for p in people if p["role"] == "teacher")
    await client.put(f"/api/v1/admin/classes/{staff['class_id']}/members/{teacher_id}", headers=admin,
                     json={"role_in_class": "teacher"})
    await client.post("/api/v1/submissions", headers=student, json={
        "title": "Draft", "body": "My claim is that our school needs a garden, because fresh food helps us learn."})
    [pending] = await wait_for_queue(client, teacher)
    await client.post("/login", data={"email": staff["coach"], "password": PASSWORD})
    assert (await client.get(f"/coach/drafts/{pending['id']}")).status_code == 404  # not released: private
    async with runtime.db.transaction() as session:
        coach = await session.scalar(select(User).where(User.email == staff["coach"]))
        school = await session.get(School, coach.school_id)
        school.settings = {**school.settings, "coach_sees_unreleased": True}
    page = await client.get(f"/coach/drafts/{pending['id']}")
    assert page.status_code == 200
    async with runtime.db.transaction() as session:
        views = (await session.scalars(select(AuditEvent).where(
            AuditEvent.action == "draft.viewed_unreleased", AuditEvent.subject_id == pending["id"]))).all()
    assert [(v.actor_id, v.data["status"]) for v in views] == [(coach.id, "pending_review")]
