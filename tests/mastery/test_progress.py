"""A student's "My progress" reads the mastery record and recalculates nothing: its values,
evidence counts, thresholds and statuses are ``records_of``'s by the school's method; each point
keeps the work it came from; growth is told from the record's own growth."""

from __future__ import annotations

from datetime import date

from beacon.mastery import progress, service
from beacon.mastery.progress import Level, Moment, story
from beacon.school.models import School, User
from tests.mastery.progress_helpers import log, release

LEVELS = [Level(1, "Beginning"), Level(2, "Developing"), Level(3, "Proficient"), Level(4, "Extending")]


async def _with_method(runtime, student_id, method: str) -> User:
    async with runtime.db.transaction() as session:
        student = await session.get(User, student_id)
        found = await session.get(School, student.school_id)
        found.settings = {**(found.settings or {}), "mastery_method": method}
        return student


async def test_the_pages_numbers_are_the_records_on_two_competencies_one_logged_by_hand(runtime, classroom):
    student = await _with_method(runtime, classroom.student_id, "most_recent")
    await log(runtime, classroom.teacher_id, classroom.student_id, "argument-writing", {"claim": 2, "evidence": 2},
              date(2025, 9, 15), note="Debate on the town budget")
    released = await release(runtime, classroom.teacher_id, classroom.student_id, levels={"claim": 4, "evidence": 3})
    await log(runtime, classroom.teacher_id, classroom.student_id, "oral-communication", {"audience": 2, "delivery": 3},
              date(2025, 10, 1), note="Exhibition night")
    await log(runtime, classroom.teacher_id, classroom.student_id, "oral-communication", {"audience": 3},
              date(2025, 11, 3), artifact_url="https://video.example.org/exhibition/12")

    async with runtime.db.transaction() as session:
        mine = await progress.progress_of(session, student, runtime.settings)
        choice = await service.school_choice(session, student)
        record = (await service.records_of(session, [student.id], runtime.settings, school_choice=choice))[student.id]
        by_default = (await service.records_of(session, [student.id], runtime.settings))[student.id]

    assert [c.id for c in mine.competencies] == ["argument-writing", "oral-communication"]  # by title
    for c in mine.competencies:
        s = record.competencies[c.id].status
        assert (c.status, c.value, c.evidence, c.required, c.threshold.number) == (
            s.status, s.value, s.evidence, s.required, s.threshold)
        assert {cr.id: cr.value for cr in c.criteria} == s.criteria
        assert {cr.id: cr.evidence for cr in c.criteria} == s.evidence
        assert {cr.id for cr in c.criteria if not cr.complete} == set(s.missing)
        assert len(c.levels) == 4 and c.threshold == Level(3, "Proficient")
    # The school's method (the latest work), not Beacon's default (a decaying average).
    writing = next(c for c in mine.competencies if c.id == "argument-writing")
    claim = next(cr for cr in writing.criteria if cr.id == "claim")
    assert claim.value == 4 and by_default.competencies["argument-writing"].status.criteria["claim"] != 4
    assert (claim.start, claim.now, claim.evidence, claim.next) == (2, Level(4, "Extending"), 2, None)
    assert claim.story == progress.Story("moved", date(2025, 9, 15), Level(2, "Developing"), Level(4, "Extending"),
                                         Level(4, "Extending"), 2)

    # Each point keeps its work: the release (its page, its work's title) or the logged demonstration.
    logged, approved = claim.moments
    assert (logged.source, logged.release_id, logged.note, logged.on) == ("teacher", None, "Debate on the town budget",
                                                                          date(2025, 9, 15))
    assert (approved.source, approved.release_id, approved.work) == ("draft", str(released), "Wind turbines")
    assert {w.anchor for w in writing.works} >= {logged.anchor, approved.anchor}
    quoted = next(w for w in writing.works if w.release_id == str(released))
    assert any(r.quotes for r in quoted.ratings)  # the quoted evidence travels with the work

    # A criterion below mastery says what its next level looks like, in the rubric's words.
    oral = next(c for c in mine.competencies if c.id == "oral-communication")
    delivery = next(cr for cr in oral.criteria if cr.id == "delivery")
    assert delivery.next is None and delivery.story.kind == "steady" and delivery.story.pieces == 1
    audience = next(cr for cr in oral.criteria if cr.id == "audience")
    assert audience.story.kind == "moved" and audience.complete
    visuals = next(cr for cr in oral.criteria if cr.id == "visuals")  # not rated yet: aim for mastery
    assert visuals.value is None and visuals.next == Level(3, "Proficient") and visuals.next_descriptor
    assert oral.works[0].artifact_url == "https://video.example.org/exhibition/12"  # newest first


async def test_nothing_rated_is_an_empty_page_and_a_baseline_alone_is_not_evidence(runtime, classroom):
    await log(runtime, classroom.teacher_id, classroom.classmate_id, "collaboration", {"roles": 1}, date(2025, 9, 1),
              source="baseline")
    async with runtime.db.transaction() as session:
        student = await session.get(User, classroom.classmate_id)
        assert (await progress.progress_of(session, student, runtime.settings)).competencies == []


async def test_a_teachers_baseline_is_where_growth_starts(runtime, classroom):
    await log(runtime, classroom.teacher_id, classroom.student_id, "collaboration", {"roles": 1}, date(2025, 9, 1),
              source="baseline")
    await log(runtime, classroom.teacher_id, classroom.student_id, "collaboration", {"roles": 3}, date(2025, 10, 6))
    async with runtime.db.transaction() as session:
        student = await session.get(User, classroom.student_id)
        [collaboration] = (await progress.progress_of(session, student, runtime.settings)).competencies
        record = (await service.records_of(session, [student.id], runtime.settings))[student.id]
    roles = next(cr for cr in collaboration.criteria if cr.id == "roles")
    assert (roles.baseline, roles.start, roles.story.since, roles.story.kind) == (1, 1, date(2025, 9, 1), "moved")
    assert roles.value - roles.start == record.competencies["collaboration"].growth.per_criterion["roles"]
    assert [m.level for m in roles.moments] == [3]  # the baseline is where the student started, not evidence


def _moments(*levels: int) -> list[Moment]:
    return [Moment(str(i), date(2025, 9 + i, 1), lv, LEVELS[lv - 1].label, "teacher", None, None, None, f"w{i}")
            for i, lv in enumerate(levels)]


def test_growth_is_told_from_the_records_growth():
    moved = story(_moments(2, 3), 3.0, 1.0, None, LEVELS)
    assert (moved.kind, moved.start, moved.now, moved.since, moved.pieces) == (
        "moved", LEVELS[1], LEVELS[2], date(2025, 9, 1), 2)
    rising = story(_moments(2, 2, 3), 2.6, 0.6, None, LEVELS)  # up within Developing
    assert (rising.kind, rising.now) == ("rising", LEVELS[1])
    assert story(_moments(3), 3.0, None, None, LEVELS).kind == "steady"  # one piece: no growth yet
    assert story(_moments(2, 2), 2.0, 0.0, None, LEVELS).kind == "steady"
    dip = story(_moments(3, 2), 2.35, -0.65, None, LEVELS)
    assert (dip.kind, dip.best) == ("dip", LEVELS[2])  # said against the best reached, kindly
    assert story(_moments(3), 3.0, 2.0, (date(2025, 8, 25), 1), LEVELS).since == date(2025, 8, 25)
