"""The approval gate, adversarially: hypothesis interleaves submissions, revisions, project
requests, drafts, regenerations, rejections, approvals (with edits, in bulk, of some proposals)
and out-of-scope attempts across students of two classes, against a real `beacon serve`. After
every step, every student-facing route (JSON API, pages, error pages, exports) shows each
student exactly their own released feedback and approved project ideas, and nothing else; and
Sia's guardian sees exactly Sia's, and nobody else's."""

from __future__ import annotations

import time
import uuid

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from beacon.school.auth import hash_password
from tests.web.serve import beacon_server

PASSWORD = "stateful-password"


def make_roster(url: str, password_hash: str) -> dict:
    """A fresh school for one hypothesis example (its steps must not see earlier examples' rows):
    class A (teacher Ana; students Sia, Sol) and class B (teacher Ben; student Tom)."""
    import psycopg

    tag = uuid.uuid4().hex[:8]
    people: dict = {}
    with psycopg.connect(url, autocommit=False) as conn:
        school_id = conn.execute("INSERT INTO schools (slug, name) VALUES (%s, 'Gate') RETURNING id", (f"gate-{tag}",)).fetchone()[0]
        for klass, teacher, students in (("A", "Ana", ("Sia", "Sol")), ("B", "Ben", ("Tom",))):
            class_id = conn.execute("INSERT INTO classes (school_id, name) VALUES (%s, %s) RETURNING id", (school_id, klass)).fetchone()[0]
            for name, role in ((teacher, "teacher"), *((n, "student") for n in students)):
                email = f"{name.lower()}-{tag}@example.org"
                user_id = conn.execute(
                    "INSERT INTO users (school_id, email, full_name, role, password_hash) VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    (school_id, email, f"{name} Gate", role, password_hash)).fetchone()[0]
                conn.execute("INSERT INTO enrollments (class_id, user_id, role_in_class) VALUES (%s, %s, %s)", (class_id, user_id, role))
                if role == "student":
                    conn.execute("INSERT INTO student_profiles (user_id, grade) VALUES (%s, 7)", (user_id,))
                    people[name] = (email, teacher)
                else:
                    people[name] = email
        # Gia is Sia's guardian, and nobody else's.
        email = f"gia-{tag}@example.org"
        guardian_id = conn.execute(
            "INSERT INTO users (school_id, email, full_name, role, password_hash) VALUES (%s, %s, 'Gia Gate', 'guardian', %s) RETURNING id",
            (school_id, email, password_hash)).fetchone()[0]
        conn.execute("INSERT INTO guardianships (guardian_id, student_id) SELECT %s, id FROM users WHERE email = %s",
                     (guardian_id, people["Sia"][0]))
        people["Gia"] = email
        conn.commit()
    return people


def _client(base: str, email: str, *, pages: bool = False) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    if pages:
        client.post("/login", data={"email": email, "password": PASSWORD})
    else:
        token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_only_released_feedback_ever_reaches_a_student(runtime):
    password_hash = hash_password(PASSWORD)
    with beacon_server() as base:

        class Gate(RuleBasedStateMachine):
            def __init__(self):
                super().__init__()
                roster = make_roster(runtime.db.url, password_hash)
                self.students = {name: info for name, info in roster.items() if isinstance(info, tuple)}
                self.api = {name: _client(base, info[0] if isinstance(info, tuple) else info) for name, info in roster.items()}
                self.pages = {name: _client(base, info[0], pages=True) for name, info in self.students.items()}
                self.family = _client(base, roster["Gia"], pages=True)  # Sia's guardian, on the pages
                # draft id -> {student, teacher, kind, feedback text | proposal texts}
                self.pending: dict[str, dict] = {}
                self.closed: dict[str, dict] = {}  # rejected, superseded, or approved in part
                self.released: dict[str, list[str]] = {name: [] for name in self.students}
                self.release_ids: dict[str, set[str]] = {name: set() for name in self.students}
                self.submissions: dict[str, list[str]] = {name: [] for name in self.students}
                self.ideas: dict[str, list[str]] = {name: [] for name in self.students}  # approved titles
                self.idea_texts: dict[str, set[str]] = {name: set() for name in self.students}

            def _wait_for_draft(self, teacher: str, key: str, value: str) -> dict:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    for draft in self.api[teacher].get("/api/v1/review/queue").json():
                        if draft[key] == value:
                            return draft
                    time.sleep(0.05)
                raise AssertionError(f"no draft for {key} {value}")

            def _track(self, draft: dict, student: str, teacher: str) -> None:
                key = "project_request_id" if draft["kind"] == "project" else "submission_id"
                info = {"student": student, "teacher": teacher, "kind": draft["kind"], "work": (key, draft[key])}
                if draft["kind"] == "project":
                    info["texts"] = [(p["title"], p["driving_question"]) for p in draft["content"]["proposals"]]
                else:
                    info["feedback"] = draft["content"]["feedback"]
                self.pending[draft["id"]] = info

            def _hand_in(self, student: str, **fields) -> None:
                body = f"My claim is that {uuid.uuid4().hex} matters because our evidence shows it, and some people argue otherwise."
                done = self.api[student].post("/api/v1/submissions", json={"title": "Work", "body": body, **fields})
                assert done.status_code == 202
                self.submissions[student].append(done.json()["id"])
                teacher = self.students[student][1]
                self._track(self._wait_for_draft(teacher, "submission_id", done.json()["id"]), student, teacher)

            def _release(self, draft_id: str, chosen: list[int] | None = None) -> None:
                info = self.pending.pop(draft_id)
                if info["kind"] == "project":
                    picked = [info["texts"][i] for i in (range(len(info["texts"])) if chosen is None else chosen)]
                    self.ideas[info["student"]] += [title for title, _ in picked]
                    self.idea_texts[info["student"]].update(t for pair in picked for t in pair)
                    self.closed[draft_id] = info  # the proposals left out must stay unseen
                else:
                    self.released[info["student"]].append(info["feedback"])

            @rule(student=st.sampled_from(["Sia", "Sol", "Tom"]))
            def submit(self, student):
                self._hand_in(student)

            @precondition(lambda self: any(self.submissions.values()))
            @rule(data=st.data())
            def revise(self, data):
                student = data.draw(st.sampled_from(sorted(n for n, ids in self.submissions.items() if ids)))
                self._hand_in(student, revision_of_id=data.draw(st.sampled_from(self.submissions[student])))

            @rule(student=st.sampled_from(["Sia", "Sol", "Tom"]), interest=st.sampled_from(["gardening", "robots", "music"]))
            def ask_for_projects(self, student, interest):
                # Words unique to this request mark every proposal made from it, so that one
                # proposal's title is never a substring of another request's ("Music Day" in
                # "Zq1 Music Day").
                mark = f"zq{uuid.uuid4().hex[:6]}"
                done = self.api[student].post("/api/v1/projects/requests",
                                              json={"interests": f"{mark}a {interest}, {mark}b {interest}"})
                assert done.status_code == 202, done.text
                teacher = self.students[student][1]
                self._track(self._wait_for_draft(teacher, "project_request_id", done.json()["id"]), student, teacher)

            @precondition(lambda self: self.pending)
            @rule(data=st.data(), edit=st.booleans())
            def approve(self, data, edit):
                draft_id = data.draw(st.sampled_from(sorted(self.pending)))
                info = self.pending[draft_id]
                content = self.api[info["teacher"]].get(f"/api/v1/drafts/{draft_id}").json()["content"]
                body = {"action": "approve"}
                chosen = None
                if info["kind"] == "project":
                    chosen = data.draw(st.lists(st.integers(0, len(info["texts"]) - 1), min_size=1, unique=True))
                    body["proposals"] = chosen
                elif edit:
                    content["feedback"] = f"Edited by your teacher {uuid.uuid4().hex}"
                    body["edited_content"] = content
                    info["feedback"] = content["feedback"]
                done = self.api[info["teacher"]].post(f"/api/v1/drafts/{draft_id}/decision", json=body)
                assert done.status_code == 200, done.text
                self._release(draft_id, sorted(chosen) if chosen else None)

            @precondition(lambda self: self.pending)
            @rule(data=st.data(), teacher=st.sampled_from(["Ana", "Ben"]))
            def bulk_approve(self, data, teacher):
                # Any mix of drafts, including other teachers': only this teacher's clean ones go out.
                chosen = data.draw(st.lists(st.sampled_from(sorted(self.pending)), min_size=1, max_size=4))
                done = self.api[teacher].post("/api/v1/review/bulk-approve", json={"draft_ids": chosen})
                assert done.status_code == 200, done.text
                for draft_id in done.json()["approved"]:
                    assert self.pending[draft_id]["teacher"] == teacher
                    self._release(draft_id)

            @precondition(lambda self: self.pending)
            @rule(data=st.data())
            def reject(self, data):
                draft_id = data.draw(st.sampled_from(sorted(self.pending)))
                info = self.pending.pop(draft_id)
                done = self.api[info["teacher"]].post(f"/api/v1/drafts/{draft_id}/decision",
                                                 json={"action": "reject", "reason": "not yet"})
                assert done.status_code == 200
                self.closed[draft_id] = info

            @precondition(lambda self: self.pending)
            @rule(data=st.data(), instructions=st.sampled_from(["shorter", "focus on evidence", "in Spanish"]))
            def regenerate(self, data, instructions):
                draft_id = data.draw(st.sampled_from(sorted(self.pending)))
                info = self.pending.pop(draft_id)
                done = self.api[info["teacher"]].post(f"/api/v1/drafts/{draft_id}/decision",
                                                 json={"action": "regenerate", "instructions": instructions})
                assert done.status_code == 200, done.text
                assert done.json()["regenerating"] is True
                self.closed[draft_id] = info
                # Drafted by the worker, not in the request: the new draft appears in the queue.
                fresh = self._wait_for_draft(info["teacher"], *info["work"])
                assert fresh["id"] != draft_id
                self._track(fresh, info["student"], info["teacher"])

            @precondition(lambda self: self.pending)
            @rule(data=st.data())
            def intrude(self, data):
                draft_id = data.draw(st.sampled_from(sorted(self.pending)))
                info = self.pending[draft_id]
                outsider = "Ben" if info["teacher"] == "Ana" else "Ana"
                for who in (outsider, info["student"]):
                    attempt = self.api[who].post(f"/api/v1/drafts/{draft_id}/decision", json={"action": "approve"})
                    assert attempt.status_code == 404
                    assert self.api[who].get(f"/api/v1/drafts/{draft_id}").status_code == 404

            @invariant()
            def a_guardian_sees_exactly_their_childs_releases(self):
                ids = {name: self.api[name].get("/api/v1/me").json()["id"] for name in self.students}
                children = self.api["Gia"].get("/api/v1/guardian/children").json()
                assert [c["id"] for c in children] == [ids["Sia"]]
                releases = self.api["Gia"].get(f"/api/v1/guardian/children/{ids['Sia']}/releases").json()
                feedback = [r["content"]["feedback"] for r in releases if r["content"].get("kind") != "project"]
                assert sorted(feedback) == sorted(self.released["Sia"])
                ideas = [p["title"] for r in releases if r["content"].get("kind") == "project" for p in r["content"]["proposals"]]
                assert sorted(ideas) == sorted(self.ideas["Sia"])
                responses = [self.api["Gia"].get(f"/api/v1/guardian/children/{ids['Sia']}/releases"), self.family.get("/guardian")]
                responses += [self.family.get(f"/guardian/children/{ids['Sia']}/releases/{r['id']}") for r in releases]
                for other in ("Sol", "Tom"):
                    for response in (self.api["Gia"].get(f"/api/v1/guardian/children/{ids[other]}/releases"),
                                     self.api["Gia"].get(f"/api/v1/mastery/students/{ids[other]}")):
                        assert response.status_code == 404
                        responses.append(response)
                for release_id in set().union(*(self.release_ids[o] for o in ("Sol", "Tom"))):
                    response = self.family.get(f"/guardian/children/{ids['Sia']}/releases/{release_id}")
                    assert response.status_code == 404
                    responses.append(response)
                own = set(self.released["Sia"]) | self.idea_texts["Sia"]
                for draft_id, info in {**self.pending, **self.closed}.items():
                    assert self.api["Gia"].get(f"/api/v1/drafts/{draft_id}").status_code == 404
                    texts = [t for pair in info.get("texts", []) for t in pair] or [info["feedback"]]
                    for response in responses:
                        assert draft_id not in response.text
                        for text in texts:
                            if text not in own:
                                assert text not in response.text, ("Gia", text)
                for name in ("Sol", "Tom"):  # what the other children were released never reaches Gia
                    for text in self.released[name]:
                        if text not in own:
                            assert all(text not in r.text for r in responses)

            @invariant()
            def students_see_exactly_their_releases(self):
                unreleased = {d: i for d, i in {**self.pending, **self.closed}.items()}
                project_releases: dict[str, set[str]] = {}
                for name in self.students:
                    releases = self.api[name].get("/api/v1/releases").json()
                    feedback = [r["content"]["feedback"] for r in releases if r["content"].get("kind") != "project"]
                    assert sorted(feedback) == sorted(self.released[name])
                    ideas = self.api[name].get("/api/v1/projects").json()
                    assert sorted(p["title"] for r in ideas for p in r["content"]["proposals"]) == sorted(self.ideas[name])
                    project_releases[name] = {r["id"] for r in ideas}
                    self.release_ids[name] = {r["id"] for r in releases}
                    export = self.pages[name].get("/student/export").text
                    assert all(text in export for text in self.released[name])
                for name in self.students:
                    own_texts = set(self.released[name]) | self.idea_texts[name]
                    others = set().union(*(ids for other, ids in self.release_ids.items() if other != name))
                    responses = [
                        self.api[name].get("/api/v1/releases"), self.api[name].get("/api/v1/submissions"),
                        self.api[name].get("/api/v1/projects"), self.api[name].get("/api/v1/projects/requests"),
                        self.pages[name].get("/student"), self.pages[name].get("/student/releases/not-an-id"),
                        self.pages[name].get("/nowhere"), self.api[name].get("/api/v1/review/queue"),
                        self.pages[name].get("/teacher"), self.pages[name].get("/teacher/next"),
                        self.pages[name].get("/coach"), self.pages[name].get("/admin"),
                        self.pages[name].get("/student/export"), self.pages[name].get("/teacher/assignments"),
                        self.api[name].get("/api/v1/assignments"),
                        self.api[name].post("/api/v1/review/bulk-approve", json={"draft_ids": list(unreleased)[:5] or [str(uuid.uuid4())]}),
                    ]
                    for release_id in project_releases[name]:
                        responses.append(self.pages[name].get(f"/student/projects/{release_id}"))
                    for submission_id in self.submissions[name]:
                        responses.append(self.pages[name].get(f"/student/submissions/{submission_id}/revise"))
                    for other, ids in self.submissions.items():
                        for submission_id in ids if other != name else ():
                            response = self.pages[name].get(f"/student/submissions/{submission_id}/revise")
                            assert response.status_code == 404
                            responses.append(response)
                    for release_id in others:
                        for response in (self.api[name].get(f"/api/v1/releases/{release_id}"),
                                         self.pages[name].get(f"/student/releases/{release_id}"),
                                         self.pages[name].get(f"/student/projects/{release_id}"),
                                         self.api[name].post(f"/api/v1/projects/{release_id}/start", json={"proposal": 0})):
                            assert response.status_code == 404
                            responses.append(response)
                    for draft_id in unreleased:
                        for response in (self.api[name].get(f"/api/v1/drafts/{draft_id}"),
                                         self.pages[name].get(f"/teacher/drafts/{draft_id}"),
                                         self.pages[name].get(f"/coach/drafts/{draft_id}")):
                            assert response.status_code == 404
                            responses.append(response)
                    for response in responses:
                        for draft_id, info in unreleased.items():
                            assert draft_id not in response.text
                            texts = [t for pair in info.get("texts", []) for t in pair] or [info["feedback"]]
                            for text in texts:
                                if text not in own_texts:
                                    assert text not in response.text, (name, text)

        from hypothesis.stateful import run_state_machine_as_test

        run_state_machine_as_test(Gate, settings=settings(
            max_examples=6, stateful_step_count=10, deadline=None, suppress_health_check=list(HealthCheck)))
