"""What project ideas aim at, read from the student's mastery record: the competencies not yet
met by the school's method, the criteria keeping each from met (below the threshold, or short of
the evidence requirement), and what one more piece of evidence, the project's, would do to each.
Pure functions; ``service.choose_targets`` reads the record and the ratings they need."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from beacon.mastery.calculation import STATUSES, CompetencyStatus, Method, Point, status, value
from beacon.projects.library import PHASES, pattern_library
from beacon.projects.schemas import CriterionAim, Proposal, Target
from beacon.rubrics.schemas import RubricDefinition

MAX_TARGETS = 3
FOCUS_CRITERIA = 3
# The project's imagined rating: after any real rating of the same day (ids are uuids, "~" sorts last).
PROJECT_RATING = "~project"
STATUS_WORDS = {"not_started": "not started", "emerging": "emerging", "approaching": "approaching met", "met": "met"}
METHOD_WORDS = {"decaying_average": "decaying average", "most_recent": "most recent rating", "highest": "highest rating",
                "mean": "mean", "mode": "most frequent level", "top_n_mean": "mean of the best ratings",
                "power_law": "power law"}


@dataclass(frozen=True)
class Footing:
    """One competency on one student's record, as targeting reads it: the status by the school's
    method, that method, and each criterion's ratings as the record counts them."""

    status: CompetencyStatus
    method: Method
    points: dict[str, list[Point]] = field(default_factory=dict)


def shown(number: float) -> str:
    """A value as Beacon writes it, never rounded up to a threshold: 2.999 is "2.99", 3.0 is "3"."""
    return f"{math.floor(number * 100 + 1e-9) / 100:.2f}".rstrip("0").rstrip(".")


def _pieces(n: int, required: int) -> str:
    return f"{n} of {required} piece{'' if required == 1 else 's'}" if n <= required else f"{n} pieces"


def short_of_met(standing: CompetencyStatus) -> list[str]:
    """The criteria keeping a competency from met, furthest first: below the threshold (lowest
    value first), then without evidence, then short of the evidence requirement (fewest first)."""
    def distance(c: str) -> tuple:
        v = standing.criteria.get(c)
        kind = 1 if v is None else 0 if v < standing.threshold else 2
        return kind, v or 0, standing.evidence.get(c, 0), c

    short = [c for c, v in standing.criteria.items()
             if v is None or v < standing.threshold or c in standing.missing]
    return sorted(short, key=distance)


def ordered_criteria(competency_id: str, rubric: RubricDefinition) -> list[str]:
    """A competency's criteria in the order a project meets them (plan → share)."""
    use = pattern_library().competencies.get(competency_id)
    ordered = [c for phase in PHASES for c in (use.phases.get(phase, []) if use else [])]
    return list(dict.fromkeys([*ordered, *(c.id for c in rubric.criteria)]))


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=1e-6))


def aim_of(criterion_id: str, rubric: RubricDefinition, footing: Footing | None, today: date) -> CriterionAim:
    """Where a criterion stands and the level a project's evidence should reach: the lowest that
    would make it meet the threshold, by the school's method, with one more rating (the top level
    if none can; one above the threshold, a stretch, where it is met already)."""
    criterion = rubric.criterion(criterion_id)
    top = len(rubric.levels)
    if footing is None:  # nothing on the record: the project's is the first piece
        threshold, required, current, evidence, points = rubric.mastery_threshold, rubric.evidence_required, None, 0, []
        method, missing, trusted = Method(n=required), True, True
    else:
        s = footing.status
        threshold, required, current = s.threshold, s.required, s.criteria.get(criterion_id)
        evidence, points, method = s.evidence.get(criterion_id, 0), footing.points.get(criterion_id, []), footing.method
        missing = criterion_id in s.missing
        # Project only from ratings that give the record's own value; else say less, not something untrue.
        trusted = _same(value(points, method, today=today, scale=(1, top)), current)
    enough_after = not missing or evidence + 1 >= required
    lowest = min(math.ceil(threshold), top)
    already = current is not None and current >= threshold and not missing
    aim, projected = (min(lowest + 1, top) if already else lowest), None
    if trusted:
        outcomes = [(lv, value([*points, Point(today, lv, PROJECT_RATING)], method, today=today, scale=(1, top)))
                    for lv in range(aim, top + 1)]
        aim, projected = next(((lv, p) for lv, p in outcomes if p >= threshold), outcomes[-1])
    found = CriterionAim(criterion_id=criterion_id, title=criterion.title if criterion else criterion_id,
                         value=current, evidence=evidence, required=required, threshold=threshold, aim=aim,
                         projected=projected, meets=projected is not None and projected >= threshold and enough_after)
    return found.model_copy(update={"movement": movement(found, rubric)})


