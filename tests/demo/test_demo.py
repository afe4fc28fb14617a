"""`beacon demo` seeds a term of history through the app's own paths: after it, the class's
mastery grid has students with evidence on several competencies, ratings dated across the term,
a demonstration the teacher logged by hand, a revision and returned work handed in again, and
released evidence quoting the students' own words. A second run adds nothing."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from beacon.demo.service import run_demo, sign_in_link
from beacon.feedback.models import Submission
from beacon.mastery import service as mastery
from beacon.mastery.models import Rating
from beacon.school import repository as school


async def _class(session):
    demo = await school.school_by_slug(session, "beacon-demo")
    return await school.class_by_name(session, demo.id, "Crossroads Studio")


async def _counts(runtime, student_ids) -> tuple[int, int]:
    async with runtime.db.transaction() as session:
        ratings = await session.scalar(select(func.count()).select_from(Rating).where(Rating.student_id.in_(student_ids)))
        works = await session.scalar(select(func.count()).select_from(Submission).where(Submission.student_id.in_(student_ids)))
    return ratings, works


async def test_the_demo_leaves_a_term_the_mastery_grid_can_show(runtime, capsys):
    await run_demo()
    out = capsys.readouterr().out
    assert "A term of history" in out and "/teacher/mastery" in out

    async with runtime.db.transaction() as session:
        klass = await _class(session)
        grid = await mastery.class_grid(session, klass.id, runtime.settings)
        ids = [s.id for s in grid.students]
        entries = [e for es in (await mastery.ratings_of_students(session, ids)).values() for e in es]
        works = {w.id: w for w in (await session.scalars(select(Submission).where(Submission.student_id.in_(ids)))).all()}

    # Every student has evidence on two or more competencies; the grid's columns are the assignments'.
    assert len(grid.students) == 6
    assert all(len(grid.records[s].competencies) >= 2 for s in ids)
    assert {"argument-writing", "scientific-investigation", "oral-communication"} <= {c for c, _ in grid.competencies}
    statuses = {standing.status.status for r in grid.records.values() for standing in r.competencies.values()}
    assert len(statuses) >= 2  # a spread, not one colour

    # Dated across the term, in the past; released evidence quotes the work it came from.
    drafted = [e for e in entries if e.source == "draft"]
    dates = sorted({e.work_date for e in drafted})
    assert dates[-1] < date.today() and dates[-1] - dates[0] >= timedelta(weeks=4)
    released_from = {w.id: w.body for w in works.values()}
    quotes = [(e, q["quote"]) for e in drafted for q in e.evidence]
    assert quotes and all(any(q in body for body in released_from.values()) for _, q in quotes)

    # What the teacher logged by hand: a demonstration with a note and a link, and a baseline.
    logged = [e for e in entries if e.source == "teacher"]
    assert logged and all(e.note for e in logged) and any(e.artifact_url for e in logged)
    assert any(e.source == "baseline" for e in entries)

    # A revision after feedback, and returned work handed in again.
    revised = [w for w in works.values() if w.revision_of_id]
    assert len(revised) >= 2
    assert {works[w.revision_of_id].status for w in revised} >= {"released", "returned"}

    # A family: the first student's guardian, in Spanish, linked to her alone; the demo prints the link.
    async with runtime.db.transaction() as session:
        guardian = await school.user_by_email(session, "ana.okafor@family.beacon-demo.org")
        children = await school.children_of(session, guardian.id)
    assert guardian.role == "guardian" and guardian.preferred_language == "es"
    assert [c.full_name for c in children] == ["Maya Okafor"]
    assert sign_in_link("http://127.0.0.1:8000", guardian.email) in out

    # Running the demo again reuses the term: no rating or work twice.
    before = await _counts(runtime, ids)
    await run_demo()
    assert await _counts(runtime, ids) == before
