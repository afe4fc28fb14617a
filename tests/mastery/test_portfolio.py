"""A student's portfolio (issue 15): their evidence per competency across subjects, from released
feedback (with quotes in their own words), demonstrations a teacher logged and started projects
with what they produced; narrowed by competency, subject, kind and dates; never a draft, a
baseline, a goal or another student's work."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from beacon.errors import InvalidInput
from beacon.feedback.service import submit
from beacon.mastery import goals
from beacon.mastery.portfolio_view import Filters
from beacon.projects.portfolio import portfolio
from beacon.school import repository as school
from beacon.school.models import Assignment, AssignmentCompetency, User
from tests.classroom import ESSAY
from tests.mastery.progress_helpers import log, release

QUESTION = "Should our town turn the old lot into a skate park?"


async def start_project(runtime, student_id: uuid.UUID, teacher_id: uuid.UUID, *, title: str = "Skate park pitch",
                        competency: str = "argument-writing") -> uuid.UUID:
    """A started project as starting one writes it (projects/service.start_project): the student's
    own assignment, its driving question first, linked to its competencies."""
    async with runtime.db.transaction() as session:
        [class_id] = await school.classes_of_student(session, student_id)
        assignment = Assignment(class_id=class_id, student_id=student_id, created_by=teacher_id, title=title,
                                instructions=f"{QUESTION}\n\nMilestones:\n1. Survey: what riders want\n\nFinal product: a letter")
        session.add(assignment)
        await session.flush()
        session.add(AssignmentCompetency(assignment_id=assignment.id, competency_id=competency))
    return assignment.id


@pytest.fixture
async def evidence(runtime, classroom):
    c = classroom
    wind = await release(runtime, c.teacher_id, c.student_id, title="Wind turbines",
                         levels={"claim": 3, "evidence": 2, "reasoning": 3})
    await log(runtime, c.teacher_id, c.student_id, "oral-communication", {"audience": 3, "delivery": 2},
              date(2025, 10, 17), note="Exhibition night")
    await log(runtime, c.teacher_id, c.student_id, "oral-communication", {"audience": 1}, date(2025, 9, 1),
              source="baseline")
    project = await start_project(runtime, c.student_id, c.teacher_id)
    produced = await release(runtime, c.teacher_id, c.student_id, title="Skate park letter",
                             body=ESSAY.replace("wind turbines", "a skate park"), assignment_id=project)
    await release(runtime, c.teacher_id, c.classmate_id, title="Priya's secret essay")
    async with runtime.db.transaction() as session:
        # Work still with the teacher, and the student's own goal: never in a portfolio.
        await submit(session, student_id=c.student_id, title="Unreleased draft", body=ESSAY)
        await goals.set_goal(session, await session.get(User, c.student_id), "argument-writing", "Secret aim", 3)
    return {"wind": str(wind), "produced": str(produced), "project": str(project)}


async def _portfolio(runtime, student_id, **filters):
    async with runtime.db.transaction() as session:
        student = await session.get(User, student_id)
        return await portfolio(session, student, runtime.settings, Filters(**filters), language="en")


async def test_every_kind_of_evidence_per_competency_and_only_what_was_released(runtime, classroom, evidence):
    found = await _portfolio(runtime, classroom.student_id)
    entries = {e.id: e for e in found.entries}
    assert list(entries) == ["oral-communication", "argument-writing"]  # by subject: Durable Skills first
    assert entries["argument-writing"].subject == "English Language Arts"
    assert entries["oral-communication"].subject == "Durable Skills"
    assert found.subjects == ["Durable Skills", "English Language Arts"]
    assert [cid for cid, _title in found.choices] == ["argument-writing", "oral-communication"]

    writing = entries["argument-writing"].pieces
    kinds = sorted((p.kind, p.title) for p in writing)
    assert kinds == [("feedback", "Skate park letter"), ("feedback", "Wind turbines"), ("project", "Skate park pitch")]
    wind = next(p for p in writing if p.title == "Wind turbines")
    assert wind.release_id == evidence["wind"]
    assert {r.criterion_id: r.level.number for r in wind.ratings if r.criterion_id in ("claim", "evidence", "reasoning")} == {
        "claim": 3, "evidence": 2, "reasoning": 3}
    assert 1 <= len(wind.quotes) <= 2
    for quote in wind.quotes:  # verbatim from the work
        assert quote.rstrip("…") in " ".join(ESSAY.split())

    project = next(p for p in writing if p.kind == "project")
    assert project.driving_question == QUESTION and project.ratings == [] and project.quotes == []
    assert [(w.title, w.release_id) for w in project.produced] == [("Skate park letter", evidence["produced"])]

    [shown] = entries["oral-communication"].pieces  # the baseline is where she started, not a piece of evidence
    assert (shown.kind, shown.note, shown.on, shown.release_id, shown.quotes) == (
        "demonstration", "Exhibition night", date(2025, 10, 17), None, [])
    assert {r.criterion_id: r.level.number for r in shown.ratings} == {"audience": 3, "delivery": 2}

    said = repr(found)
    for hidden in ("Unreleased draft", "Secret aim", "Priya's secret essay"):
        assert hidden not in said


async def test_filters_narrow_by_competency_subject_kind_and_dates(runtime, classroom, evidence):
    student = classroom.student_id
    only = await _portfolio(runtime, student, kind="demonstration")
    assert [(e.id, [p.kind for p in e.pieces]) for e in only.entries] == [("oral-communication", ["demonstration"])]
    assert len(only.choices) == 2  # the form still offers everything

    projects = await _portfolio(runtime, student, kind="project")
    assert [(e.id, [p.title for p in e.pieces]) for e in projects.entries] == [("argument-writing", ["Skate park pitch"])]

    assert [e.id for e in (await _portfolio(runtime, student, competency="oral-communication")).entries] == ["oral-communication"]
    assert [e.id for e in (await _portfolio(runtime, student, subject="English Language Arts")).entries] == ["argument-writing"]
    assert (await _portfolio(runtime, student, subject="Mathematics")).entries == []

    autumn = await _portfolio(runtime, student, start=date(2025, 10, 1), end=date(2025, 10, 31))
    assert [(e.id, [p.note for p in e.pieces]) for e in autumn.entries] == [("oral-communication", ["Exhibition night"])]
    today = await _portfolio(runtime, student, start=date.today())
    assert "oral-communication" not in {e.id for e in today.entries} and today.pieces == 3


async def test_a_student_with_nothing_released_has_an_empty_portfolio(runtime, classroom):
    async with runtime.db.transaction() as session:
        await submit(session, student_id=classroom.classmate_id, title="Still a draft", body=ESSAY)
    found = await _portfolio(runtime, classroom.classmate_id)
    assert (found.entries, found.choices, found.pieces) == ([], [], 0)


def test_filters_are_checked_and_empty_values_are_no_filter():
    assert Filters.of({"competency": "", "subject": "", "kind": "", "from": "", "to": ""}) == Filters()
    made = Filters.of({"competency": "argument-writing", "subject": "Science", "kind": "project",
                       "from": "2025-09-01", "to": "2025-12-31"})
    assert made == Filters("argument-writing", "Science", "project", date(2025, 9, 1), date(2025, 12, 31))
    assert made.query == "competency=argument-writing&subject=Science&kind=project&from=2025-09-01&to=2025-12-31"
    for bad in ({"kind": "draft"}, {"kind": "goal"}, {"subject": "Cooking"}, {"competency": "../etc"},
                {"competency": "a" * 81}, {"from": "yesterday"}, {"to": "2025-13-01"},
                {"from": "2025-10-02", "to": "2025-10-01"}, {"subject": "x" * 5000}):
        with pytest.raises(InvalidInput):
            Filters.of(bad)
