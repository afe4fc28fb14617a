"""The approval gate and the audit trail, enforced by the schema itself: these tests go around
the services and write rows directly, as a buggy or hostile code path would."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from beacon.approval.models import Release
from beacon.db.audit import AuditEvent
from tests.factories import decide, make_class, make_draft, release


async def _refused(session, work) -> str:
    """Run ``work`` in a savepoint and return the database's refusal message."""
    savepoint = await session.begin_nested()
    with pytest.raises((IntegrityError, DBAPIError)) as caught:
        await work()
    await savepoint.rollback()
    return str(caught.value.orig)


async def test_release_without_any_decision_is_refused(session):
    _, _, teacher, [student] = await make_class(session)
    draft = await make_draft(session, student)
    made_up = uuid.uuid4()

    async def forge():
        session.add(Release(draft_id=draft.id, decision_id=made_up, teacher_id=teacher.id,
                            student_id=student.id, content={"feedback": "unapproved"}))
        await session.flush()

    assert "fk_releases" in await _refused(session, forge)


async def test_release_from_a_rejection_is_refused(session):
    _, _, teacher, [student] = await make_class(session)
    draft = await make_draft(session, student)
    rejection = await decide(session, draft, teacher, "reject", reason="off topic")

    async def forge():
        session.add(Release(draft_id=draft.id, decision_id=rejection.id, teacher_id=teacher.id,
                            decision_action="reject", student_id=student.id, content={}))
        await session.flush()

    assert "from_approval" in await _refused(session, forge)

    async def forge_claiming_approval():  # lie about the action: the composite key catches it
        await release(session, draft, rejection)

    assert "fk_releases" in await _refused(session, forge_claiming_approval)


async def test_release_of_an_approval_for_another_draft_or_student_is_refused(session):
    _, _, teacher, [alice, bob] = await make_class(session, students=2)
    alice_draft = await make_draft(session, alice)
    bob_draft = await make_draft(session, bob)
    approval = await decide(session, alice_draft, teacher, "approve")

    async def reuse_for_other_draft():
        await release(session, bob_draft, approval)

    assert "fk_releases" in await _refused(session, reuse_for_other_draft)

    async def redirect_to_other_student():
        await release(session, alice_draft, approval, student_id=bob.id)

    assert "fk_releases" in await _refused(session, redirect_to_other_student)


async def test_only_a_teacher_of_the_student_can_decide(session):
    from beacon.school.service import enroll, ensure_class

    school, _, teacher, [student, classmate] = await make_class(session, students=2)
    _, _, other_teacher, _ = await make_class(session)
    # Even enrolled "as a teacher" by mistake, a user whose role is student cannot decide.
    club = await ensure_class(session, school, "Debate club")
    await enroll(session, club, student, "student")
    await enroll(session, club, classmate, "teacher")
    draft = await make_draft(session, student)  # handed in while in both classes

    async def student_approves_self():
        await decide(session, draft, student, "approve")

    assert "does not teach" in await _refused(session, student_approves_self)

    async def student_with_a_teacher_enrollment():
        await decide(session, draft, classmate, "approve")

    assert "fk_decisions" in await _refused(session, student_with_a_teacher_enrollment)

    async def teacher_of_another_class():
        await decide(session, draft, other_teacher, "approve")

    assert "does not teach" in await _refused(session, teacher_of_another_class)


async def test_a_draft_is_approved_or_rejected_once(session):
    _, _, teacher, [student] = await make_class(session)
    draft = await make_draft(session, student)
    await decide(session, draft, teacher, "regenerate", instructions="shorter")
    await decide(session, draft, teacher, "approve")

    async def second_verdict():
        await decide(session, draft, teacher, "reject", reason="changed my mind")

    assert "uq_decisions_final_per_draft" in await _refused(session, second_verdict)


async def test_rejection_needs_a_reason(session):
    _, _, teacher, [student] = await make_class(session)
    draft = await make_draft(session, student)

    async def silent_reject():
        await decide(session, draft, teacher, "reject", reason="  ")

    assert "reject_has_reason" in await _refused(session, silent_reject)


async def test_decisions_and_releases_write_append_only_audit_events(session):
    _, _, teacher, [student] = await make_class(session)
    draft = await make_draft(session, student)
    await decide(session, draft, teacher, "regenerate", instructions="in Spanish")
    approval = await decide(session, draft, teacher, "approve", edited_content={"feedback": "Edited"})
    await release(session, draft, approval)

    events = (
        await session.scalars(
            select(AuditEvent).where(AuditEvent.subject_id == str(draft.id)).order_by(AuditEvent.id)
        )
    ).all()
    assert [e.action for e in events] == ["decision.regenerate", "decision.approve", "release.created"]
    assert all(e.actor_id == teacher.id for e in events)
    assert events[0].data["instructions"] == "in Spanish"
    assert events[1].data["edited"] is True

    async def tamper():
        await session.execute(text("UPDATE audit_events SET action = 'nothing' WHERE id = :i"), {"i": events[0].id})

    assert "permission denied" in await _refused(session, tamper)  # the app role; see test_roles

    async def erase():
        await session.execute(text("DELETE FROM decisions WHERE id = :i"), {"i": approval.id})

    assert "permission denied" in await _refused(session, erase)



async def test_work_for_an_assignment_is_decided_by_that_classs_teachers_only(session):
    """Scope follows the class: a teacher of another class the student is in cannot decide
    work handed in for this class's assignment (nor see it: review/repository)."""
    from sqlalchemy import update

    from beacon.feedback.models import Submission
    from beacon.school.service import enroll, ensure_class, ensure_user

    school, klass, teacher, [student] = await make_class(session)
    art = await ensure_class(session, school, "Art")
    art_teacher = await ensure_user(session, school, f"art-{klass.id.hex[:6]}@example.org", "Art Teacher", "teacher")
    await enroll(session, art, student, "student")
    await enroll(session, art, art_teacher, "teacher")
    draft = await make_draft(session, student)
    await session.execute(update(Submission).where(Submission.id == draft.submission_id).values(class_ids=[klass.id]))

    async def art_teacher_decides():
        await decide(session, draft, art_teacher, "approve")

    assert "does not teach" in await _refused(session, art_teacher_decides)
    await decide(session, draft, teacher, "approve")


async def test_releases_are_immutable_and_decided_drafts_stay_decided(session):
    from sqlalchemy import delete, update

    from beacon.approval.models import Draft, Release

    _, _, teacher, [student] = await make_class(session)
    draft = await make_draft(session, student)
    released = await release(session, draft, await decide(session, draft, teacher, "approve"))
    await session.execute(update(Draft).where(Draft.id == draft.id).values(status="approved"))

    async def rewrite_release():
        await session.execute(update(Release).where(Release.id == released.id).values(content={"feedback": "other"}))

    async def take_release_back():
        await session.execute(delete(Release).where(Release.id == released.id))

    async def approved_back_to_pending():
        await session.execute(update(Draft).where(Draft.id == draft.id).values(status="pending_review"))

    for attempt in (rewrite_release, take_release_back, approved_back_to_pending):
        message = await _refused(session, attempt)
        assert "permission denied" in message or "cannot become" in message, message

    superseded = await make_draft(session, student)
    await session.execute(update(Draft).where(Draft.id == superseded.id).values(status="superseded"))

    async def approve_superseded():
        await decide(session, superseded, teacher, "approve")

    assert "not waiting for review" in await _refused(session, approve_superseded)
