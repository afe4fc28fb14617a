"""Stored standings: a class grid reads one row per student and competency, and a row counts
only while nothing it was calculated from has changed. Every path that adds a rating makes it
stale in the same transaction (a trigger), and a reader never stores a standing over a newer one."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select, text

from beacon.mastery import repository, service
from beacon.mastery.models import StoredStanding
from beacon.mastery.schemas import NewRatings
from beacon.school.models import User

COMPETENCY = "argument-writing"
TODAY = date(2026, 11, 30)


async def _log(runtime, classroom, levels: dict[str, int], *, on: date, students=None):
    async with runtime.db.transaction() as session:
        teacher = await session.get(User, classroom.teacher_id)
        await service.log_ratings(session, teacher, NewRatings(
            student_ids=students or [classroom.student_id], competency_id=COMPETENCY, work_date=on,
            ratings=[{"criterion_id": c, "level": lv} for c, lv in levels.items()]))


async def _record(runtime, classroom, settings=None, **kw):
    async with runtime.db.transaction() as session:
        records = await service.records_of(session, [classroom.student_id, classroom.classmate_id],
                                           settings or runtime.settings, today=TODAY, **kw)
    return {sid: {cid: s.as_json() for cid, s in r.competencies.items()} for sid, r in records.items()}


async def _stored(runtime, student_id):
    async with runtime.db.transaction() as session:
        return await session.get(StoredStanding, (student_id, COMPETENCY), populate_existing=True)


async def _recalculated(runtime, classroom, **kw):
    """The same record calculated from every rating, nothing stored trusted."""
    async with runtime.db.transaction() as session:
        await session.execute(text("UPDATE standings SET inputs = '' WHERE student_id IN (:a, :b)"),
                              {"a": classroom.student_id, "b": classroom.classmate_id})
    return await _record(runtime, classroom, **kw)


async def test_a_new_rating_makes_the_stored_standing_stale_and_the_next_read_counts_it(runtime, classroom):
    await _log(runtime, classroom, {"claim": 2, "evidence": 2}, on=TODAY - timedelta(days=30))
    first = await _record(runtime, classroom)
    stored = await _stored(runtime, classroom.student_id)
    assert stored.computed == stored.generation and stored.status == first[classroom.student_id][COMPETENCY]["status"]
    await _log(runtime, classroom, {"claim": 4}, on=TODAY - timedelta(days=2))
    stale = await _stored(runtime, classroom.student_id)
    assert stale.generation == stored.generation + 1 and stale.computed == stored.computed  # the trigger, in the write
    second = await _record(runtime, classroom)
    assert second[classroom.student_id][COMPETENCY]["evidence"]["claim"] == 2
    assert second[classroom.student_id][COMPETENCY]["criteria"]["claim"] > first[classroom.student_id][COMPETENCY]["criteria"]["claim"]
    assert second == await _recalculated(runtime, classroom)
    assert second[classroom.classmate_id] == {}  # nobody else's record


async def test_a_rating_written_by_any_path_makes_it_stale(runtime, classroom):
    await _log(runtime, classroom, {"claim": 2}, on=TODAY - timedelta(days=20))
    before = await _record(runtime, classroom)
    async with runtime.db.transaction() as session:
        version = (await session.execute(text(
            "SELECT rubric_version_id FROM ratings WHERE student_id = :s LIMIT 1"), {"s": classroom.student_id})).scalar()
        await repository.add_ratings(session, [{
            "id": uuid.uuid4(), "student_id": classroom.student_id, "competency_id": COMPETENCY,
            "rubric_version_id": version, "criterion_id": "claim", "level": 4, "work_date": TODAY - timedelta(days=1),
            "source": "teacher", "rated_by": classroom.teacher_id}])
    after = await _record(runtime, classroom)
    assert after[classroom.student_id][COMPETENCY]["evidence"]["claim"] == before[classroom.student_id][COMPETENCY]["evidence"]["claim"] + 1


async def test_a_change_of_method_or_settings_recalculates(runtime, classroom):
    await _log(runtime, classroom, {"claim": 1}, on=TODAY - timedelta(days=40))
    await _log(runtime, classroom, {"claim": 4}, on=TODAY - timedelta(days=20))
    await _log(runtime, classroom, {"claim": 2}, on=TODAY - timedelta(days=5))
    decaying = await _record(runtime, classroom)
    highest = await _record(runtime, classroom, school_choice={"mastery_method": "highest"})
    assert decaying[classroom.student_id][COMPETENCY]["criteria"]["claim"] == 0.65 * 2 + 0.35 * 2.5
    assert highest[classroom.student_id][COMPETENCY]["criteria"]["claim"] == 4
    assert (await _stored(runtime, classroom.student_id)).inputs.split("|")[1] == "highest"
    stricter = runtime.settings.model_copy(update={"support_attempts": 2})
    kinds = [c["kind"] for c in (await _record(runtime, classroom, settings=stricter))[classroom.student_id][COMPETENCY]["support"]]
    assert "stuck" in kinds or "drop" in kinds
    assert "|2|" in (await _stored(runtime, classroom.student_id)).inputs


async def test_a_power_law_standing_is_recalculated_each_day(runtime, classroom):
    await _log(runtime, classroom, {"claim": 1}, on=TODAY - timedelta(days=60))
    await _log(runtime, classroom, {"claim": 2}, on=TODAY - timedelta(days=30))
    choice = {"mastery_method": "power_law"}
    async with runtime.db.transaction() as session:
        today = await service.records_of(session, [classroom.student_id], runtime.settings, school_choice=choice, today=TODAY)
        later = await service.records_of(session, [classroom.student_id], runtime.settings, school_choice=choice,
                                         today=TODAY + timedelta(days=60))
    now, then = (r[classroom.student_id].competencies[COMPETENCY].status.criteria["claim"] for r in (today, later))
    assert then > now  # projected further along the trend


async def test_a_reader_never_stores_over_a_standing_a_writer_made_stale(runtime, classroom):
    await _log(runtime, classroom, {"claim": 2}, on=TODAY - timedelta(days=10))
    async with runtime.db.transaction() as session:
        [row] = await repository.standings_of(session, [classroom.student_id])
    await _log(runtime, classroom, {"claim": 3}, on=TODAY - timedelta(days=1))  # commits generation + 1
    async with runtime.db.transaction() as session:  # the slow reader stores what it calculated before
        await repository.store_standings(session, [{**row, "inputs": "old", "status": "met", "value": 9.0,
                                                    "last_work": None, "latest_id": None, "latest_level": None,
                                                    "latest_release": None, "concerns": [], "flags": [], "detail": {}}])
        stored = await session.scalar(select(StoredStanding).where(StoredStanding.student_id == classroom.student_id))
        assert stored.computed != stored.generation and stored.status != "met"
    record = await _record(runtime, classroom)
    assert record[classroom.student_id][COMPETENCY]["evidence"]["claim"] == 2


async def test_a_class_wide_entry_bumps_each_students_row_once(runtime, classroom):
    both = [classroom.student_id, classroom.classmate_id]
    await _log(runtime, classroom, {"claim": 2, "evidence": 3, "reasoning": 2}, on=TODAY - timedelta(days=3), students=both)
    async with runtime.db.transaction() as session:
        rows = await repository.standings_of(session, both)
    assert sorted((r["competency_id"], r["generation"]) for r in rows) == [(COMPETENCY, 1), (COMPETENCY, 1)]


async def test_the_schools_overview_counts_what_the_records_say(runtime, classroom):
    """The overview counts from the summaries alone; it must agree with the full records."""
    await _log(runtime, classroom, {"claim": 1}, on=TODAY - timedelta(days=90))
    for days in (60, 30, 10):
        await _log(runtime, classroom, {"claim": 1, "evidence": 2}, on=TODAY - timedelta(days=days),
                   students=[classroom.classmate_id])
    async with runtime.db.transaction() as session:
        student = await session.get(User, classroom.student_id)
        overview = await service.school_overview(session, student.school_id, runtime.settings, today=TODAY)
        ids = [s.id for s in await repository.students_of_school(session, student.school_id)]
        records = await service.records_of(session, ids, runtime.settings, today=TODAY)
    counts = overview.by_competency[COMPETENCY]
    standings = [r.competencies[COMPETENCY] for r in records.values() if COMPETENCY in r.competencies]
    for state in ("emerging", "approaching", "met"):
        assert counts[state] == sum(s.status.status == state for s in standings)
    assert counts["support"] == sum(bool(s.concerns) for s in standings) == 2  # stuck; quiet beside a busy classmate
    assert dict((s.id, n) for s, n in overview.needing_support) == {
        sid: len(r.concerns) + sum(len(s.concerns) for s in r.competencies.values())
        for sid, r in records.items() if r.needs_support()}


async def test_the_nightly_refresh_recalculates_what_is_stale_and_only_that(runtime, classroom):
    await _log(runtime, classroom, {"claim": 2, "evidence": 3}, on=TODAY - timedelta(days=8),
               students=[classroom.student_id, classroom.classmate_id])
    assert await service.refresh_standings(runtime.db, runtime.settings, today=TODAY) >= 2
    for sid in (classroom.student_id, classroom.classmate_id):
        stored = await _stored(runtime, sid)
        assert stored.computed == stored.generation and stored.status in ("emerging", "approaching")
    assert await service.refresh_standings(runtime.db, runtime.settings, today=TODAY) == 0  # all fresh
    daily = runtime.settings.model_copy(update={"mastery_method": "power_law"})
    assert await service.refresh_standings(runtime.db, daily, today=TODAY) >= 2  # another method
    assert await service.refresh_standings(runtime.db, daily, today=TODAY) == 0
    assert await service.refresh_standings(runtime.db, daily, today=TODAY + timedelta(days=1)) >= 2  # a new day
