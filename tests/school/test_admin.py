"""An admin manages people and classes of their own school, and every change is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from beacon.db.audit import AuditEvent
from beacon.errors import InvalidInput, NotFound
from beacon.school import repository
from beacon.school import service as school
from beacon.school.schemas import NewClass, NewPerson
from tests.factories import acting_as, make_class


async def _admin(session, sch):
    return await school.ensure_user(session, sch, f"admin-{sch.slug}@example.org", "Ada Admin", "admin")


async def test_admin_adds_people_and_classes_and_each_change_is_audited(session):
    sch, klass, teacher, (ana,) = await make_class(session)
    admin = await _admin(session, sch)
    async with acting_as(session, admin):  # as in a request the admin signed in to
        pupil = await school.add_person(session, admin, NewPerson(full_name="Noor Haddad", email=f"noor-{sch.slug}@example.org",
                                                                  role="student", grade=6, interests=["robots"]), "hash")
        assert (await repository.profile(session, pupil.id)).interests == ["robots"]
        seminar = await school.add_class(session, admin, NewClass(name="Seminar", subject="History"))
        await school.set_membership(session, admin, seminar.id, pupil.id, "student")
        await school.set_membership(session, admin, seminar.id, pupil.id, "student")  # twice: one membership
        await school.set_membership(session, admin, seminar.id, teacher.id, "teacher")
        members = dict((c.name, [(u.full_name, r) for u, r in m]) for c, m in await repository.classes_of_school(session, sch.id))
        assert members["Seminar"] == [("Tess Teacher", "teacher"), ("Noor Haddad", "student")]
        assert await repository.teaches(session, teacher.id, pupil.id)
        await school.set_membership(session, admin, seminar.id, pupil.id, None)
        assert not await repository.teaches(session, teacher.id, pupil.id)

    actions = (await session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == admin.id).order_by(AuditEvent.id))).all()
    assert actions == ["person.added", "class.added", "class.member_added", "class.member_added", "class.member_removed"]


async def test_admin_changes_that_would_break_scope_are_refused(session):
    sch, klass, teacher, (ana,) = await make_class(session)
    other_school, other_class, other_teacher, (outsider,) = await make_class(session)
    admin = await _admin(session, sch)
    with pytest.raises(InvalidInput, match="already has an account"):
        await school.add_person(session, admin, NewPerson(full_name="Copy", email=ana.email.upper(), role="teacher"), None)
    with pytest.raises(InvalidInput, match="already a class"):
        await school.add_class(session, admin, NewClass(name=klass.name))
    # A student cannot become a class's teacher (they would see classmates' drafts), nor the reverse.
    with pytest.raises(InvalidInput, match="only as a student"):
        await school.set_membership(session, admin, klass.id, ana.id, "teacher")
    with pytest.raises(InvalidInput, match="only as a teacher"):
        await school.set_membership(session, admin, klass.id, teacher.id, "student")
    # Another school's class or person: not found.
    with pytest.raises(NotFound):
        await school.set_membership(session, admin, other_class.id, ana.id, "student")
    with pytest.raises(NotFound):
        await school.set_membership(session, admin, klass.id, outsider.id, "student")
    with pytest.raises(ValueError, match="grade"):
        NewPerson(full_name="No Grade", email="ng@example.org", role="student")