def movement(a: CriterionAim, rubric: RubricDefinition) -> str:
    """Where the criterion stands and how far a project at its aim moves it, in words: "Evidence:
    1 of 2 pieces, at 4 (met needs 3 on 2 pieces). A project at Proficient would bring it to 2 of 2
    pieces, at 3.35: met." """
    label = rubric.level_label(a.aim)
    if a.value is None and a.projected is not None:
        return f"No evidence yet: a project at {label} would {'meet it' if a.meets else f'be the first of {a.required} pieces needed'}."
    need = f"met needs {shown(a.threshold)} on {a.required} piece{'' if a.required == 1 else 's'}"
    now = (f"No evidence yet ({need})." if a.value is None
           else f"Evidence: {_pieces(a.evidence, a.required)}, at {shown(a.value)} ({need}).")
    at = f"A project at {label}"
    after = _pieces(a.evidence + 1, a.required)
    if a.projected is None:
        return f"{now} {at} adds a piece of evidence."
    if a.meets:
        return f"{now} {at} would bring it to {after}, at {shown(a.projected)}: met."
    if a.projected >= a.threshold:
        more = max(1, a.required - a.evidence - 1)
        return f"{now} {at} would bring it to {after}, at {shown(a.projected)}; {more} more after it could meet it."
    return (f"{now} {at} would bring it to {shown(a.projected)}: closer, but it takes more than one piece "
            f"to reach {shown(a.threshold)}.")


def _gap(a: CriterionAim) -> str:
    """One criterion's distance from met, in a clause."""
    name = a.title.lower()
    if a.value is None:
        return f"there is no evidence of {name} yet"
    if a.value < a.threshold:
        short = f", on {_pieces(a.evidence, a.required)}" if a.evidence < a.required else ""
        return f"{name} is at {shown(a.value)} and needs {shown(a.threshold)}{short}"
    return f"{name} has {_pieces(a.evidence, a.required)} of evidence"


def record_reason(footing: Footing, aims: list[CriterionAim], complete: bool) -> str:
    """Why, from the record, in the student's terms ("your record has it approaching met (2.5 by
    the decaying average): evidence is at 1 and needs 3 …"). ``complete``: the other criteria are met."""
    s = footing.status
    said = f"your record has it {STATUS_WORDS[s.status]}"
    if s.value is not None:
        said += f" ({shown(s.value)} by the {METHOD_WORDS.get(footing.method.name, footing.method.name)})"
    gaps = [_gap(a) for a in aims if a.value is None or a.value < a.threshold or a.evidence < a.required][:2]
    if not gaps:
        return f"{said}: this stretches it further."
    said += ": " + "; ".join(gaps) + "."
    if complete and aims and all(a.meets for a in aims):
        said += " A project that shows these at the levels named could bring it to met."
    return said


def competency_target(competency_id: str, rubric: RubricDefinition, version: int, footing: Footing | None,
                      today: date, reason: str | None = None) -> Target:
    """A competency to grow, aimed at the criteria keeping it from met (else the first a project
    meets). ``reason`` (a clause) says why it was chosen; the record's reason follows it, if any."""
    short = short_of_met(footing.status) if footing else []
    criteria = [c for c in short if rubric.criterion(c)][:FOCUS_CRITERIA] or ordered_criteria(competency_id, rubric)[:FOCUS_CRITERIA]
    aims = [aim_of(c, rubric, footing, today) for c in criteria]
    if footing is not None:
        said = record_reason(footing, aims, complete=set(short) <= set(criteria))
        reason = f"{reason}; {said}" if reason else said
    elif reason:
        reason += "."
    return Target(competency_id=competency_id, title=rubric.title, rubric_version=version, criteria=criteria,
                  reason=reason or "", status=footing.status.status if footing else "", aims=aims)


def record_targets(footings: dict[str, Footing], rubrics: dict[str, tuple[RubricDefinition, int]],
                   today: date) -> list[Target]:
    """The competencies on the record not yet met, furthest from met first (by status, then
    value), each aimed at the criteria keeping it from met."""
    unmet = [c for c, f in footings.items() if c in rubrics and f.status.status != "met"]
    unmet.sort(key=lambda c: (STATUSES.index(footings[c].status.status), footings[c].status.value or 0, c))
    return [competency_target(c, *rubrics[c], footings[c], today) for c in unmet[:MAX_TARGETS]]


def profile_targets(profile: dict[str, dict[str, int]], rubrics: dict[str, tuple[RubricDefinition, int]],
                    today: date = date(2026, 1, 5)) -> list[Target]:
    """Targets for a profile of one level per criterion (an eval's student): each level one rating
    on ``today``, read as a record by the default method."""
    footings = {}
    for competency_id, levels in profile.items():
        if competency_id not in rubrics or not levels:
            continue
        rubric = rubrics[competency_id][0]
        method = Method(n=rubric.evidence_required)
        points = {c: [Point(today, lv, c)] for c, lv in levels.items() if rubric.criterion(c)}
        standing = status(points, [c.id for c in rubric.criteria], method, threshold=rubric.mastery_threshold,
                          required=rubric.evidence_required, today=today, scale=(1, len(rubric.levels)))
        footings[competency_id] = Footing(standing, method, points)
    return record_targets(footings, rubrics, today)


def aimed(proposal: Proposal, targets: list[Target]) -> Proposal:
    """The proposal with, per competency, the aims of the criteria it cites: what the idea gives
    evidence for and how far it moves the student. Beacon's numbers replace any a model wrote."""
    aims = {t.competency_id: {a.criterion_id: a for a in t.aims} for t in targets}
    competencies = [c.model_copy(update={"aims": [aims[c.competency_id][k] for k in c.criteria
                                                  if k in aims.get(c.competency_id, {})]})
                    for c in proposal.competencies]
    return proposal.model_copy(update={"competencies": competencies})
