"""A term of history for the demo class (``samples/term.yaml``), so the teacher's mastery grid
and the students' records have something true to show on first run: ten weeks of dated work
handed in for the class's assignments, drafted by the offline model, decided by the teacher and
released (one revision after feedback, one resubmission of returned work), a performance the
teacher logs by hand, and her baseline. Every step goes through the services the app uses, and
each is idempotent: running the demo again reuses what the last run made."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from beacon.errors import Conflict
from beacon.feedback import service as feedback
from beacon.feedback.models import Submission
from beacon.mastery import repository as ratings
from beacon.mastery import service as mastery
from beacon.mastery.schemas import CriterionRating, NewRatings
from beacon.review.service import decide_draft
from beacon.runtime import run_jobs
from beacon.school import repository as school_repo
from beacon.school import service as school
from beacon.school.models import Assignment, SchoolClass, User
from beacon.school.schemas import NewAssignment

SAMPLES = Path(__file__).resolve().parent / "samples"


@dataclass(frozen=True)
class Work:
    """One piece of the term's work: whose, for which assignment, how many weeks ago; what it
    revises, if anything; if the teacher returned it, why; else the levels she judged differently
    from the draft."""

    student: str
    assignment: str
    file: str
    weeks_ago: int
    revises: str | None = None
    returned: str | None = None
    judged: dict[str, int] = field(default_factory=dict)


@dataclass
class Term:
    """What the term left: the assignments, and each work's submission (by file)."""

    assignments: dict[str, Assignment]
    handed_in: dict[str, Submission]
    logged: list[str] = field(default_factory=list)  # what the teacher logged by hand, in words

    @property
    def revisions(self) -> int:
        return sum(1 for s in self.handed_in.values() if s.revision_of_id)


def load_term(path: Path = SAMPLES / "term.yaml") -> dict:
    plan = yaml.safe_load(path.read_text(encoding="utf-8"))
    plan["works"] = [Work(**w) for w in plan["works"]]
    return plan


async def _assignments(session, teacher: User, klass: SchoolClass, planned: dict) -> dict[str, Assignment]:
    """The term's assignments, set by the teacher once (found again by title)."""
    existing = {a.title: a for a in await school_repo.assignments_taught(session, teacher.id) if a.class_id == klass.id}
    made = {}
    for key, a in planned.items():
        made[key] = existing.get(a["title"]) or await school.set_assignment(session, teacher, NewAssignment(
            class_id=str(klass.id), title=a["title"], instructions=a["instructions"], competency_ids=a["competencies"]))
    return made


async def _hand_in(rt, works: list[Work], students: dict, term: Term, now: datetime) -> None:
    """Each work handed in for its assignment (a revision linked to the work it revises), once."""
    async with rt.db.transaction() as session:
        for work in works:
            earlier = term.handed_in[work.revises].id if work.revises else None
            assignment = term.assignments[work.assignment]
            submission = await feedback.submit_once(
                session, student_id=students[work.student].id, title=assignment.title,
                body=(SAMPLES / work.file).read_text(encoding="utf-8"), source_filename=Path(work.file).name,
                assignment_id=assignment.id, revision_of_id=earlier)
            if submission.status == "queued":
                # Handed in weeks ago, as the term had it: its ratings are dated by the work. The
                # app only ever takes work handed in now, so the demo dates it here.
                submission.created_at = now - timedelta(weeks=work.weeks_ago)
            term.handed_in[work.file] = submission


def _judged(content, levels: dict[str, int]):
    """The draft with the teacher's levels where she judged differently (None: approved as drafted)."""
    edited = content.model_copy(deep=True)
    for criterion in edited.criteria:
        criterion.level = levels.get(criterion.criterion_id, criterion.level)
    return None if edited == content else edited


async def _decide(rt, workflows, teacher: User, works: list[Work], term: Term) -> None:
    """The teacher approves each draft, at her own levels where she judged differently, or returns
    the work with her reason."""
    for work in works:
        payload = await workflows.feedback.pending_review(term.handed_in[work.file].id)
        if payload is None:
            continue
        action = ({"action": "reject", "reason": work.returned} if work.returned
                  else {"action": "approve", "edited_content": _judged(payload.content, work.judged)})
        try:
            await decide_draft(rt.db, uuid.UUID(payload.draft_id), teacher_id=teacher.id, **action)
        except Conflict:
            continue  # decided on an earlier run; its thread moves on with the next jobs


async def _log(rt, teacher: User, students: dict, entry: dict, today: date) -> None:
    """One demonstration (or baseline) the teacher logs by hand, per student, unless logged already."""
    for name, levels in entry["levels"].items():
        student = students[name]
        async with rt.db.transaction() as session:
            earlier = await ratings.current_ratings(session, student.id, entry["competency"])
            if any(r.source == entry["source"] and r.note == entry["note"] for r in earlier):
                continue
            await mastery.log_ratings(session, teacher, NewRatings(
                student_ids=[student.id], competency_id=entry["competency"], source=entry["source"],
                work_date=today - timedelta(weeks=entry["weeks_ago"]), note=entry["note"],
                artifact_url=entry.get("artifact_url"),
                ratings=[CriterionRating(criterion_id=c, level=lv) for c, lv in zip(entry["criteria"], levels, strict=True)]))


async def seed_term(rt, workflows, teacher: User, klass: SchoolClass, students: dict, plan: dict | None = None) -> Term:
    """The whole term: assignments; first pieces handed in, drafted and decided; then the
    revisions (drafted with the earlier feedback as context); then what the teacher logs."""
    plan = plan or load_term()
    now = datetime.now(UTC)
    async with rt.db.transaction() as session:
        term = Term(await _assignments(session, teacher, klass, plan["assignments"]), {})
    first = [w for w in plan["works"] if not w.revises]
    again = [w for w in plan["works"] if w.revises]
    for works in (first, again):
        await _hand_in(rt, works, students, term, now)
        await run_jobs(rt, workflows, wait=False)
        await _decide(rt, workflows, teacher, works, term)
    for entry in plan["logged"]:
        await _log(rt, teacher, students, entry, now.date())
        term.logged.append(entry["label"])
    await run_jobs(rt, workflows, wait=False)  # the decided threads end
    return term
