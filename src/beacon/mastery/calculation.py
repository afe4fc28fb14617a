"""How a student's ratings on one criterion become one value on the continuum, and how criteria
values become a competency's status and growth. Pure functions over ratings. The record
(``models.py``) feeds them; the school chooses the method, and each competency may override it.
Worked examples for every method are in docs/mastery.md and tests/mastery/test_calculation.py.

Ratings are ordered by the date the work was done, never by the date it was rated. Canvas orders
by graded date, and that is the complaint this avoids. Input order never matters: ratings on the
same date are ordered by their id."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from statistics import fmean
from typing import NamedTuple, get_args

from beacon.config import MasteryMethod

METHODS = get_args(MasteryMethod)


class Point(NamedTuple):
    """One rating of one criterion: the level (a whole level, or a half where the scale has them)
    and the date of the work it was given on. A tuple: a school's overview makes hundreds of
    thousands."""

    on: date
    level: float
    id: str = ""  # breaks ties between ratings of the same date, whatever order they came in


@dataclass(frozen=True)
class Method:
    name: str = "decaying_average"
    weight: float = 0.65  # decaying_average: the most recent rating's share; the rest is the earlier ones' mean
    n: int = 1  # top_n_mean: how many ratings count, the competency's evidence requirement

    def __post_init__(self) -> None:
        if self.name not in METHODS:
            raise ValueError(f"unknown calculation method {self.name!r}; one of {', '.join(METHODS)}")
        if not 0 < self.weight < 1:
            raise ValueError("the decaying average's weight is between 0 and 1")
        if self.n < 1:
            raise ValueError("top_n_mean counts at least one rating")


def _when(point: Point) -> tuple[date, str, float]:
    return point.on, point.id, point.level


def value(points: list[Point], method: Method, *, today: date | None = None,
          scale: tuple[float, float] = (1, 4)) -> float | None:
    """The criterion's current value by ``method`` (None without ratings). ``today`` is the date a
    power law is projected to (the last rating's date if not given). ``scale`` is the continuum's
    lowest and highest level; a projection stays inside it."""
    if not points:
        return None
    ordered = sorted(points, key=_when)
    levels = [p.level for p in ordered]
    if method.name == "most_recent":
        return levels[-1]
    if method.name == "highest":
        return max(levels)
    if method.name == "mean":
        return fmean(levels)
    if method.name == "decaying_average":
        if len(levels) == 1:
            return levels[0]
        return method.weight * levels[-1] + (1 - method.weight) * fmean(levels[:-1])
    if method.name == "top_n_mean":
        return fmean(sorted(levels, reverse=True)[: method.n])
    if method.name == "mode":
        counts = Counter(levels)
        top = max(counts.values())
        # A tie between levels goes to the one reached most recently.
        return next(lv for lv in reversed(levels) if counts[lv] == top)
    return _power_law(ordered, today or ordered[-1].on, scale)


def _power_law(ordered: list[Point], today: date, scale: tuple[float, float]) -> float:
    """Least squares of log(level) on log(days since the first work + 1), projected to ``today``.
    With every rating on one date there is no trend to fit: their mean."""
    first = ordered[0].on
    xs = [math.log((p.on - first).days + 1) for p in ordered]
    ys = [math.log(max(p.level, 1e-9)) for p in ordered]
    mx, my = fmean(xs), fmean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    if spread == 0:
        return fmean(p.level for p in ordered)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread
    projected = math.exp(my + slope * (math.log((today - first).days + 1) - mx))
    return min(max(projected, scale[0]), scale[1])


STATUSES = ("not_started", "emerging", "approaching", "met")


@dataclass
class CompetencyStatus:
    """A student's standing on one competency, with the numbers behind it."""

    status: str
    value: float | None  # the mean of the rated criteria's values
    criteria: dict[str, float | None]
    evidence: dict[str, int]  # ratings per criterion
    required: int
    threshold: float
    missing: list[str] = field(default_factory=list)  # criteria short of the evidence requirement


def status(ratings: dict[str, list[Point]], criteria: list[str], method: Method, *, threshold: float,
           required: int, today: date | None = None, scale: tuple[float, float] = (1, 4),
           completed: set[str] = frozenset()) -> CompetencyStatus:
    """Where the student stands on a competency.

    - ``met``: every criterion's value reaches ``threshold`` and every criterion has ``required``
      ratings. A criterion in ``completed`` (a teacher's override) counts as having them.
    - ``approaching``: the value reaches the threshold but evidence is short, or it is within one
      level of the threshold.
    - ``emerging``: any other rated work. ``not_started``: nothing rated yet."""
    values = {c: value(ratings.get(c, []), method, today=today, scale=scale) for c in criteria}
    evidence = {c: len(ratings.get(c, [])) for c in criteria}
    rated = [v for v in values.values() if v is not None]
    missing = [c for c in criteria if evidence[c] < required and c not in completed]
    if not rated:
        return CompetencyStatus("not_started", None, values, evidence, required, threshold, missing)
    overall = fmean(rated)
    every_reached = len(rated) == len(criteria) and all(v >= threshold for v in rated)
    if every_reached and not missing:
        state = "met"
    elif overall >= threshold - 1:
        state = "approaching"
    else:
        state = "emerging"
    return CompetencyStatus(state, overall, values, evidence, required, threshold, missing)


@dataclass
class Growth:
    per_criterion: dict[str, float]  # current value minus the baseline, for criteria that have one
    competency: float | None  # their mean, once at least half the criteria have one


def growth(ratings: dict[str, list[Point]], criteria: list[str], method: Method, *,
           baselines: dict[str, float] | None = None, today: date | None = None,
           scale: tuple[float, float] = (1, 4)) -> Growth:
    """Growth from a baseline: the teacher's, else the criterion's first rating (by work date).
    A criterion rated once, with no teacher baseline, has no growth yet."""
    baselines = baselines or {}
    per: dict[str, float] = {}
    for c in criteria:
        points = sorted(ratings.get(c, []), key=_when)
        if not points or (c not in baselines and len(points) < 2):
            continue
        start = baselines.get(c, points[0].level)
        per[c] = value(points, method, today=today, scale=scale) - start
    enough = criteria and len(per) * 2 >= len(criteria)
    return Growth(per, fmean(per.values()) if enough and per else None)
