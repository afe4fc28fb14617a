"""The offline model reads work the way the rubric asks: it must tell stronger work from weaker
work on the same rubric, ground what it says in the work, and never be moved by instructions."""

from __future__ import annotations

import yaml

from beacon.feedback.offline import OfflineDrafter
from beacon.rubrics.schemas import RubricDefinition
from tests.conftest import PROJECT

SUITE = PROJECT / "evals" / "retrieval"
WORKS = yaml.safe_load((SUITE / "suite.yaml").read_text(encoding="utf-8"))["works"]


def _rubric(competency: str) -> RubricDefinition:
    return RubricDefinition.model_validate(
        yaml.safe_load((PROJECT / "rubrics" / f"{competency}.yaml").read_text(encoding="utf-8"))
    )


def _total(work: dict) -> int:
    text = (SUITE / work["file"]).read_text(encoding="utf-8")
    assessment = OfflineDrafter().assess(text, _rubric(work["expected_competency"]), work["grade"])
    return sum(c.level for c in assessment.criteria)


def test_strong_work_gets_higher_levels_than_developing_work_on_the_same_rubric():
    pairs: dict[str, dict[str, int]] = {}
    for work in WORKS:
        pairs.setdefault(work["expected_competency"], {})[work["quality"]] = _total(work)
    ordered = sum(p["strong"] > p["developing"] for p in pairs.values())
    assert ordered / len(pairs) >= 0.75, pairs
    assert sum(p["strong"] for p in pairs.values()) > sum(p["developing"] for p in pairs.values()) + len(pairs)


def test_evidence_is_verbatim_and_feedback_comes_from_the_rubric():
    work = next(w for w in WORKS if w["expected_competency"] == "scientific-investigation")
    text = (SUITE / work["file"]).read_text(encoding="utf-8")
    rubric = _rubric("scientific-investigation")
    drafter = OfflineDrafter()
    assessment = drafter.assess(text, rubric, work["grade"])
    assert [c.criterion_id for c in assessment.criteria] == [c.id for c in rubric.criteria]
    for criterion in assessment.criteria:
        assert all(quote in text for quote in criterion.quotes)
        assert 0 < criterion.confidence <= 0.65  # a first reader, not a rater
    feedback = drafter.write(rubric, assessment, grade=work["grade"])
    weakest = min(assessment.criteria, key=lambda c: c.level)
    target = rubric.criterion(weakest.criterion_id).levels[min(4, weakest.level + 1)]
    assert any(target[1:] in step for step in feedback.next_steps)  # the next level's descriptor
    assert feedback.question.endswith("?")
    assert drafter.assess(text, rubric, work["grade"]) == assessment  # deterministic


def test_empty_of_evidence_means_beginning():
    rubric = _rubric("performing-arts")
    assessment = OfflineDrafter().assess("The quick brown fox jumps over the lazy dog near the river bank.", rubric, 8)
    assert {c.level for c in assessment.criteria} == {1}


def test_feedback_quotes_sentences_not_titles_and_asks_an_actionable_question():
    rubric = _rubric("narrative-writing")
    work = ("The Night My Dog Ran Away\n\nIt was raining hard and the thunder was loud. My dog ran out the door. "
            "We looked for him all night with flashlights. In the morning our neighbor found him under her porch. "
            "I learned to keep him inside during storms.")
    drafter = OfflineDrafter()
    assessment = drafter.assess(work, rubric, 6)
    assert all(q != "The Night My Dog Ran Away" for c in assessment.criteria for q in c.quotes)
    feedback = drafter.write(rubric, assessment, grade=6)
    quotes = [s.split('For example: "')[1] for s in feedback.strengths if "For example" in s]
    assert len(quotes) == len(set(quotes))  # one quote is not the evidence for two strengths
    moves = {m.lower().rstrip(".") for c in rubric.criteria for m in c.revision_moves}
    assert any(m in feedback.question.lower() for m in moves) and feedback.question.endswith("?")
    for line in feedback.strengths:  # a level below mastery is never praised with its own descriptor
        criterion = next(c for c in rubric.criteria if line.startswith(c.title))
        level = next(a.level for a in assessment.criteria if a.criterion_id == criterion.id)
        assert (criterion.levels[level] in line) == (level >= rubric.mastery_threshold)


LAB = """# Does Salt Change How Fast Ice Melts?
Name: Dana K.    Date: 3/4

Hypothesis: If we add salt to ice, then it will melt faster, because salt lowers the freezing point.
We kept the same cup, the same 50 g of ice and the same room for every trial, and we did 3 trials.
The salted ice melted in 4.5 minutes on average and the plain ice took 9.2 minutes.
This shows the salt made the ice melt about twice as fast.
Next time I would measure the water temperature too, because the room got warmer in the afternoon."""


def test_evidence_shows_its_criterion_never_a_heading_and_never_cut_at_a_decimal():
    rubric = _rubric("scientific-investigation")
    assessment = OfflineDrafter().assess(LAB, rubric, 8)
    quotes = {c.criterion_id: c.quotes for c in assessment.criteria}
    every = [q for qs in quotes.values() for q in qs]
    assert every and all(q in LAB for q in every)
    assert not any(q.startswith(("#", "Name:")) or "Salt Change How Fast" in q for q in every)  # heading, metadata
    assert any("4.5 minutes" in q for q in every)  # a decimal is not a sentence end
    assert any(q.startswith("Hypothesis: If we add salt") for q in quotes["question"])  # it predicts
    assert any("trial" in q for q in quotes["design"])  # it names what was kept the same
    assert any(q.startswith("Next time I would") for q in quotes["limitations"])  # it reflects
    assert max(every.count(q) for q in every) <= 2  # a sentence serves at most two criteria


def test_no_next_step_asks_for_what_the_work_already_does_and_no_criterion_is_both():
    rubric = _rubric("scientific-investigation")
    drafter = OfflineDrafter()
    assessment = drafter.assess(LAB, rubric, 8)
    feedback = drafter.write(rubric, assessment, grade=8, work=LAB)
    praised = {line.split(":")[0] for line in feedback.strengths}
    stepped = {line.split(":")[0] for line in feedback.next_steps}
    assert not praised & stepped
    assert not any("here is what the next step looks like" in line for line in feedback.next_steps)
    for line in feedback.next_steps:  # three trials are there already: never "do more trials"
        assert "add trials" not in line.lower() and "more trials" not in line.lower(), line


def test_a_revision_move_the_work_already_makes_is_skipped():
    from collections import Counter

    from beacon.llm.lexicon import terms
    from beacon.feedback.offline import _move_not_made

    design = _rubric("scientific-investigation").criterion("design")
    assert design.revision_moves[1].startswith("Add trials")
    assert _move_not_made(design, 1, Counter()) == design.revision_moves[1]  # nothing known: as written
    assert _move_not_made(design, 1, Counter(terms(LAB))) != design.revision_moves[1]  # three trials are there
