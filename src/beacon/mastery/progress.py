"""A student's own progress ("My progress", issue 15): per competency with evidence, its
continuum, where the student stands now and where they started, the evidence against what is
required, what the next level looks like, and per criterion every rating over time with the
work it came from. Read only.

The numbers are the mastery record's (``service.records_of``, the school's method): nothing is
recalculated here, so the page can never disagree with the teacher's grid. What the record
keeps for teachers (needs-support flags, dismissals, who is stuck) is never read into it."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.mastery import goals, repository, service
from beacon.mastery.models import Goal, Rating
from beacon.rubrics import repository as rubrics
from beacon.rubrics.schemas import RubricDefinition
from beacon.rubrics.translations import translated
from beacon.school import repository as school
from beacon.school.models import User

STILL = 0.05  # a change smaller than this is no change: the calculation's floating point, not the student


@dataclass(frozen=True)
class Level:
    number: int
    label: str


@dataclass(frozen=True)
class Moment:
    """One rating on a criterion's chart, with the work it came from, so the point can open it."""

    rating_id: str
    on: date
    level: int
    label: str
    source: str  # "draft" (released feedback), "teacher" (a logged demonstration), "missed" (counted as lowest)
    work: str | None  # the work's title, for released feedback
    note: str | None
    release_id: str | None
    anchor: str  # the evidence list's entry for this work


@dataclass(frozen=True)
class Story:
    """How a criterion has grown, for the words that tell it (the template's).

    ``kind``: "moved" (up a level since the start), "rising" (up within a level), "steady" (no
    change, or only one piece so far), "dip" (below where the student started)."""

    kind: str
    since: date | None  # the start's work date: the baseline's, else the first rating's
    start: Level | None
    now: Level | None
    best: Level | None  # the highest level reached: what a dip is measured against, kindly
    pieces: int  # ratings that count


@dataclass
class CriterionProgress:
    id: str
    title: str
    value: float | None  # the record's value by the school's method
    start: float | None  # the baseline a teacher set, else the first rating
    now: Level | None  # the level the value has reached (whole levels: 2.8 has reached 2)
    evidence: int
    required: int
    complete: bool  # enough evidence (or a teacher completed it)
    story: Story
    next: Level | None  # below the threshold: the level to reach next
    next_descriptor: str | None  # the rubric's words for that level of this criterion
    baseline: float | None
    moments: list[Moment] = field(default_factory=list)

    @property
    def more_needed(self) -> int:
        return 0 if self.complete else max(0, self.required - self.evidence)


@dataclass(frozen=True)
class Shown:
    """What one piece of work showed on one criterion: the level and the quoted evidence."""

    criterion_id: str
    criterion: str
    level: Level
    quotes: list[str]
    missed: bool  # asked for and not addressed (counted as the lowest level where the school says so)


@dataclass
class Work:
    """One piece of evidence in the list under a competency: a release or a logged demonstration."""

    anchor: str
    on: date
    source: str
    title: str | None
    note: str | None
    artifact_url: str | None
    release_id: str | None
    ratings: list[Shown]
    reflection: str | None = None  # the student's answer to this feedback's revision question


@dataclass
class CompetencyProgress:
    id: str
    title: str
    language: str  # of the rubric's text shown: the student's language where a translation fits
    levels: list[Level]
    threshold: Level
    status: str
    value: float | None
    start: float | None
    evidence: dict[str, int]
    required: int
    criteria: list[CriterionProgress]
    works: list[Work]
    goal: Goal | None = None  # the student's own open goal on it

    @property
    def now(self) -> Level | None:
        return reached(self.value, self.levels)

    @property
    def goal_reached(self) -> bool:
        """The record shows the open goal's target level reached: the page says so and offers to mark it."""
        return bool(self.goal and self.goal.target_level and self.now and self.now.number >= self.goal.target_level)


@dataclass
class Progress:
    student_id: uuid.UUID
    competencies: list[CompetencyProgress]
    achieved: list[Goal] = field(default_factory=list)  # goals reached, latest first ("Goals reached")
    titles: dict[str, tuple[str, str]] = field(default_factory=dict)  # competency id -> (title, its language), for ``achieved``


