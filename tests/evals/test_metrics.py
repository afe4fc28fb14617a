"""Agreement metrics against hand-computed values."""

from __future__ import annotations

import pytest

from beacon.evals.metrics import agreement, confusion, group_bias, qwk


def test_qwk_known_values():
    assert qwk([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    # By hand: observed weighted disagreement (1/9 + 1/9) = 2/9; expected from the margins
    # (humans one at each level, drafts two at 2 and two at 3) = 6/9; kappa = 1 - 2/6.
    assert qwk([1, 2, 3, 4], [2, 2, 3, 3]) == pytest.approx(2 / 3)
    assert qwk([1, 1, 4, 4], [4, 4, 1, 1]) < 0  # systematic reversal is worse than chance
    assert qwk([], []) is None
    assert qwk([2, 2], [2, 2]) == 1.0


def test_agreement_rates_and_confusion():
    result = agreement([1, 2, 3, 4, 3], [1, 3, 3, 2, 3])
    assert (result.n, result.exact, result.adjacent, result.mae) == (5, 0.6, 0.8, 0.6)
    assert confusion([1, 2], [2, 2]) == [[0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert agreement([], []).qwk is None


def test_group_bias_compares_groups_at_equal_human_level():
    rows = [("a", 2, 3), ("a", 3, 4), ("b", 2, 2), ("b", 3, 3), ("b", 4, 4)]
    bias = group_bias(rows)
    assert bias["a"]["n"] == 2 and bias["a"]["mean_drafted_minus_human"] == 1.0
    assert bias["a"]["vs_others_at_equal_human_level"] == 1.0  # a is drafted one level higher than b at the same human level
    assert bias["b"]["vs_others_at_equal_human_level"] == -1.0


def test_reliability_compares_the_confidence_a_draft_gave_with_how_often_it_was_right():
    from beacon.evals.report import reliability
    from beacon.evals.runner import ItemResult

    sure = ItemResult(id="a", source="a", competency="c", grade=8, excerpt="",
                      human={"x": 3, "y": 2}, drafted={"x": 3, "y": 2}, confidence={"x": 0.9, "y": 0.85})
    unsure = ItemResult(id="b", source="b", competency="c", grade=8, excerpt="",
                        human={"x": 3, "y": 2}, drafted={"x": 1, "y": 2}, confidence={"x": 0.3, "y": 0.3})
    table = reliability([sure, unsure])
    assert [b["band"] for b in table["bands"]] == ["0.2-0.4", "0.8-1.0"]
    low, high = table["bands"]
    assert (low["n"], low["exact"], high["n"], high["exact"]) == (2, 0.5, 2, 1.0)
    assert low["few"] and table["gap"] == round((2 * abs(0.3 - 0.5) + 2 * abs(0.875 - 1.0)) / 4, 3)
