"""Roster import: an admin sends a OneRoster 1.1 export (users, classes, enrollments); the people,
the class and the families it describes exist afterwards, once; a file with any problem is
refused whole, line by line, and nothing is written; another school's people are never touched."""

from __future__ import annotations

import csv
import io
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from beacon.db.audit import audit_trail
from beacon.school import roster
from beacon.school import repository as school_repository
from beacon.school import service as school
from beacon.school.models import User
from tests.api_client import PASSWORD, sign_in

USERS = ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds",
         "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds",
         "grades", "password", "metadata.preferredLanguage"]
CLASSES = ["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType",
           "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"]
ENROLLMENTS = ["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId",
               "role", "primary", "beginDate", "endDate"]


def _csv(header: list[str], rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _user(sid, role, given, family, email, agents="", grades="", language="", status=""):
    return {"sourcedId": sid, "status": status, "enabledUser": "true", "orgSourcedIds": "org-1", "role": role,
            "username": email.split("@")[0], "givenName": given, "familyName": family, "email": email,
            "agentSourcedIds": agents, "grades": grades, "password": "from-the-sis",
            "metadata.preferredLanguage": language}


def export(tag: str, alice_email: str) -> dict[str, bytes]:
    """A small school's export, as an SIS writes it: a teacher, three students (one, Alice, already
    in Beacon, with her email in other case), two guardians (one names her children on her own
    row, the other is named on his child's), an administrator, an aide and someone who left."""
    e = lambda who: f"{who}-{tag}@example.org"
    users = [
        _user("t1", "teacher", "Tomás", "Reyes", e("reyes")),
        _user("s1", "student", "Maya", "Okafor", e("maya"), grades="07"),
        _user("s2", "student", "Leo", "Okafor", e("leo"), grades="07"),
        _user("s3", "student", "Sam", "Lin", e("sam"), agents="g2", grades="KG"),
        _user("s4", "student", "Alice", "A", alice_email.upper(), grades="08"),
        _user("g1", "parent", "Ngozi", "Okafor", e("ngozi"), agents="s1,s2", language="es"),
        _user("g2", "guardian", "Wei", "Lin", e("wei")),
        _user("a1", "administrator", "Pat", "Principal", e("pat")),
        _user("x1", "aide", "Al", "Aide", e("al")),
        _user("s9", "student", "Gone", "Away", e("gone"), grades="07", status="tobedeleted"),
    ]
    classes = [{"sourcedId": "c1", "title": f"Biology 7 {tag}", "classType": "scheduled", "subjects": "Science,Biology"}]
    enrollments = [{"sourcedId": f"e{i}", "classSourcedId": "c1", "schoolSourcedId": "org-1", "userSourcedId": u,
                    "role": r, "primary": "true" if r == "teacher" else "false"}
                   for i, (u, r) in enumerate([("t1", "teacher"), ("s1", "student"), ("s2", "student"),
                                               ("s3", "student"), ("s4", "student"), ("x1", "aide"),
                                               ("s9", "student")])]
    return {"users": _csv(USERS, users), "classes": _csv(CLASSES, classes), "enrollments": _csv(ENROLLMENTS, enrollments)}


async def _send(client, headers, files: dict[str, bytes], dry_run=False):
    return await client.post("/api/v1/admin/roster", headers=headers, data={"dry_run": "true"} if dry_run else {},
                             files={name: (f"{name}.csv", raw, "text/csv") for name, raw in files.items()})


async def _people_count(client, admin) -> int:
    return len((await client.get("/api/v1/admin/people", headers=admin)).json())


async def test_an_export_imports_once_and_families_see_exactly_their_children(api, people, runtime):
    _, client = api
    admin = await sign_in(client, people["admin"])
    tag = uuid.uuid4().hex[:8]
    files = export(tag, people["alice"])
    before = await _people_count(client, admin)

    preview = await _send(client, admin, files, dry_run=True)
    assert preview.status_code == 200, preview.text
    assert await _people_count(client, admin) == before  # a preview writes nothing
    done = await _send(client, admin, files)
    assert done.status_code == 200, done.text
    report = done.json()
    assert report == preview.json() | {"dry_run": False}  # the preview told the truth
    assert report["people"] == {"teacher": {"added": 1, "unchanged": 0, "updated": 0},
                                "student": {"added": 3, "unchanged": 1, "updated": 0},
                                "guardian": {"added": 2, "unchanged": 0, "updated": 0}}
    assert report["classes"] == {"added": 1, "unchanged": 0}
    assert report["enrollments"] == {"added": 5, "unchanged": 0}  # Alice was in another class
    assert report["guardian_links"] == {"added": 3, "unchanged": 0}
    notes = "\n".join(report["notes"])
    assert "a1 skipped (administrator: add admins by hand" in notes and "x1 skipped" in notes and "tobedeleted" in notes
    assert await _people_count(client, admin) == before + 6

    # Imported people have no password: they sign in once an admin sets one.
    listed = {p["email"]: p for p in (await client.get("/api/v1/admin/people", headers=admin)).json()}
    for who in ("ngozi", "wei", "reyes"):
        person = listed[f"{who}-{tag}@example.org"]
        assert person["can_sign_in"] is False
        assert (await client.post(f"/api/v1/admin/people/{person['id']}/password", headers=admin,
                                  json={"new_password": PASSWORD})).status_code == 200
    children = lambda h: client.get("/api/v1/guardian/children", headers=h)
    ngozi, wei = await sign_in(client, f"ngozi-{tag}@example.org"), await sign_in(client, f"wei-{tag}@example.org")
    assert [c["full_name"] for c in (await children(ngozi)).json()] == ["Leo Okafor", "Maya Okafor"]
    assert [c["full_name"] for c in (await children(wei)).json()] == ["Sam Lin"]
    [biology] = [c for c in (await client.get("/api/v1/admin/classes", headers=admin)).json()
                 if c["name"] == f"Biology 7 {tag}"]
    assert biology["subject"] == "Science"
    assert [(m["full_name"], m["role_in_class"]) for m in biology["members"]] == [
        ("Tomás Reyes", "teacher"), ("Alice A", "student"), ("Leo Okafor", "student"), ("Maya Okafor", "student"),
        ("Sam Lin", "student")]
    assert "pat-" not in str(listed) and "gone-" not in str(listed) and "al-" not in str(listed)

    again = await _send(client, admin, files)
    assert again.status_code == 200, again.text
    counts = again.json()
    assert all(c["added"] == 0 for c in [*counts["people"].values(), counts["classes"], counts["enrollments"],
                                         counts["guardian_links"]])
    assert counts["enrollments"]["unchanged"] == 5 and counts["guardian_links"]["unchanged"] == 3
    assert await _people_count(client, admin) == before + 6

    async with runtime.db.transaction() as session:
        school_id = (await session.scalar(select(User).where(User.email == people["admin"]))).school_id
        trail = [e for e in await audit_trail(session, "school", str(school_id)) if e.action == "roster.imported"]
        maya = await session.scalar(select(User).where(User.email == f"maya-{tag}@example.org"))
        maya_trail = [e.action for e in await audit_trail(session, "user", str(maya.id))]
    assert len(trail) == 2 and trail[0].data["people"]["student"]["added"] == 3
    assert trail[1].data["people"]["student"]["added"] == 0
    assert maya_trail.count("person.added") == 1 and maya_trail.count("guardian.linked") == 1


async def test_a_file_with_any_problem_is_refused_line_by_line_and_nothing_is_written(api, people, runtime):
    _, client = api
    admin = await sign_in(client, people["admin"])
    tag = uuid.uuid4().hex[:8]
    before = await _people_count(client, admin)
    good = export(tag, people["alice"])

    def problems(answer):
        assert answer.status_code == 422, answer.text
        return [(e["file"], e["line"], e["field"]) for e in answer.json()["detail"]["errors"]]

    users = good["users"].decode().split("\r\n")
    users[3] = users[3].replace(f"leo-{tag}@example.org", "leo at example.org")  # line 4
    users[6] = users[6].replace("s1,s2", "s1,s7")  # line 7: an agent no file names
    bad = good | {"users": "\r\n".join(users).encode()}
    assert problems(await _send(client, admin, bad)) == [("users.csv", 4, "email"), ("users.csv", 7, "agentSourcedIds")]

    no_email = _csv([c for c in USERS if c != "email"], [])
    assert problems(await _send(client, admin, {"users": no_email})) == [("users.csv", 1, "email")]
    enrolled_wrong = good["enrollments"].decode().replace("c1,org-1,t1,teacher", "c1,org-1,t1,student").encode()
    assert problems(await _send(client, admin, good | {"enrollments": enrolled_wrong})) == [("enrollments.csv", 2, "role")]
    many = _csv(USERS, [_user(f"s{i}", "student", "S", str(i), f"s{i}-{tag}@example.org", grades="05")
                        for i in range(roster.MAX_ROWS + 1)])
    assert problems(await _send(client, admin, {"users": many})) == [("users.csv", roster.MAX_ROWS + 2, None)]
    huge = good["users"] + b"," * roster.MAX_FILE_BYTES
    assert problems(await _send(client, admin, {"users": huge})) == [("users.csv", None, None)]
    assert problems(await _send(client, admin, {"classes": good["classes"]})) == [("users.csv", None, None)]
    assert await _people_count(client, admin) == before  # each time: nothing

    # Another school's person, named in this school's roster: refused, and left as they were.
    async with runtime.db.transaction() as session:
        other = await school.ensure_school(session, f"other-{tag}", "Other School")
        theirs = await school.ensure_user(session, other, f"maya-{tag}@example.org", "Maya Elsewhere", "teacher")
    answer = await _send(client, admin, good)
    assert problems(answer) == [("users.csv", 3, "email")]
    assert "another school" in answer.json()["detail"]["errors"][0]["message"]
    async with runtime.db.transaction() as session:
        still = await session.get(User, theirs.id)
        assert (still.school_id, still.full_name, still.role) == (other.id, "Maya Elsewhere", "teacher")
        assert await session.scalar(select(func.count()).select_from(User).where(User.school_id == other.id)) == 1
    assert await _people_count(client, admin) == before

    # Only an admin imports.
    teacher = await sign_in(client, people["teacher"])
    assert (await _send(client, teacher, good)).status_code == 404


_HEADER = ",".join(USERS).encode() + b"\r\n"


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(st.binary(max_size=400), st.binary(max_size=400).map(lambda b: _HEADER + b),
                     st.text(alphabet='ab@.,"\r\n 07', max_size=200).map(lambda t: _HEADER + t.encode())))
