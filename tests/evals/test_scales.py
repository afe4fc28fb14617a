"""Evals on rubrics of other scales than four levels: a corpus suite maps its scores onto each of
the rubric's levels, and agreement is measured on each criterion's own scale."""

from __future__ import annotations

import csv

import pytest

from beacon.errors import InvalidInput
from beacon.evals.report import summarize
from beacon.evals.runner import ItemResult, Run, run_suite
from beacon.evals.suites import Suite
from beacon.feedback.drafters import OfflineModel
from tests.feedback.test_scales import STRONG, WEAK
from tests.fixtures.rubrics import CONTINUUM, FOLDER


def _suite(ranges: int, **fields) -> Suite:
    # Scores 1..12 in steps of one: each range holds one score.
    return Suite.model_validate({"name": "continuum", "kind": "ellipse", "rubric": str(FOLDER / f"{CONTINUUM}.yaml"),
                                 "traits": {"Teamwork": "contribution", "Talk": "communication"},
                                 "levels": [[n - 0.5, n + 0.49] for n in range(1, ranges + 1)], **fields})


def test_a_corpus_suite_has_a_score_range_for_each_of_3_to_12_levels():
    assert len(_suite(12).levels) == 12 and _suite(12).level_of(11.2) == 11
    for ranges in (2, 13):
        with pytest.raises(ValueError, match="a score range for each of the rubric's levels"):
            _suite(ranges)


async def test_a_12_level_corpus_run_is_measured_on_12_levels(tmp_path):
    data = tmp_path / "corpus.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text_id_kaggle", "full_text", "grade", "Teamwork", "Talk"])
        writer.writeheader()
        for n in range(6):
            strong = n % 2 == 0
            writer.writerow({"text_id_kaggle": f"C{n}", "full_text": STRONG if strong else WEAK, "grade": 8,
                             "Teamwork": "12" if strong else "2", "Talk": "11" if strong else "1"})
    run = await run_suite(_suite(12), FOLDER, OfflineModel(), model="offline", prompt_hash="x", data=data)
    summary = summarize(run)
    assert summary["errors"] == 0 and set(summary["per_criterion"]) == {"Teamwork", "Talk"}
    for agreement in summary["per_criterion"].values():
        assert len(agreement["confusion"]) == 12 and agreement["n"] == 6
    teamwork = summary["per_criterion"]["Teamwork"]["confusion"]
    assert sum(teamwork[11]) == 3 and sum(teamwork[1]) == 3  # human 12 and 2, three works each
    assert summary["overall"]["qwk"] > 0.5  # strong work drafted high on the continuum, weak work low

    with pytest.raises(InvalidInput, match="4 score ranges for a rubric of 12 levels"):
        await run_suite(_suite(4), FOLDER, OfflineModel(), model="offline", prompt_hash="x", data=data)


def test_each_criterion_is_measured_on_its_own_scale():
    run = Run(suite="mixed", kind="feedback", model="offline", prompt_hash="x", started_at="now",
              scales={"continuum/contribution": 12, "argument-writing/claim": 4})
    run.items = [ItemResult(id=str(n), source="", competency="c", grade=8, excerpt="",
                            human={"continuum/contribution": 10 + n % 3, "argument-writing/claim": 1 + n % 4},
                            drafted={"continuum/contribution": 12, "argument-writing/claim": 1 + n % 4})
                 for n in range(8)]
    summary = summarize(run)
    assert len(summary["per_criterion"]["continuum/contribution"]["confusion"]) == 12
    assert len(summary["per_criterion"]["argument-writing/claim"]["confusion"]) == 4
    assert len(summary["overall"]["confusion"]) == 12  # pooled on the longest scale