def reached(value: float | None, levels: list[Level]) -> Level | None:
    """The whole level a value has reached (a value just under it, by floating point, has too)."""
    if value is None or not levels:
        return None
    number = min(max(math.floor(value + 1e-9), 1), len(levels))
    return levels[number - 1]


def in_language(definition: dict, language: str, translations: Path) -> tuple[dict, str]:
    """The rubric's student-facing text in ``language`` where the library has a translation that
    fits this version, else as stored (English)."""
    language = language.split("-")[0].lower()
    if language == "en":
        return definition, "en"
    try:
        found = translated(RubricDefinition.model_validate(definition), language, translations)
    except ValidationError:  # a version stored before today's format: its own words
        return definition, "en"
    return (found.model_dump(mode="json"), language) if found else (definition, "en")


def story(points: list[Moment], value: float | None, growth: float | None, baseline: tuple[date, float] | None,
          levels: list[Level]) -> Story:
    """The criterion's growth from the record (``growth``: value minus the start), in the terms
    the words need."""
    if not points:
        return Story("steady", None, None, None, None, 0)
    first = points[0]
    since, start = baseline if baseline else (first.on, first.level)
    start_level, now = reached(start, levels), reached(value, levels)
    best = reached(max(p.level for p in points), levels)
    if growth is None or abs(growth) < STILL:
        kind = "steady"
    elif growth < 0:
        kind = "dip"
    else:
        kind = "moved" if now and start_level and now.number > start_level.number else "rising"
    return Story(kind, since, start_level, now, best, len(points))


def _descriptor(criterion: dict, level: int) -> str | None:
    levels = criterion.get("levels", {})
    return levels.get(str(level)) or levels.get(level)


@dataclass
class _Evidence:
    """A competency's ratings as the page groups them."""

    moments: dict[str, list[Moment]]  # criterion → its points, oldest work first
    works: list[Work]  # oldest first
    baselines: dict[str, tuple[date, float]]  # criterion → (the date, the level) a teacher set


def _evidence(competency_id: str, definition: dict, rows: list[Rating], titles: dict[str, str],
              settings) -> _Evidence:
    """Points per criterion and the pieces of work they came from: one piece is a release, or
    one logged demonstration (its date, note, link and teacher), whatever criteria it rated."""
    labels = {lv["level"]: lv["label"] for lv in definition["levels"]}
    criterion_titles = {c["id"]: c["title"] for c in definition["criteria"]}
    found = _Evidence({cid: [] for cid in criterion_titles}, [], {})
    works: dict[tuple, Work] = {}
    for r in rows:  # oldest work first (the repository's order)
        if r.criterion_id not in criterion_titles:
            continue  # a criterion the current version no longer has: the record leaves it out too
        if r.source == "baseline":
            found.baselines[r.criterion_id] = (r.work_date, r.level)  # the latest wins, as in the record
            continue
        level = service.counted_level(r.source, r.level, settings)
        if level is None:
            continue  # an override completes the requirement; a missed criterion shown apart is not a level
        release_id = str(r.release_id) if r.release_id else None
        key = (r.work_date, release_id, r.note, r.artifact_url, r.rated_by)
        work = works.get(key)
        if work is None:  # numbered oldest first: the page's anchor for this piece
            work = works[key] = Work(f"work-{competency_id}-{len(works) + 1}", r.work_date, r.source,
                                     titles.get(release_id) if release_id else None, r.note, r.artifact_url,
                                     release_id, [])
        label = labels.get(level, str(level))
        work.ratings.append(Shown(r.criterion_id, criterion_titles[r.criterion_id], Level(level, label),
                                  [e["quote"] for e in r.evidence or []], r.source == "missed"))
        found.moments[r.criterion_id].append(Moment(str(r.id), r.work_date, level, label, r.source, work.title,
                                                    r.note, release_id, work.anchor))
    order = {cid: i for i, cid in enumerate(criterion_titles)}
    for work in works.values():  # each piece's criteria in the rubric's order
        work.ratings.sort(key=lambda shown: order[shown.criterion_id])
    found.works = list(works.values())
    return found


