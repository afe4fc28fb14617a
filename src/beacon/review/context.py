"""What the review desk shows beside a draft: the student's record on the draft's competency
(the stored standing, as ``mastery.service.records_of`` reads it: nothing recalculated here), the
last few pieces of work on it, the last feedback released on it with whether the student
revised that work since, and what the student wrote themselves: their open goal on the
competency and their reflection on that last feedback (mastery/goals.py)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.errors import NotFound
from beacon.mastery import goals
from beacon.mastery import service as mastery
from beacon.mastery.models import Goal, Reflection
from beacon.review import repository
from beacon.review.repository import LastFeedback

TREND_WORKS = 4  # how many pieces of work the trend shows, latest last
REACHED_RECENTLY = timedelta(days=60)  # a goal reached longer ago is history, not context for this draft


@dataclass(frozen=True)
class OnRecord:
    """One student on one competency, for the teacher deciding a draft on it."""

    competency_id: str
    standing: mastery.Standing | None  # None: nothing rated on it yet
    trend: list[tuple[date, float]]  # (work date, the mean counted level of that work's ratings)
    last: LastFeedback | None
    goal: Goal | None = None  # the student's open goal on this competency
    reflection: Reflection | None = None  # their answer to the last feedback's revision question
    reached: Goal | None = None  # a goal on this competency the student marked reached lately


def trend_of(entries: list[mastery.Entry], settings, n: int = TREND_WORKS) -> list[tuple[date, float]]:
    """The last ``n`` work dates with evidence and, per date, the mean of the levels that count as
    evidence (a baseline or an override does not; a missed criterion as the school counts it)."""
    levels: dict[date, list[int]] = defaultdict(list)
    for e in entries:
        level = mastery.counted_level(e.source, e.level, settings)
        if level is not None:
            levels[e.work_date].append(level)
    return [(day, sum(ls) / len(ls)) for day, ls in sorted(levels.items())][-n:]


async def on_record(session: AsyncSession, teacher_id: uuid.UUID, draft, settings, *,
                    school_choice: dict | None = None) -> OnRecord:
    """The record panel of a feedback draft: one ``records_of`` read, the competency's ratings,
    and the last release on it (of work this teacher reviews)."""
    competency_id = draft.content["rubric_id"]
    records = await mastery.records_of(session, [draft.student_id], settings, school_choice=school_choice)
    try:
        _, entries = await mastery.history(session, draft.student_id, competency_id)
    except NotFound:  # a competency retired from the library: no current version to read by
        entries = []
    last = await repository.last_feedback_on(session, teacher_id, draft.student_id, competency_id,
                                             other_than=draft.id)
    reflection = await goals.reflection_on(session, last.release_id) if last and last.release_id else None
    reached = await goals.achieved_goals(session, draft.student_id, competency_id=competency_id, limit=1)
    recent = [g for g in reached if g.achieved_at >= datetime.now(timezone.utc) - REACHED_RECENTLY]
    return OnRecord(competency_id, records[draft.student_id].competencies.get(competency_id),
                    trend_of(entries, settings), last, await goals.open_goal(session, draft.student_id, competency_id),
                    reflection, recent[0] if recent else None)


async def record_cues(session: AsyncSession, teacher, drafts: list, settings) -> dict[uuid.UUID, mastery.Standing | None]:
    """Per feedback draft in a queue, its student's standing on its competency (None: nothing
    rated yet), so a bulk approval is made knowing it: one ``records_of`` read for every student
    listed. The HTML queue's cue and the JSON queue's ``record`` both come from here."""
    feedback = [d for d in drafts if d.kind == "feedback"]
    if not feedback:
        return {}
    records = await mastery.records_of(session, sorted({d.student_id for d in feedback}), settings,
                                       school_choice=await mastery.school_choice(session, teacher))
    return {d.id: _without_quiet(records[d.student_id].competencies.get(d.content["rubric_id"])) for d in feedback}


def _without_quiet(standing: mastery.Standing | None) -> mastery.Standing | None:
    """A draft is new evidence on its competency, so "no evidence lately" is not its context; and
    "quiet" is weighed against the students read together, who here are only those in the queue
    (the review panel, reading one student, never raises it): leave it to the class's record."""
    if standing is None or not any(c.kind == "quiet" for c in standing.concerns):
        return standing
    return replace(standing, concerns=[c for c in standing.concerns if c.kind != "quiet"])


def cue_json(standing: mastery.Standing | None) -> dict:
    """The record cue as the JSON queue sends it: status, value, levels, and the needs-support
    flags by kind (teachers only: this is a teacher's queue)."""
    if standing is None:
        return {"status": "not_started", "value": None, "levels": None, "flags": []}
    return {"status": standing.status.status, "value": standing.status.value, "levels": standing.levels,
            "flags": sorted({c.kind for c in standing.concerns})}