def test_any_bytes_make_a_plan_or_a_list_of_problems(raw):
    try:
        roster.parse(raw, raw, raw)
    except roster.RosterInvalid as exc:
        assert exc.errors and all(isinstance(e.message, str) for e in exc.errors)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(lambda b: _HEADER + b)))
async def test_the_api_answers_any_bytes_with_a_report_or_problems(api, people, raw):
    _, client = api
    admin = await sign_in(client, people["admin"])
    answer = await _send(client, admin, {"users": raw, "classes": raw, "enrollments": raw}, dry_run=True)
    assert answer.status_code in (200, 422), answer.text


async def test_the_admin_page_previews_then_imports_and_lists_problems_by_line(api, people):
    import re

    _, client = api
    tag = uuid.uuid4().hex[:8]
    files = export(tag, people["alice"])
    upload = {name: (f"{name}.csv", raw, "text/csv") for name, raw in files.items()}
    client.cookies.clear()
    await client.post("/login", data={"email": people["admin"], "password": PASSWORD})
    page = await client.get("/admin")
    assert 'action="/admin/roster#roster"' in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert (await client.post("/admin/roster", files=upload)).status_code == 403  # no CSRF token

    preview = await client.post("/admin/roster", data={"csrf": csrf, "dry_run": "true"}, files=upload)
    assert preview.status_code == 200 and "Preview: nothing changed yet" in preview.text
    assert "Ngozi Okafor" not in preview.text
    done = await client.post("/admin/roster", data={"csrf": csrf}, files=upload)
    assert done.status_code == 200 and "Imported" in done.text and "Ngozi Okafor" in done.text
    assert "add admins by hand" in done.text

    bad = files["users"].decode().replace(f"leo-{tag}@example.org", "leo at example.org").encode()
    refused = await client.post("/admin/roster", data={"csrf": csrf}, files={"users": ("users.csv", bad, "text/csv")})
    assert refused.status_code == 422 and "users.csv line 4, email:" in refused.text
    client.cookies.clear()



