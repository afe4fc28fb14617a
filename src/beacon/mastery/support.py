"""Needs support: what tells a teacher a student is stuck, each with a plain reason, the evidence
behind it, and a cause. A teacher may dismiss a flag with a note; it comes back only when its
cause changes (a new rating, another release, another flagged draft). Pure functions: the
service gathers the facts, the school's settings give the thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from beacon.mastery.calculation import Method, Point, value

KINDS = ("stuck", "drop", "flat", "quiet", "not_revised", "flagged")


@dataclass(frozen=True)
class Concern:
    kind: str
    reason: str
    cause: str  # what the flag is about; a dismissal holds while it stays the same
    competency_id: str = ""
    criterion_id: str | None = None
    evidence: list[str] = field(default_factory=list)  # rating ids (or draft ids for "flagged")


@dataclass(frozen=True)
class Thresholds:
    attempts: int = 3
    quiet_weeks: int = 6
    flat_ratings: int = 4
    revise_days: int = 14
    flagged_drafts: int = 3

    @classmethod
    def of(cls, settings) -> Thresholds:
        return cls(settings.support_attempts, settings.support_quiet_weeks, settings.support_flat_ratings,
                   settings.support_revise_days, settings.support_flagged_drafts)


def _ordered(points: list[Point]) -> list[Point]:
    return sorted(points, key=lambda p: (p.on, p.id))


def on_competency(ratings: dict[str, list[Point]], *, competency_id: str, titles: dict[str, str],
                  labels: dict[int, str], threshold: float, method: Method, today: date,
                  limits: Thresholds, class_latest: date | None = None,
                  waiting: dict[str, str] | None = None) -> list[Concern]:
    """Concerns about one student on one competency: ``on_ratings`` then ``on_moment``."""
    concerns, latest = on_ratings(ratings, competency_id=competency_id, titles=titles, labels=labels,
                                  threshold=threshold, method=method, today=today, limits=limits)
    if latest is None:
        return concerns
    released = (waiting or {}).get(latest.id)
    return concerns + on_moment(latest, released, competency_id=competency_id, labels=labels, threshold=threshold,
                                today=today, limits=limits, class_latest=class_latest, waiting=bool(released))


def on_ratings(ratings: dict[str, list[Point]], *, competency_id: str, titles: dict[str, str],
               labels: dict[int, str], threshold: float, method: Method, today: date,
               limits: Thresholds) -> tuple[list[Concern], Point | None]:
    """What the ratings alone say, and the latest of them (stored with the standing):

    - stuck: ``attempts`` or more ratings of a criterion and its value still below the threshold;
    - drop: the latest rating of a criterion a level or more below the one before;
    - flat: no rise over the last ``flat_ratings`` ratings of a criterion below the threshold."""
    concerns: list[Concern] = []
    label = labels.get(round(threshold), str(threshold))
    latest: Point | None = None
    for criterion_id, points in ratings.items():
        if not points:
            continue
        ordered = _ordered(points)
        title = titles.get(criterion_id, criterion_id)
        ids = [p.id for p in ordered]
        if latest is None or (ordered[-1].on, ordered[-1].id) > (latest.on, latest.id):
            latest = ordered[-1]
        current = value(ordered, method, today=today, scale=(1, max(labels) if labels else 4))
        if len(ordered) >= limits.attempts and current is not None and current < threshold:
            concerns.append(Concern(
                "stuck", f"{len(ordered)} attempts at {title}, still below {label} ({current:.1f} of {threshold:g}).",
                f"{criterion_id}:{len(ordered)}", competency_id, criterion_id, ids))
        if len(ordered) >= 2 and ordered[-1].level <= ordered[-2].level - 1:
            concerns.append(Concern(
                "drop", f"{title} dropped from {ordered[-2].level:g} to {ordered[-1].level:g} on the latest work.",
                ordered[-1].id, competency_id, criterion_id, ids[-2:]))
        window = ordered[-limits.flat_ratings:]
        if (len(window) == limits.flat_ratings and max(p.level for p in window[1:]) <= window[0].level
                and window[-1].level < threshold):
            concerns.append(Concern(
                "flat", f"No rise on {title} over the last {len(window)} ratings.",
                window[-1].id, competency_id, criterion_id, [p.id for p in window]))
    return concerns, latest


def on_moment(latest: Point, release_id: str | None, *, competency_id: str, labels: dict[int, str],
              threshold: float, today: date, limits: Thresholds, class_latest: date | None,
              waiting: bool) -> list[Concern]:
    """What depends on today and on others, so it is never stored:

    - quiet: no evidence for ``quiet_weeks`` while the class (``class_latest``) has some in that time;
    - not_revised: the latest evidence is returned work below the threshold (its release
      ``release_id``), ``waiting``: not revised in ``revise_days``."""
    concerns: list[Concern] = []
    quiet_since = today - timedelta(weeks=limits.quiet_weeks)
    if latest.on < quiet_since and class_latest is not None and class_latest >= quiet_since:
        concerns.append(Concern(
            "quiet", f"No evidence since {latest.on.isoformat()} ({(today - latest.on).days} days) "
                     f"while classmates have shown some.", latest.on.isoformat(), competency_id, None, [latest.id]))
    if waiting and release_id and latest.level < threshold:
        label = labels.get(round(threshold), str(threshold))
        concerns.append(Concern(
            "not_revised", f"Returned work below {label} not revised in {limits.revise_days} days.",
            release_id, competency_id, None, [latest.id]))
    return concerns


def on_student(flagged: list[tuple[str, date]], *, limits: Thresholds) -> list[Concern]:
    """A pattern across all the student's work: several recent drafts a teacher had to judge
    (low confidence) or that looked like an attempt to instruct the model. ``flagged``: (draft
    id, date), oldest first."""
    if len(flagged) < limits.flagged_drafts:
        return []
    return [Concern("flagged", f"{len(flagged)} recent drafts flagged for a teacher's judgement or a suspected "
                               f"instruction to the model.", flagged[-1][0], "", None, [d for d, _ in flagged])]
