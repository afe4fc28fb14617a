"""Verification of proposals from any model: invented ids, near-identical proposals, ignored
interests and unsafe or costly activities are dropped or flagged, never passed on silently."""

from __future__ import annotations

from beacon.projects.designer import OfflineDesigner
from beacon.projects.schemas import Milestone, TargetCompetency
from beacon.projects.verify import check_projects, unsafe_phrases
from tests.projects.test_designer import RUBRICS, brief

INTERESTS = ["skateboarding", "filming", "cooking"]


def proposals(competency: str = "scientific-investigation"):
    return OfflineDesigner().design(brief(", ".join(INTERESTS), competency))


def check(items, competency: str = "scientific-investigation"):
    return check_projects(items, interests=INTERESTS, rubrics={competency: RUBRICS[competency]},
                          versions={competency: 3})


def test_clean_proposals_pass_with_the_rubric_version_recorded():
    result = check(proposals())
    assert result.flags == [] and not result.needs_repair
    assert {c.rubric_version for p in result.proposals for c in p.competencies} == {3}


def test_an_invented_competency_or_criterion_is_removed_and_flagged():
    items = proposals()
    items[0].competencies.append(TargetCompetency(competency_id="underwater-basket-weaving", criteria=["knots"]))
    items[1].competencies[0].criteria.append("telepathy")
    items[1].milestones[0].criteria[0].criterion_id = "telepathy"
    items[2].competencies = [TargetCompetency(competency_id="made-up", criteria=["x"])]
    result = check(items)
    assert "invented_competency:underwater-basket-weaving" in result.flags
    assert "invented_criterion:scientific-investigation/telepathy" in result.flags
    assert any(f.startswith("no_real_competency:") for f in result.flags) and "fewer_than_three" in result.flags
    kept = result.proposals
    assert len(kept) == 2
    assert all(c.competency_id == "scientific-investigation" for p in kept for c in p.competencies)
    assert all(r.criterion_id != "telepathy" for p in kept for m in p.milestones for r in m.criteria)
    assert result.needs_repair and any("does not exist" in p for p in result.problems)


def test_three_near_identical_proposals_leave_one():
    first = proposals()[0]
    copies = [first, first.model_copy(update={"title": first.title + "!"}),
              first.model_copy(update={"product_kind": "poster", "title": "Poster: " + first.title})]
    result = check(copies)
    assert len(result.proposals) == 1
    assert sum(f.startswith("too_similar:") for f in result.flags) == 2 and "fewer_than_three" in result.flags


def test_a_proposal_that_ignores_every_stated_interest_is_flagged():
    items = proposals()
    items[0] = items[0].model_copy(update={
        "title": "Tax Forms Through History", "driving_question": "How have tax forms changed since 1900?",
        "why_it_fits": "It is a good topic.", "interests_used": []})
    result = check(items)
    assert result.flags == ["interest_ignored:Tax Forms Through History"]
    assert len(result.proposals) == 3  # kept for the teacher to judge, but flagged


def test_unsafe_or_costly_activities_are_dropped():
    items = proposals()
    items[0].milestones.append(Milestone(title="Test it", evidence="launch bottle rockets with gasoline from the roof"))
    items[1] = items[1].model_copy(update={"final_product": "a drone bought for $400 with a camera mount"})
    result = check(items)
    assert len(result.proposals) == 1 and "fewer_than_three" in result.flags
    assert sum(f.startswith("unsafe_dropped:") for f in result.flags) == 2
    assert any("gasoline" in p for p in result.problems) and any("$400" in p for p in result.problems)


def test_safety_advice_is_not_mistaken_for_danger():
    assert unsafe_phrases("Stay away from traffic; never mix household chemicals; no open flames.") == []
    assert unsafe_phrases("Film at the skate park, never in traffic.") == []
    assert unsafe_phrases("Ride down the highway at night") == ["highway"]
    assert unsafe_phrases("Climb onto the roof to film") == ["climb onto the roof"]
    assert unsafe_phrases("Interview a firefighter about green roofs, cost $12") == []
