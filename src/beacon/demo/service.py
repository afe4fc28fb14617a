"""`beacon demo`: a demo school on the embedded database, a term of its history (``term.py``),
and Beacon at work on today's sample work. Each step is idempotent, so running the demo again
reuses what the last run made."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer
import yaml

from beacon.config import get_settings
from beacon.demo.term import seed_term
from beacon.errors import Busy
from beacon.feedback import service as feedback
from beacon.mastery import service as mastery
from beacon.projects import repository as projects
from beacon.projects.schemas import ProjectAsk
from beacon.projects.service import request_projects
from beacon.rubrics import repository as rubrics_repo
from beacon.rubrics.service import match
from beacon.runtime import open_runtime, open_workflows, run_jobs
from beacon.school import service as school
from beacon.school.auth import hash_password, password_matches
from beacon.school.models import SchoolClass, User
from beacon.school.schemas import StudentSeed

SAMPLES = Path(__file__).resolve().parent / "samples"
GUARDIAN_EMAIL = "ana.okafor@family.beacon-demo.org"
TEACHER_EMAIL = "ms.alvarez@beacon-demo.org"
DEMO_PASSWORD = "beacon-demo"  # demo accounts only; real accounts set their own


@contextmanager
def demo_lock(data_dir: Path):
    """One demo at a time per data directory: a second one would race the first's setup."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "demo.lock"
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise Busy(f"another `beacon demo` is already running (pid {holder}); wait for it or stop it") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def load_samples() -> tuple[list[StudentSeed], list[dict]]:
    students = yaml.safe_load((SAMPLES / "students.yaml").read_text(encoding="utf-8"))
    samples = yaml.safe_load((SAMPLES / "samples.yaml").read_text(encoding="utf-8"))
    seeds = [StudentSeed.model_validate(s) for s in students["students"]]
    return seeds, samples["samples"]


@dataclass
class DemoSchool:
    teacher: User
    klass: SchoolClass
    students: dict[str, User]  # by first name, lower case
    guardian: User  # the first student's, in Spanish


async def setup_school(session, seeds: list[StudentSeed]) -> DemoSchool:
    """The demo school: one teacher, one class, six students."""
    demo_school = await school.ensure_school(session, "beacon-demo", "Beacon Demo School")
    teacher = await school.ensure_user(session, demo_school, TEACHER_EMAIL, "Rosa Alvarez", "teacher")
    klass = await school.ensure_class(session, demo_school, "Crossroads Studio", "Interdisciplinary")
    await school.enroll(session, klass, teacher, "teacher")
    students = {
        seed.first_name.lower(): await school.ensure_student(session, demo_school, klass, seed)
        for seed in seeds
    }

    # A family: the first student's guardian reads her released work and progress, in Spanish.
    first = next(iter(students.values()))
    guardian = await school.ensure_user(session, demo_school, GUARDIAN_EMAIL, "Ana Okafor", "guardian")
    guardian.preferred_language = "es"
    await school.ensure_guardianship(session, guardian, first)
    for user in (teacher, guardian, *students.values()):
        if not password_matches(user.password_hash, DEMO_PASSWORD):
            user.password_hash = hash_password(DEMO_PASSWORD)
    return DemoSchool(teacher, klass, students, guardian)


async def _term(rt, workflows, demo: DemoSchool, echo) -> None:
    """A term of history, and what the class's mastery grid shows for it."""
    term = await seed_term(rt, workflows, demo.teacher, demo.klass, demo.students)
    titles = ", ".join(f"\"{a.title}\"" for a in term.assignments.values())
    echo(f"A term of history (ten weeks): {titles}; {len(term.handed_in)} works handed in, drafted and decided "
         f"({term.revisions} revised or handed in again); logged by hand: {', '.join(term.logged)}.")
    async with rt.db.transaction() as session:
        grid = await mastery.class_grid(session, demo.klass.id, rt.settings,
                                        school_choice=await mastery.school_choice(session, demo.teacher))
    echo("The class's mastery grid (/teacher/mastery):")
    for student in grid.students:
        standings = grid.records[student.id].competencies
        cells = [f"{title} {standings[cid].status.status.replace('_', ' ')}"
                 + (f" {standings[cid].status.value:.2f}" if standings[cid].status.value is not None else "")
                 for cid, title in grid.competencies if cid in standings]
        echo(f"  {student.full_name}: {' · '.join(cells) or 'no evidence yet'}")
    echo("")


async def _match_samples(rt, samples: list[dict], students: dict, echo) -> list[tuple]:
    """Today's sample work handed in (once), with the competency each matches and why."""
    right, submitted = 0, []
    for sample in samples:
        student = students[sample["student"]]
        body = (SAMPLES / sample["file"]).read_text(encoding="utf-8")
        async with rt.db.transaction() as session:
            submission = await feedback.submit_once(
                session, student_id=student.id, title=sample["title"], body=body,
                source_filename=sample["file"],
            )
            matches = await match(session, body, rt.embedder, limit=3)
        submitted.append((student, sample, submission.id))
        top = matches[0]
        ok = top.id == sample.get("expected_competency", top.id)
        right += ok
        echo(f"{student.full_name} · {sample['subject']} · \"{sample['title']}\"")
        echo(f"  matched  {top.title} ({top.id} v{top.rubric_version}), score {top.score:.2f}"
             + ("" if ok else f"   [expected {sample['expected_competency']}]"))
        echo(f"  criteria {', '.join(c.title for c in top.criteria)}")
        if top.why:
            echo(f"  because  the work and the rubric share: {', '.join(top.why)}")
        others = ", ".join(f"{m.id} {m.score:.2f}" for m in matches[1:])
        echo(f"  also     {others}\n")
    echo(f"{right}/{len(samples)} samples matched the competency their teacher would pick.\n")
    return submitted