def _criterion(criterion: dict, standing: service.Standing, evidence: _Evidence, levels: list[Level]) -> CriterionProgress:
    """One criterion: the record's numbers, the growth told, and below the threshold the next level."""
    s, cid = standing.status, criterion["id"]
    points, baseline = evidence.moments[cid], evidence.baselines.get(cid)
    value = s.criteria.get(cid)
    start = baseline[1] if baseline else (points[0].level if points else None)
    next_level = descriptor = None
    if value is None or value < s.threshold:
        # Not rated yet: what mastery looks like. Below it: the next whole level up.
        aim = int(s.threshold) if value is None else min(reached(value, levels).number + 1, int(s.threshold))
        next_level, descriptor = levels[aim - 1], _descriptor(criterion, aim)
    return CriterionProgress(
        cid, criterion["title"], value, start if points else None, reached(value, levels), s.evidence.get(cid, 0),
        s.required, cid not in s.missing, story(points, value, standing.growth.per_criterion.get(cid), baseline, levels),
        next_level, descriptor, baseline[1] if baseline else None, points)


def _competency(standing: service.Standing, definition: dict, language: str, rows: list[Rating],
                titles: dict[str, str], settings) -> CompetencyProgress:
    s = standing.status
    levels = [Level(lv["level"], lv["label"]) for lv in definition["levels"]]
    evidence = _evidence(standing.competency_id, definition, rows, titles, settings)
    criteria = [_criterion(c, standing, evidence, levels) for c in definition["criteria"]]
    # Where the competency started: the mean of its rated criteria's starts, as its value is of their values.
    rated = [c for c in criteria if c.value is not None]
    start = sum(c.start for c in rated) / len(rated) if rated and all(c.start is not None for c in rated) else None
    threshold = int(s.threshold)
    return CompetencyProgress(
        standing.competency_id, definition["title"], language, levels, levels[threshold - 1], s.status, s.value,
        start, dict(s.evidence), s.required, criteria, evidence.works[::-1])  # the evidence list: newest first


async def progress_of(session: AsyncSession, student: User, settings, *, today: date | None = None,
                      language: str | None = None) -> Progress:
    """The student's progress on every competency with evidence, by title: the rubric's text in
    ``language`` (a family's, who may read another than their child), else the student's."""
    choice = await service.school_choice(session, student)
    record = (await service.records_of(session, [student.id], settings, school_choice=choice, today=today))[student.id]
    shown = {cid: s for cid, s in record.competencies.items() if s.status.status != "not_started"}
    achieved = await goals.achieved_goals(session, student.id)
    if not shown and not achieved:
        return Progress(student.id, [])
    if language is None:
        language = await school.preferred_language(session, student) or "en"
    ids = await rubrics.current_version_ids(session, sorted(set(shown) | {g.competency_id for g in achieved}))
    definitions = {v.competency_id: v.definition for v in await rubrics.versions_by_ids(session, list(ids.values()))}
    rows = await repository.current_ratings(session, student.id)
    titles = await repository.release_titles(session, student.id, {r.release_id for r in rows if r.release_id})
    by_competency: dict[str, list[Rating]] = {}
    for r in rows:
        by_competency.setdefault(r.competency_id, []).append(r)
    open_goals, reflections = await goals.open_goals(session, student.id), await goals.reflections_of(session, student.id)
    named: dict[str, tuple[str, str]] = {}  # every competency's title as shown, for the goals reached
    competencies = []
    for cid, standing in shown.items():
        if cid not in definitions:
            continue
        definition, shown_in = in_language(definitions[cid], language, settings.rubrics_dir / "translations")
        named[cid] = (definition["title"], shown_in)
        competency = _competency(standing, definition, shown_in, by_competency.get(cid, []), titles, settings)
        competency.goal = open_goals.get(cid)
        for work in competency.works:
            if work.release_id in reflections:
                work.reflection = reflections[work.release_id].text
        competencies.append(competency)
    for goal in achieved:  # a goal reached on a competency with no evidence shown (rare): its title too
        if goal.competency_id not in named and goal.competency_id in definitions:
            definition, shown_in = in_language(definitions[goal.competency_id], language, settings.rubrics_dir / "translations")
            named[goal.competency_id] = (definition["title"], shown_in)
    return Progress(student.id, sorted(competencies, key=lambda c: c.title.casefold()),
                    [g for g in achieved if g.competency_id in named], named)
