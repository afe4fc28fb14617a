"""A teacher's released list: their releases only (not another teacher's, not rejected or pending
drafts), newest first, by class and date range, a page at a time on a (time, id) cursor that
holds when a bulk approval gives many releases the same time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from beacon.approval.models import Release
from beacon.review import repository
from tests.factories import decide, make_class, make_draft


async def _released(session, draft, teacher, at: datetime, feedback: str) -> Release:
    decision = await decide(session, draft, teacher, "approve")
    row = Release(draft_id=draft.id, decision_id=decision.id, teacher_id=teacher.id, student_id=draft.student_id,
                  content={**draft.content, "feedback": feedback}, released_at=at)
    session.add(row)
    await session.flush()
    return row


async def test_only_this_teachers_releases_newest_first_filtered_and_paged(session):
    _, klass, teacher, (ana, ben) = await make_class(session, students=2)
    _, other_class, other_teacher, (stranger,) = await make_class(session, students=1)
    day = datetime(2026, 3, 2, 9, tzinfo=UTC)
    oldest = await _released(session, await make_draft(session, ana), teacher, day, "one")
    middle = await _released(session, await make_draft(session, ben), teacher, day + timedelta(days=1), "two")
    # A bulk approval: two releases at the same instant.
    same = [await _released(session, await make_draft(session, ana), teacher, day + timedelta(days=2), f"bulk {i}")
            for i in range(2)]
    await _released(session, await make_draft(session, stranger), other_teacher, day, "not yours")
    await decide(session, await make_draft(session, ben), teacher, "reject", reason="talk first")
    await make_draft(session, ana)  # pending

    items, following = await repository.released_by(session, teacher.id)
    newest = sorted(same, key=lambda r: r.id, reverse=True)
    assert [i.release.id for i in items] == [newest[0].id, newest[1].id, middle.id, oldest.id]
    assert following is None and {i.student_name for i in items} == {ana.full_name, ben.full_name}
    assert items[-1].release.content["feedback"] == "one" and items[-1].title == "Essay"

    seen, cursor = [], None
    while True:  # two a page: every release once, in order, across the tie
        page, cursor = await repository.released_by(session, teacher.id, before=cursor, limit=2)
        seen += [i.release.id for i in page]
        if cursor is None:
            break
    assert seen == [i.release.id for i in items]

    assert [i.release.id for i in (await repository.released_by(
        session, teacher.id, since=day + timedelta(days=1), until=day + timedelta(days=2)))[0]] == [middle.id]
    assert (await repository.released_by(session, teacher.id, class_id=other_class.id))[0] == []
    assert len((await repository.released_by(session, teacher.id, class_id=klass.id))[0]) == 4
    # Another teacher's release as a cursor shows nothing of theirs, nor of this teacher's.
    theirs, _ = await repository.released_by(session, other_teacher.id)
    assert [i.release.content["feedback"] for i in theirs] == ["not yours"]
    assert await repository.released_by(session, teacher.id, before=theirs[0].release.id) == ([], None)