async def test_the_command_imports_a_folder_and_lists_problems_by_line(runtime, tmp_path):
    import asyncio
    import json

    from tests.test_cli import beacon

    tag = uuid.uuid4().hex[:8]
    async with runtime.db.transaction() as session:
        sch = await school.ensure_school(session, f"cli-{tag}", "CLI School")
        await school.ensure_user(session, sch, f"a-{tag}@example.org", "Alice A", "student")
        await school.ensure_user(session, sch, f"ad-{tag}@example.org", "Ada Admin", "admin")
    for name, raw in export(tag, f"a-{tag}@example.org").items():
        (tmp_path / f"{name}.csv").write_bytes(raw)
    command = ["roster", "import", str(tmp_path), "--admin", f"ad-{tag}@example.org"]

    done = await asyncio.to_thread(beacon, *command, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["guardian_links"] == {"added": 3, "unchanged": 0}
    again = await asyncio.to_thread(beacon, *command)
    assert again.returncode == 0 and "guardian links   added     0   unchanged     3" in again.stdout.decode()

    users = tmp_path / "users.csv"
    users.write_bytes(users.read_bytes().replace(f"leo-{tag}@example.org".encode(), b"leo at example.org"))
    refused = await asyncio.to_thread(beacon, *command)
    assert refused.returncode == 2 and b"users.csv:4: email: " in refused.stderr
    assert (await asyncio.to_thread(beacon, "roster", "import", str(tmp_path), "--admin", f"a-{tag}@example.org")
            ).returncode == 3  # a student is no admin


async def test_the_next_years_export_updates_names_grades_and_languages_it_gives(api, people, runtime):
    _, client = api
    admin = await sign_in(client, people["admin"])
    tag = uuid.uuid4().hex[:8]
    first = export(tag, people["alice"])
    assert (await _send(client, admin, first)).status_code == 200
    # A year on: Maya is in grade 8, Ngozi goes by her full name and reads English, and Wei's row
    # (like every row but hers) gives no language: his stays as it was.
    async with runtime.db.transaction() as session:  # meanwhile the office noted Wei reads Spanish
        (await session.scalar(select(User).where(User.email == f"wei-{tag}@example.org"))).preferred_language = "es"
    rows = list(csv.DictReader(io.StringIO(first["users"].decode())))
    for row in rows:
        if row["sourcedId"] == "s1":
            row["grades"] = "08"
        if row["sourcedId"] == "g1":
            row["givenName"], row["metadata.preferredLanguage"] = "Ngozi Adaeze", "en"
    files = dict(first, users=_csv(USERS, rows))
    preview = (await _send(client, admin, files, dry_run=True)).json()
    done = (await _send(client, admin, files)).json()
    assert preview == done | {"dry_run": True}
    assert done["people"]["student"] == {"added": 0, "unchanged": 3, "updated": 1}
    assert done["people"]["guardian"] == {"added": 0, "unchanged": 1, "updated": 1}
    async with runtime.db.transaction() as session:
        maya = await session.scalar(select(User).where(User.email == f"maya-{tag}@example.org"))
        ngozi = await session.scalar(select(User).where(User.email == f"ngozi-{tag}@example.org"))
        wei = await session.scalar(select(User).where(User.email == f"wei-{tag}@example.org"))
        profile = await school_repository.profile(session, maya.id)
        changed = [e.data for e in await audit_trail(session, "user", str(ngozi.id)) if e.action == "person.updated"]
    assert profile.grade == 8 and ngozi.full_name == "Ngozi Adaeze Okafor" and ngozi.preferred_language == "en"
    assert wei.preferred_language == "es"  # the export gives none: the office's word stands
    assert changed == [{"full_name": "Ngozi Adaeze Okafor", "preferred_language": "en"}]
    # And the same files again change nothing.
    again = (await _send(client, admin, files)).json()
    assert all(c["updated"] == 0 and c["added"] == 0 for c in again["people"].values())


async def test_the_admin_emails_the_families_the_roster_added_an_invitation_to_claim_their_account(
        api, people, runtime, inbox):
    import asyncio
    import re
    from urllib.parse import urlsplit

    _, client = api
    admin = await sign_in(client, people["admin"])
    tag = uuid.uuid4().hex[:8]
    assert (await _send(client, admin, export(tag, people["alice"]))).status_code == 200
    await client.post("/login", data={"email": people["admin"], "password": PASSWORD})
    page = (await client.get("/admin")).text
    assert "2 families added by the roster have not signed in yet." in page and "Email each an invitation" in page
    teacher = await sign_in(client, people["teacher"])
    assert (await client.post("/api/v1/admin/guardian-invitations", headers=teacher)).status_code == 404

    done = await client.post("/api/v1/admin/guardian-invitations", headers=admin)
    assert done.status_code == 200 and done.json() == {"invited": 2}
    ngozi, wei = f"ngozi-{tag}@example.org", f"wei-{tag}@example.org"
    for _ in range(200):
        if inbox.to(ngozi) and inbox.to(wei):
            break
        await asyncio.sleep(0.1)
    [to_ngozi], [to_wei] = inbox.to(ngozi), inbox.to(wei)
    # Each in the family's language, naming one child by first name: Ngozi's first by name is Leo.
    assert to_ngozi["Content-Language"] == "es" and "Leo" in to_ngozi["Subject"] and "Okafor" not in to_ngozi["Subject"]
    assert to_wei["Content-Language"] == "en" and "Sam" in to_wei["Subject"]
    # Sent once: the invitations are open, so a second press invites no one.
    assert (await client.post("/api/v1/admin/guardian-invitations", headers=admin)).json() == {"invited": 0}

    [link] = re.findall(r"https?://\S+", to_ngozi.get_content())
    client.cookies.clear()
    joined = await client.post(urlsplit(link).path, data={"full_name": "Ngozi Okafor", "password": PASSWORD,
                                                         "preferred_language": "es"})
    assert joined.status_code == 303
    family = await sign_in(client, ngozi)  # both children, as the roster linked them
    assert [c["full_name"] for c in (await client.get("/api/v1/guardian/children", headers=family)).json()] == [
        "Leo Okafor", "Maya Okafor"]
    async with runtime.db.transaction() as session:
        school_id = (await session.scalar(select(User).where(User.email == people["admin"]))).school_id
        bulk = [e.data for e in await audit_trail(session, "school", str(school_id))
                if e.action == "guardians.invited_unclaimed"]
    assert bulk == [{"invited": 2}, {"invited": 0}]
    # Without a mail server there is no one to email: the admin is told so.
    runtime.settings.smtp_host = None  # put back after the test (mail_settings)
    refused = await client.post("/api/v1/admin/guardian-invitations", headers=admin)
    assert refused.status_code == 422 and "no mail server" in refused.json()["detail"]
