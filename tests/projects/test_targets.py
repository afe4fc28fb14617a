"""Project ideas aim at the mastery record: competencies not yet met by the school's method, the
criteria below the threshold or short of the evidence requirement (whatever the latest rating
says), and each idea says what it gives evidence for and how far that moves the student."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from beacon.mastery import service as mastery
from beacon.mastery.calculation import Method, Point, status
from beacon.mastery.schemas import CriterionRating, NewRatings
from beacon.projects import service as projects
from beacon.projects.schemas import ProjectAsk
from beacon.projects.targets import Footing, aim_of, profile_targets, record_targets, short_of_met, shown
from beacon.rubrics.library import read_library
from beacon.runtime import open_feedback, run_jobs, workflows_for
from beacon.school.models import School, User

ROOT = Path(__file__).resolve().parents[2]
RUBRICS = {r.id: r for _, r in read_library(ROOT / "rubrics").rubrics}
TODAY = date(2026, 3, 2)
EARLIER, LATER = TODAY - timedelta(weeks=6), TODAY - timedelta(weeks=2)
# Argument writing: the latest evidence rating is Extending (4), but by the decaying average the
# criterion is at 2.95; claim has one rating (Extending) of the two pieces required. Not met.
ARGUMENT = {"evidence": [1, 4], "claim": [None, 4], "reasoning": [3, 3], "counterargument": [3, 3],
            "organization": [3, 3], "conventions": [3, 3]}
# Scientific investigation: every criterion at 3 then 4, twice rated. Met.
SCIENCE = {c: [3, 4] for c in ("question", "design", "data", "analysis", "limitations")}


def footing(ratings: dict[str, list[int | None]], competency: str, method: Method | None = None) -> Footing:
    rubric = RUBRICS[competency]
    method = method or Method(n=rubric.evidence_required)
    points = {c: [Point(on, lv, f"{c}{n}") for n, (on, lv) in enumerate(zip((EARLIER, LATER), levels)) if lv]
              for c, levels in ratings.items()}
    standing = status(points, [c.id for c in rubric.criteria], method, threshold=rubric.mastery_threshold,
                      required=rubric.evidence_required, today=TODAY, scale=(1, len(rubric.levels)))
    return Footing(standing, method, points)


def test_a_high_latest_rating_does_not_hide_a_criterion_the_record_has_not_met():
    argument = footing(ARGUMENT, "argument-writing")
    assert argument.status.status == "approaching"
    assert short_of_met(argument.status) == ["evidence", "claim"]  # below the threshold first, then short of evidence
    [target] = record_targets({"argument-writing": argument, "scientific-investigation": footing(SCIENCE, "scientific-investigation")},
                              {c: (RUBRICS[c], 1) for c in ("argument-writing", "scientific-investigation")}, TODAY)
    assert (target.competency_id, target.criteria, target.status) == ("argument-writing", ["evidence", "claim"], "approaching")
    evidence, claim = target.aims
    # Proficient would leave the average at 2.82: the aim is the level that meets, worked out.
    assert (evidence.value, evidence.evidence, evidence.aim, shown(evidence.projected), evidence.meets) == (
        pytest.approx(2.95), 2, 4, "3.47", True)
    assert evidence.movement == ("Evidence: 2 of 2 pieces, at 2.95 (met needs 3 on 2 pieces). "
                                 "A project at Extending would bring it to 3 pieces, at 3.47: met.")
    assert claim.movement == ("Evidence: 1 of 2 pieces, at 4 (met needs 3 on 2 pieces). "
                              "A project at Proficient would bring it to 2 of 2 pieces, at 3.35: met.")
    assert target.reason == ("your record has it approaching met (3.15 by the decaying average): evidence is at "
                             "2.95 and needs 3; claim has 1 of 2 pieces of evidence. A project that shows these "
                             "at the levels named could bring it to met.")


def test_the_schools_method_decides_what_is_short():
    by_highest = footing(ARGUMENT, "argument-writing", Method("highest", n=2))
    assert short_of_met(by_highest.status) == ["claim"]  # evidence's highest rating is 4: only claim's evidence is short


def test_what_one_project_cannot_do_is_said_and_numbers_are_never_rounded_up():
    rubric = RUBRICS["argument-writing"]
    low = footing({"evidence": [1, 1], **{c: [3, 3] for c in ("claim", "reasoning", "counterargument",
                                                               "organization", "conventions")}}, "argument-writing")
    aim = aim_of("evidence", rubric, low, TODAY)
    assert (aim.aim, aim.meets) == (4, False) and shown(aim.projected) == "2.95"
    assert "closer, but it takes more than one piece to reach 3" in aim.movement
    assert shown(2.999) == "2.99" and shown(3.0) == "3" and shown(2.1) == "2.1"
    # Ratings that do not give the record's own value are not projected from: less is said, nothing untrue.
    drifted = Footing(low.status, low.method, {"evidence": [Point(EARLIER, 4, "x")]})
    unsure = aim_of("evidence", rubric, drifted, TODAY)
    assert unsure.projected is None and not unsure.meets and unsure.movement.endswith("adds a piece of evidence.")
    # Nothing on the record: the project's evidence is the first piece.
    fresh = aim_of("claim", rubric, None, TODAY)
    assert (fresh.aim, fresh.projected, fresh.meets) == (3, 3, False)
    assert fresh.movement == "No evidence yet: a project at Proficient would be the first of 2 pieces needed."


def test_a_profile_of_levels_targets_its_weakest_competency_first():
    targets = profile_targets({"argument-writing": {"claim": 3, "evidence": 1, "reasoning": 2},
                               "scientific-investigation": {"question": 3, "design": 4, "data": 3}},
                              {c: (RUBRICS[c], 1) for c in RUBRICS})
    assert [t.competency_id for t in targets] == ["argument-writing", "scientific-investigation"]
    assert targets[0].criteria[:2] == ["evidence", "reasoning"]


# --- On the real record, through the workflow --------------------------------------------------

async def _log(runtime, classroom, competency: str, ratings: dict[str, list[int | None]]) -> None:
    """The teacher logs the history: the first level of each criterion six weeks ago, the second two."""
    today = date.today()
    async with runtime.db.transaction() as session:
        teacher = await session.get(User, classroom.teacher_id)
        for n, on in enumerate((today - timedelta(weeks=6), today - timedelta(weeks=2))):
            rated = [CriterionRating(criterion_id=c, level=levels[n]) for c, levels in ratings.items() if levels[n]]
            await mastery.log_ratings(session, teacher, NewRatings(
                student_ids=[classroom.student_id], competency_id=competency, work_date=on, ratings=rated,
                note="observed in the studio"))


async def _choose(runtime, classroom):
    async with runtime.db.transaction() as session:
        request = await projects.request_projects(session, classroom.student_id, ProjectAsk(interests="soccer, podcasts"))
        return request, await projects.choose_targets(session, request, runtime.embedder, runtime.settings)


async def test_ideas_aim_at_what_the_record_has_not_met_and_say_how_far_they_move_it(runtime, classroom):
    await _log(runtime, classroom, "argument-writing", ARGUMENT)
    await _log(runtime, classroom, "scientific-investigation", SCIENCE)
    request, (targets, versions, flags) = await _choose(runtime, classroom)
    assert flags == [] and set(versions) == {"argument-writing"}  # met: not a target
    [target] = targets
    assert target.criteria == ["evidence", "claim"] and [a.aim for a in target.aims] == [4, 3]

    async with open_feedback(runtime, InMemorySaver()) as feedback:
        await run_jobs(runtime, workflows_for(runtime, feedback), wait=False)
        payload = await workflows_for(runtime, feedback).projects.pending_review(request.id)
    assert len(payload.content.proposals) == 3
    for proposal in payload.content.proposals:
        [grows] = proposal.competencies
        assert grows.competency_id == "argument-writing" and grows.criteria == ["evidence", "claim"]
        assert [a.criterion_id for a in grows.aims] == ["evidence", "claim"]
        assert "A project at Extending would bring it to 3 pieces, at 3.47: met." in grows.aims[0].movement
        assert "A project at Proficient would bring it to 2 of 2 pieces, at 3.35: met." in grows.aims[1].movement
    assert "approaching met" in payload.content.proposals[0].why_it_fits


async def test_the_schools_own_method_is_the_one_aimed_by(runtime, classroom):
    await _log(runtime, classroom, "argument-writing", ARGUMENT)
    async with runtime.db.transaction() as session:
        school = await session.get(School, (await session.get(User, classroom.student_id)).school_id)
        school.settings = {**(school.settings or {}), "mastery_method": "highest"}
    _, (targets, _, _) = await _choose(runtime, classroom)
    assert [(t.competency_id, t.criteria) for t in targets] == [("argument-writing", ["claim"])]
    assert "by the highest rating" in targets[0].reason


async def test_a_record_met_everywhere_leaves_the_met_competencies_alone(runtime, classroom):
    await _log(runtime, classroom, "scientific-investigation", SCIENCE)
    _, (targets, _, flags) = await _choose(runtime, classroom)
    assert flags == ["targets_from_interests"]
    assert targets and "scientific-investigation" not in {t.competency_id for t in targets}
