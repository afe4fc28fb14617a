"""The mastery record: ratings written when evidence is approved, read back as each student's
status and growth per competency (``calculation.py``). Services never commit: the decision's
transaction writes a release and its ratings together, or neither."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.approval.decisions import stable_id
from beacon.mastery import repository
from beacon.mastery.calculation import CompetencyStatus, Method, Point, status
from beacon.rubrics import repository as rubrics
from beacon.rubrics.schemas import RubricDefinition


async def record_release(session: AsyncSession, *, release_id: uuid.UUID, student_id: uuid.UUID,
                         teacher_id: uuid.UUID, rubric_version_id: int, content: dict, work_date: date) -> int:
    """The released levels (the teacher's edits included) become ratings, one per criterion,
    dated by the work. Returns how many."""
    rows = [
        {"id": stable_id(release_id, "rating", c["criterion_id"]), "student_id": student_id,
         "competency_id": content["rubric_id"], "rubric_version_id": rubric_version_id,
         "criterion_id": c["criterion_id"], "level": int(c["level"]), "work_date": work_date, "source": "draft",
         "release_id": release_id, "rated_by": teacher_id,
         "evidence": [{"start": e["start"], "end": e["end"], "quote": e["quote"]} for e in c.get("evidence", [])]}
        for c in content.get("criteria", [])
    ]
    await repository.add_ratings(session, rows)
    return len(rows)


def _required(definition: dict) -> int:
    # Versions stored before the rubric format had the field ask for its default.
    return definition.get("evidence_required", RubricDefinition.model_fields["evidence_required"].default)


def method_for(settings, definition: dict) -> Method:
    """The school's calculation (``Settings.mastery_method``) unless the competency's rubric names
    its own; top-N counts the competency's evidence requirement."""
    return Method(definition.get("calculation") or settings.mastery_method, weight=settings.mastery_decay_weight,
                  n=_required(definition))


async def record_of(session: AsyncSession, student_id: uuid.UUID, settings,
                    today: date | None = None) -> dict[str, CompetencyStatus]:
    """Every competency with ratings: its status by its method against the current rubric
    version's threshold and evidence requirement."""
    by_competency: dict[str, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
    completed: dict[str, set[str]] = defaultdict(set)
    for rating in await repository.current_ratings(session, student_id):
        if rating.source == "override":
            completed[rating.competency_id].add(rating.criterion_id)
            continue
        if rating.source == "missed":
            continue  # counted apart: a criterion the task asked for and the work did not address
        by_competency[rating.competency_id][rating.criterion_id].append(
            Point(rating.work_date, rating.level, str(rating.id)))
    if not by_competency:
        return {}
    # Every competency's current version in two queries, however many there are.
    ids = await rubrics.current_version_ids(session, list(by_competency))
    versions = {v.competency_id: v for v in await rubrics.versions_by_ids(session, list(ids.values()))}
    record = {}
    for competency_id, ratings in by_competency.items():
        if competency_id not in versions:
            continue
        definition = versions[competency_id].definition
        record[competency_id] = status(
            ratings, [c["id"] for c in definition["criteria"]], method_for(settings, definition),
            threshold=definition["mastery_threshold"], required=_required(definition), today=today,
            scale=(1, len(definition["levels"])), completed=completed[competency_id])
    return record
