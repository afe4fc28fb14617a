"""The teacher's queue: only their students' pending drafts, oldest first, narrowed by class,
assignment, competency and flag; which drafts may be approved in bulk."""

from __future__ import annotations

from datetime import timedelta

from beacon.review import repository
from beacon.review.service import needs_own_review
from beacon.school import service as school
from beacon.school.models import Assignment
from tests.factories import make_class, make_draft


async def test_queue_is_scoped_ordered_and_filtered(session):
    sch, klass, teacher, (ana, ben) = await make_class(session, students=2)
    _, other_class, other_teacher, (stranger,) = await make_class(session, students=1)
    second = await school.ensure_class(session, sch, "Second period")
    await school.enroll(session, second, teacher, "teacher")
    cleo = await school.ensure_student(session, sch, second, _seed("Cleo"))
    essay = Assignment(class_id=klass.id, title="Town essay")
    session.add(essay)
    await session.flush()

    first = await make_draft(session, ana, assignment_id=essay.id)
    lab = await make_draft(session, ben, competency="scientific-investigation", flags=["no_evidence:claim"])
    third = await make_draft(session, cleo, flags=["prompt_injection", "offline_model"])
    await make_draft(session, stranger)  # another teacher's class: never in this queue
    # One transaction stamps every row with the same now(): space them as separate hand-ins would be.
    for minutes, draft in enumerate((first, lab, third)):
        draft.created_at = draft.created_at + timedelta(minutes=minutes)
    await session.flush()

    async def ids(**filters):
        return [item.draft.id for item in await repository.queue_for_teacher(session, teacher.id, **filters)]

    assert await ids() == [first.id, lab.id, third.id]
    everything = await repository.queue_for_teacher(session, teacher.id)
    assert [i.student_name for i in everything] == [ana.full_name, ben.full_name, cleo.full_name]
    assert await ids(class_id=second.id) == [third.id]
    assert await ids(class_id=other_class.id) == []  # a class they do not teach shows nothing
    assert await ids(assignment_id=essay.id) == [first.id]
    assert await ids(competency_id="scientific-investigation") == [lab.id]
    assert await ids(flag="no_evidence") == [lab.id]  # a flag name matches "name:criterion"
    assert await ids(flag="prompt_injection") == [third.id]
    assert await ids(flag="no_evid") == []  # names, not prefixes
    assert [i.draft.id for i in await repository.queue_for_teacher(session, other_teacher.id)] != []
    assert (await repository.next_pending_for_teacher(session, teacher.id, first.id)).id == lab.id
    assert (await repository.next_pending_for_teacher(session, teacher.id, None)).id == first.id


async def test_only_informational_flags_allow_bulk_approval(session):
    _, _, _, (ana,) = await make_class(session)
    assert not needs_own_review(await make_draft(session, ana))
    assert not needs_own_review(await make_draft(session, ana, flags=["offline_model", "repaired"]))
    for flag in ("prompt_injection", "quote_not_found:thesis", "invented_criterion:x", "score_language", "too_long"):
        assert needs_own_review(await make_draft(session, ana, flags=["offline_model", flag])), flag


def _seed(first: str):
    import uuid

    from beacon.school.schemas import StudentSeed

    return StudentSeed(first_name=first, last_name="Lee", email=f"{first.lower()}-{uuid.uuid4().hex[:8]}@example.org", grade=7)


async def test_scope_follows_the_class_of_the_work_not_the_student(session):
    """Work for an assignment belongs to the assignment's class teachers; work without one to
    the teachers of the classes the student was in when handing it in."""
    sch, klass, teacher, (ana,) = await make_class(session, students=1)
    art = await school.ensure_class(session, sch, "Art")
    art_teacher = await school.ensure_user(session, sch, f"art-{klass.id.hex[:8]}@example.org", "Art Teacher", "teacher")
    await school.enroll(session, art, ana, "student")
    await school.enroll(session, art, art_teacher, "teacher")
    essay = Assignment(class_id=klass.id, title="Town essay")
    session.add(essay)
    await session.flush()
    for_essay = await make_draft(session, ana, assignment_id=essay.id)
    free = await make_draft(session, ana)  # no assignment: both of her classes' teachers

    def ids(items):
        return {i.draft.id for i in items}

    assert ids(await repository.queue_for_teacher(session, teacher.id)) == {for_essay.id, free.id}
    assert ids(await repository.queue_for_teacher(session, art_teacher.id)) == {free.id}
    assert await repository.draft_taught_by(session, for_essay.id, art_teacher.id) is None
    # A class joined after handing in does not bring its teacher the earlier work.
    late = await school.ensure_class(session, sch, "Drama")
    drama_teacher = await school.ensure_user(session, sch, f"drama-{klass.id.hex[:8]}@example.org", "Dr Ama", "teacher")
    await school.enroll(session, late, ana, "student")
    await school.enroll(session, late, drama_teacher, "teacher")
    assert ids(await repository.queue_for_teacher(session, drama_teacher.id)) == set()
