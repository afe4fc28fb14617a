"""Approved evidence enters the mastery record: the release and its ratings in one transaction,
the teacher's edited levels, the work's date, append-only rows, superseded ratings stop counting."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy.exc
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import select, text

from beacon.approval.models import Draft, Release
from beacon.feedback.schemas import TeacherDecision
from beacon.feedback.service import submit
from beacon.mastery import repository as ratings
from beacon.mastery import service as mastery
from beacon.mastery.calculation import Method
from beacon.review import service as review
from beacon.runtime import open_feedback
from tests.classroom import ESSAY


@pytest.fixture
async def drafted(runtime, classroom):
    async with open_feedback(runtime, InMemorySaver()) as workflow:
        async with runtime.db.transaction() as session:
            work = await submit(session, student_id=classroom.student_id, title="Turbines", body=ESSAY)
        payload = await workflow.run_to_review(work.id)
        yield work, payload


async def _ratings(runtime, release_id):
    async with runtime.db.transaction() as session:
        return await ratings.ratings_of_release(session, release_id)


async def test_approving_writes_one_rating_per_criterion_with_the_teachers_levels(runtime, classroom, drafted):
    work, payload = drafted
    edited = payload.content.model_copy(deep=True)
    edited.criteria[0].level = 4 if edited.criteria[0].level != 4 else 3
    done = await review.decide(runtime.db, uuid.UUID(payload.draft_id), TeacherDecision(
        action="approve", teacher_id=str(classroom.teacher_id), edited_content=edited))
    rows = {r.criterion_id: r for r in await _ratings(runtime, done.release.id)}
    assert set(rows) == {c.criterion_id for c in edited.criteria}
    for criterion in edited.criteria:  # the edited level, not the drafted one
        row = rows[criterion.criterion_id]
        assert (row.level, row.source, row.rated_by, row.student_id) == (
            criterion.level, "draft", classroom.teacher_id, classroom.student_id)
        assert row.work_date == work.created_at.date()
        assert [e["quote"] for e in row.evidence] == [e.quote for e in criterion.evidence]
    async with runtime.db.transaction() as session:
        record = await mastery.record_of(session, classroom.student_id,
                                         runtime.settings.model_copy(update={"mastery_method": "mean"}))
    standing = record[edited.rubric_id]
    assert standing.status in ("emerging", "approaching")  # one piece of evidence never meets
    assert standing.evidence == {c.criterion_id: 1 for c in edited.criteria}


async def test_rejecting_writes_no_rating(runtime, classroom, drafted):
    _, payload = drafted

    async def count() -> int:
        async with runtime.db.transaction() as session:
            return len(await ratings.current_ratings(session, classroom.student_id))

    before = await count()
    await review.decide(runtime.db, uuid.UUID(payload.draft_id), TeacherDecision(
        action="reject", teacher_id=str(classroom.teacher_id), reason="not yet"))
    assert await count() == before


async def test_a_release_and_its_ratings_are_written_together_or_not_at_all(runtime, classroom, drafted, monkeypatch):
    _, payload = drafted

    async def broken(*args, **kwargs):
        raise sqlalchemy.exc.IntegrityError("INSERT INTO ratings", {}, Exception("the record refused it"))

    monkeypatch.setattr(mastery, "record_release", broken)
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        await review.decide(runtime.db, uuid.UUID(payload.draft_id), TeacherDecision(
            action="approve", teacher_id=str(classroom.teacher_id)))
    async with runtime.db.transaction() as session:
        draft = await session.get(Draft, uuid.UUID(payload.draft_id))
        releases = (await session.scalars(select(Release).where(Release.draft_id == draft.id))).all()
    assert (draft.status, releases) == ("pending_review", [])  # nothing half-written
    monkeypatch.undo()
    done = await review.decide(runtime.db, uuid.UUID(payload.draft_id), TeacherDecision(
        action="approve", teacher_id=str(classroom.teacher_id)))
    assert len(await _ratings(runtime, done.release.id)) == len(payload.content.criteria)


async def test_a_process_killed_between_the_release_and_its_ratings_leaves_nothing_half_written(runtime, classroom, drafted):
    """A real process approves and is killed (SIGKILL, no cleanup) after writing the release and
    before the ratings: the server rolls the transaction back; the teacher approves again."""
    _, payload = drafted
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("approve_then_die.py")), runtime.db.url, payload.draft_id,
        str(classroom.teacher_id), stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parents[2])
    try:
        assert (await asyncio.wait_for(child.stdout.readline(), 60)).strip() == b"between"
        async with runtime.db.transaction() as session:  # the child holds the draft's lock, uncommitted
            pending = await session.scalar(text("SELECT count(*) FROM releases WHERE draft_id = :d"),
                                           {"d": uuid.UUID(payload.draft_id)})
        assert pending == 0
        with pytest.raises(sqlalchemy.exc.OperationalError, match="could not obtain lock"):
            async with runtime.db.transaction() as session:  # the child's transaction is alive, mid-approval
                await session.execute(text("SELECT 1 FROM drafts WHERE id = :d FOR UPDATE NOWAIT"),
                                      {"d": uuid.UUID(payload.draft_id)})
    finally:
        child.kill()
        assert await child.wait() == -signal.SIGKILL
    async with runtime.db.transaction() as session:
        draft = await session.get(Draft, uuid.UUID(payload.draft_id), populate_existing=True)
        releases = (await session.scalars(select(Release).where(Release.draft_id == draft.id))).all()
        decided = await session.scalar(text("SELECT count(*) FROM decisions WHERE draft_id = :d"), {"d": draft.id})
    assert (draft.status, releases, decided) == ("pending_review", [], 0)
    done = await review.decide(runtime.db, uuid.UUID(payload.draft_id), TeacherDecision(
        action="approve", teacher_id=str(classroom.teacher_id)))
    assert len(await _ratings(runtime, done.release.id)) == len(payload.content.criteria)


async def test_ratings_are_append_only_and_a_correction_supersedes(runtime, classroom, drafted):
    _, payload = drafted
    done = await review.decide(runtime.db, uuid.UUID(payload.draft_id), TeacherDecision(
        action="approve", teacher_id=str(classroom.teacher_id)))
    first = (await _ratings(runtime, done.release.id))[0]
    with pytest.raises(sqlalchemy.exc.DBAPIError):
        async with runtime.db.transaction() as session:
            await session.execute(text("UPDATE ratings SET level = 4 WHERE id = :id"), {"id": first.id})
    with pytest.raises(sqlalchemy.exc.DBAPIError):
        async with runtime.db.transaction() as session:
            await session.execute(text("DELETE FROM ratings WHERE id = :id"), {"id": first.id})
    correction = uuid.uuid4()
    async with runtime.db.transaction() as session:
        await ratings.add_ratings(session, [{
            "id": correction, "student_id": classroom.student_id, "competency_id": first.competency_id,
            "rubric_version_id": first.rubric_version_id, "criterion_id": first.criterion_id, "level": 4,
            "work_date": date(2026, 11, 30), "source": "teacher", "rated_by": classroom.teacher_id,
            "note": "observed in the debate", "supersedes_id": first.id}])
        counting = await ratings.current_ratings(session, classroom.student_id, first.competency_id)
    ids = {r.id for r in counting}
    assert correction in ids and first.id not in ids  # the superseded rating stops counting


def test_a_competency_may_override_the_schools_method(settings):
    school = settings.model_copy(update={"mastery_method": "decaying_average", "mastery_decay_weight": 0.7})
    assert mastery.method_for(school, {"evidence_required": 3}) == Method("decaying_average", weight=0.7, n=3)
    assert mastery.method_for(school, {"calculation": "top_n_mean", "evidence_required": 3}).name == "top_n_mean"
