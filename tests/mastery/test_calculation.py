"""The calculation methods against hand-computed cases (docs/mastery.md shows the same), and the
properties every method must keep."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beacon.mastery.calculation import METHODS, Method, Point, growth, status, value

# One criterion, four pieces of work: 2 in September, 3 in October, 2 in November, 4 in December.
TERM = [Point(date(2026, 9, 1), 2, "a"), Point(date(2026, 10, 1), 3, "b"),
        Point(date(2026, 11, 1), 2, "c"), Point(date(2026, 12, 1), 4, "d")]


@pytest.mark.parametrize(("method", "expected"), [
    (Method("most_recent"), 4),
    (Method("highest"), 4),
    (Method("mean"), 2.75),  # (2 + 3 + 2 + 4) / 4
    (Method("decaying_average"), 3.416667),  # 0.65 × 4 + 0.35 × (2 + 3 + 2) / 3
    (Method("decaying_average", weight=0.5), 3.166667),  # 0.5 × 4 + 0.5 × 7/3
    (Method("top_n_mean", n=2), 3.5),  # the two highest: (4 + 3) / 2
    (Method("top_n_mean", n=3), 3.0),  # (4 + 3 + 2) / 3
    (Method("mode"), 2),  # 2 twice
])
def test_each_method_on_a_term_of_work(method, expected):
    assert value(TERM, method) == pytest.approx(expected, abs=1e-6)


def test_power_law_fits_the_trend_and_projects_it_to_today():
    # log(level) = 0.68211 + 0.09458 × log(days since the first work + 1), by least squares on
    # (1, 2), (31, 3), (62, 2), (92, 4): at the last work (day 92) 3.034, a month later 3.116.
    assert value(TERM, Method("power_law")) == pytest.approx(3.0336, abs=1e-3)
    assert value(TERM, Method("power_law"), today=date(2026, 12, 31)) == pytest.approx(3.1157, abs=1e-3)
    # A projection never leaves the continuum.
    rising = [Point(date(2026, 9, 1), 1, "a"), Point(date(2026, 9, 8), 4, "b")]
    assert value(rising, Method("power_law"), today=date(2027, 6, 1)) == 4


def test_canvas_published_decaying_average_orders_by_the_works_date_not_the_grading_date():
    """Canvas's forum case (65/35, a 0-5 scale): by due date the last score is 4.5 and the earlier
    ones average 5, so the outcome is 0.65 × 4.5 + 0.35 × 5 = 4.675 (Canvas shows 4.68). Canvas
    itself put a make-up graded later last instead and showed 4.96. Here the make-up is dated
    by its work, so the order it was rated in changes nothing."""
    made_up_late = Point(date(2017, 9, 4), 5, "make-up")  # the work of week 1, graded in week 5
    scores = [made_up_late, Point(date(2017, 9, 11), 5, "w2"), Point(date(2017, 9, 18), 5, "w3"),
              Point(date(2017, 10, 2), 4.5, "w5")]
    for rated_order in (scores, list(reversed(scores)), scores[1:] + scores[:1]):
        assert round(value(rated_order, Method("decaying_average"), scale=(0, 5)), 2) == 4.68


def test_a_single_rating_is_its_own_value_by_every_method():
    one = [Point(date(2026, 10, 1), 3, "x")]
    assert {value(one, Method(m)) for m in METHODS} == {3}


def test_no_ratings_no_value_and_bad_methods_are_refused():
    assert value([], Method("mean")) is None
    for bad in (dict(name="median"), dict(weight=1.0), dict(n=0)):
        with pytest.raises(ValueError):
            Method(**bad)


def test_status_needs_the_threshold_on_every_criterion_and_the_evidence():
    dated = lambda *levels: [Point(date(2026, 9, 1) + timedelta(days=7 * i), lv, str(i)) for i, lv in enumerate(levels)]
    criteria = ["claim", "evidence"]
    method = Method("mean")
    assert status({}, criteria, method, threshold=3, required=2).status == "not_started"
    met = status({"claim": dated(3, 4), "evidence": dated(3, 3)}, criteria, method, threshold=3, required=2)
    assert (met.status, met.value, met.missing) == ("met", 3.25, [])
    short = status({"claim": dated(4, 4), "evidence": dated(4)}, criteria, method, threshold=3, required=2)
    assert (short.status, short.missing) == ("approaching", ["evidence"])  # the level, not yet the evidence
    overridden = status({"claim": dated(4, 4), "evidence": dated(4)}, criteria, method, threshold=3, required=2,
                        completed={"evidence"})
    assert overridden.status == "met"  # the teacher completed the evidence requirement
    unrated = status({"claim": dated(4, 4)}, criteria, method, threshold=3, required=2)
    assert unrated.status == "approaching"  # a criterion without evidence keeps it from met
    assert status({"claim": dated(1, 1), "evidence": dated(1)}, criteria, method, threshold=3,
                  required=2).status == "emerging"


def test_growth_from_the_first_rating_or_the_teachers_baseline():
    criteria = ["claim", "evidence", "reasoning", "counterargument"]
    ratings = {"claim": TERM, "evidence": [Point(date(2026, 9, 1), 3, "x")]}
    seen = growth(ratings, criteria, Method("most_recent"))
    assert seen.per_criterion == {"claim": 2}  # 2 → 4; one rating of evidence is no growth yet
    assert seen.competency is None  # 1 of 4 criteria: fewer than half
    with_baseline = growth(ratings, criteria, Method("most_recent"), baselines={"evidence": 1})
    assert with_baseline.per_criterion == {"claim": 2, "evidence": 2}
    assert with_baseline.competency == 2  # half the criteria have growth


levels = st.sampled_from([1, 1.5, 2, 2.5, 3, 3.5, 4])
points = st.lists(st.builds(Point, st.dates(date(2025, 8, 1), date(2026, 6, 30)), levels,
                            st.text("abcdef", min_size=1, max_size=4)), min_size=1, max_size=12)


@given(points, st.sampled_from(METHODS), st.randoms())
def test_the_order_ratings_arrive_in_never_matters(ratings, name, random):
    shuffled = ratings[:]
    random.shuffle(shuffled)
    method = Method(name, n=2)
    assert value(shuffled, method) == pytest.approx(value(ratings, method))


@given(points, st.sampled_from(METHODS))
def test_every_value_stays_on_the_continuum(ratings, name):
    got = value(ratings, Method(name, n=3))
    assert 1 <= got <= 4


@given(points)
def test_recency_methods_follow_the_works_date(ratings):
    """Re-dating the lowest rating as the latest work moves the most recent value to it."""
    low = min(ratings, key=lambda p: p.level)
    latest = max(p.on for p in ratings) + timedelta(days=1)
    moved = [p for p in ratings if p is not low] + [Point(latest, low.level, low.id)]
    assert value(moved, Method("most_recent")) == low.level


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), points, max_size=3), st.integers(1, 4))
def test_met_is_never_reached_without_the_evidence_requirement(ratings, required):
    found = status(ratings, ["a", "b", "c"], Method("highest"), threshold=3, required=required)
    if found.status == "met":
        assert all(len(ratings.get(c, [])) >= required for c in ["a", "b", "c"])
