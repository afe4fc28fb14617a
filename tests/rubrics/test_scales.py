"""A rubric's scale: 3 to 12 levels numbered 1..N, a descriptor for each on every criterion, and
a mastery threshold on the scale. Anything else is refused with a reason a rubric writer can act on."""

from __future__ import annotations

import pytest
import yaml

from beacon.rubrics.library import read_library, read_rubric_file
from tests.fixtures.rubrics import CONTINUUM, FOLDER, THREE_LEVELS, raw


def _with_levels(data: dict, n: int) -> dict:
    """``data`` on a scale of ``n`` levels: labels and every criterion's descriptors."""
    return dict(data, levels=[{"level": k, "label": f"Step {k}"} for k in range(1, n + 1)],
                criteria=[dict(c, levels={k: f"You are at step {k}." for k in range(1, n + 1)}) for c in data["criteria"]])


def _problems(tmp_path, data: dict) -> dict[str, str]:
    path = tmp_path / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    rubric, problems = read_rubric_file(path)
    assert rubric is None
    return {p.field: p.reason for p in problems}


def test_the_fixture_continua_of_12_and_3_levels_are_valid():
    library = read_library(FOLDER)
    assert library.problems == []
    scales = {r.id: (r.top_level, r.mastery_threshold) for _, r in library.rubrics}
    assert scales == {CONTINUUM: (12, 8), THREE_LEVELS: (3, 2)}
    continuum = next(r for _, r in library.rubrics if r.id == CONTINUUM)
    assert continuum.level_label(12) == "Transforming" and all(len(c.levels) == 12 for c in continuum.criteria)


@pytest.mark.parametrize("n", [3, 7, 12])
def test_any_scale_from_3_to_12_levels_is_accepted(tmp_path, n):
    data = _with_levels(raw(CONTINUUM), n)
    data["mastery_threshold"] = min(n, 3)
    path = tmp_path / f"{CONTINUUM}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    rubric, problems = read_rubric_file(path)
    assert problems == [] and rubric.top_level == n and rubric.on_scale(n) and not rubric.on_scale(n + 1)


@pytest.mark.parametrize("n", [2, 13])
def test_fewer_than_3_or_more_than_12_levels_are_refused(tmp_path, n):
    data = _with_levels(raw(THREE_LEVELS), n)
    problems = _problems(tmp_path, data)
    assert f"3 to 12 levels are allowed, got {n}" in problems["levels"]
    assert "3 to 12 levels are allowed" in problems["criteria[0].levels"]  # the descriptors say so too


@pytest.mark.parametrize(("numbers", "why"), [
    ([1, 2, 4, 5], "level 3 is missing"),
    ([1, 2, 2, 3], "level 2 is given twice"),
    ([2, 1, 3, 4], "out of order"),
])
def test_levels_with_a_gap_a_duplicate_or_out_of_order_are_refused(tmp_path, numbers, why):
    data = dict(raw(THREE_LEVELS), levels=[{"level": k, "label": f"Step {k}"} for k in numbers])
    problems = _problems(tmp_path, data)
    assert "numbered 1 to 4 in order, each once" in problems["levels"] and why in problems["levels"]


def test_a_criterion_with_a_gap_in_its_descriptors_is_refused(tmp_path):
    data = raw(CONTINUUM)
    data["criteria"][1]["levels"] = {k: "You do it." for k in [*range(1, 7), *range(8, 14)]}  # 12 keys, no 7
    problems = _problems(tmp_path, data)
    assert "level 7 is missing" in problems["criteria[1].levels"]


def test_a_criterion_on_another_scale_than_its_rubric_is_refused(tmp_path):
    data = raw(CONTINUUM)
    data["criteria"][2]["levels"] = {1: "Not yet.", 2: "Yes.", 3: "Beyond."}  # a 3-level criterion
    problems = _problems(tmp_path, data)
    assert "the rubric has levels 1 to 12" in problems["criteria"] and "'reflection' has levels 1 to 3" in problems["criteria"]


@pytest.mark.parametrize(("name", "threshold"), [(THREE_LEVELS, 4), (CONTINUUM, 13), (CONTINUUM, 1)])
def test_a_mastery_threshold_outside_the_levels_is_refused(tmp_path, name, threshold):
    problems = _problems(tmp_path, dict(raw(name), mastery_threshold=threshold))
    if threshold == 1:
        assert "greater than or equal to 2" in problems["mastery_threshold"]  # mastery at the first level means nothing
    elif threshold == 4:
        assert "above the top level (3)" in problems["mastery_threshold"]
    else:
        assert "less than or equal to 12" in problems["mastery_threshold"]