async def _drafts(rt, workflows, submitted: list[tuple], echo) -> None:
    """Today's work drafted through the job queue, each draft stopped for the teacher."""
    echo(f"Drafting feedback with the {rt.settings.model} model (through the job queue)...\n")
    await run_jobs(rt, workflows, wait=False)
    for student, _, submission_id in submitted:
        payload = await workflows.feedback.pending_review(submission_id)
        if payload is None:
            echo(f"{student.full_name}: no draft waiting (already reviewed, or still queued)")
            continue
        levels = ", ".join(f"{c.criterion_id} {c.level}" for c in payload.content.criteria)
        echo(f"{student.full_name} · draft {payload.draft_id[:8]} · {payload.content.rubric_id} · {levels}")
        echo(f"  next step  {payload.content.next_steps[0]}")
        flags = [f for f in payload.flags if f != "offline_model"]
        if flags:
            echo(f"  flags      {', '.join(flags)}")


async def _project_ideas(rt, workflows, student, interests: list[str], echo) -> None:
    """One student's project ideas, aimed at their record, designed through the same queue and
    stopped for review."""
    said = ", ".join(interests)
    async with rt.db.transaction() as session:
        earlier = [r for r in await projects.requests_of(session, student.id) if r.interests == said]
        request = earlier[0] if earlier else await request_projects(session, student.id, ProjectAsk(interests=said))
    await run_jobs(rt, workflows, wait=False)
    payload = await workflows.projects.pending_review(request.id)
    echo(f"\nProject ideas for {student.full_name} (interests: {said}):")
    if payload is None:
        echo("  none waiting (already reviewed, or still queued)")
        return
    for target in payload.content.targets:
        echo(f"  grows {target.title}: {target.reason}")
        for aim in target.aims:
            echo(f"    {aim.title}: {aim.movement}")
    for proposal in payload.content.proposals:
        echo(f"  · {proposal.title} [{proposal.product_kind}, {proposal.duration_weeks} weeks]: {proposal.driving_question}")


def sign_in_link(app_url: str, email: str) -> str:
    from urllib.parse import urlencode

    return f"{app_url}/login?{urlencode({'email': email})}"


async def run_demo(app_url: str = "http://127.0.0.1:8000") -> None:
    settings = get_settings()
    seeds, samples = load_samples()
    echo = typer.echo
    with demo_lock(settings.data_dir):
        where = "embedded PostgreSQL in " + str(settings.embedded_pgdata) if not settings.database_url else "the configured database"
        echo(f"Beacon demo · database: {where}")
        # The library loads at start, as the schema's owner (a new embedding model needs its index).
        async with open_runtime(settings) as rt:
            report = rt.library
            async with rt.db.transaction() as session:
                count = len(await rubrics_repo.current_versions(session))
            echo(
                f"Rubric library: {count} competencies "
                f"({len(report.created)} new versions, {len(report.unchanged)} unchanged) · "
                f"embeddings: {rt.embedder.name}\n"
            )
            async with rt.db.transaction() as session:
                demo = await setup_school(session, seeds)
            echo(f"Demo school: teacher Rosa Alvarez ({TEACHER_EMAIL}), class Crossroads Studio, {len(demo.students)} students\n")

            async with open_workflows(rt) as workflows:
                await _term(rt, workflows, demo, echo)
                echo("Work handed in today:\n")
                submitted = await _match_samples(rt, samples, demo.students, echo)
                await _drafts(rt, workflows, submitted, echo)
                await _project_ideas(rt, workflows, next(iter(demo.students.values())), seeds[0].interests, echo)
                echo("\nEvery draft waits for the teacher: nothing above is visible to a student yet.")
            echo("Next: `beacon draft FILE` for your own work, `beacon rubrics show <id>` for a rubric.")
            echo(f"\nSign in (password {DEMO_PASSWORD!r}); each link opens the sign-in page for that account:")
            echo(f"  teacher  {sign_in_link(app_url, TEACHER_EMAIL)}  (approve a draft; the class's grid at {app_url}/teacher/mastery)")
            for student in demo.students.values():
                echo(f"  student  {sign_in_link(app_url, student.email)}  ({student.full_name})")
            child = next(iter(demo.students.values()))
            echo(f"  family   {sign_in_link(app_url, GUARDIAN_EMAIL)}  ({demo.guardian.full_name}, "
                 f"{child.full_name}'s guardian: what her teachers released to her)")
            echo(f"  API docs {app_url}/docs")
