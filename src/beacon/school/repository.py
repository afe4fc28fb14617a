"""Every query the school domain makes."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from beacon.school.models import (
    Assignment,
    AssignmentCompetency,
    Enrollment,
    GuardianInvitation,
    Guardianship,
    School,
    SchoolClass,
    SignInThrottle,
    StudentProfile,
    User,
    UserSession,
)


async def school_by_slug(session: AsyncSession, slug: str) -> School | None:
    return await session.scalar(select(School).where(School.slug == slug))


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def class_by_name(session: AsyncSession, school_id: uuid.UUID, name: str) -> SchoolClass | None:
    return await session.scalar(
        select(SchoolClass).where(SchoolClass.school_id == school_id, SchoolClass.name == name)
    )


async def enrollment(session: AsyncSession, class_id: uuid.UUID, user_id: uuid.UUID) -> Enrollment | None:
    return await session.get(Enrollment, (class_id, user_id))


async def profile(session: AsyncSession, user_id: uuid.UUID) -> StudentProfile | None:
    return await session.get(StudentProfile, user_id)


async def add(session: AsyncSession, row) -> None:
    session.add(row)
    await session.flush()


async def assignment_competencies(session: AsyncSession, assignment_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(AssignmentCompetency.competency_id).where(AssignmentCompetency.assignment_id == assignment_id)
    )
    return list(rows.all())


async def roster_of(session: AsyncSession, student_id: uuid.UUID) -> list[tuple[User, str]]:
    """Everyone sharing a class with the student: (user, role in class), teachers first."""
    mine = select(Enrollment.class_id).where(Enrollment.user_id == student_id)
    rows = await session.execute(
        select(User, Enrollment.role_in_class)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.class_id.in_(mine))
        .order_by(Enrollment.role_in_class.desc(), Enrollment.created_at, User.id)
    )
    seen: dict[uuid.UUID, tuple[User, str]] = {}
    for user, role in rows.all():  # a person in two shared classes appears once
        seen.setdefault(user.id, (user, role))
    return list(seen.values())


async def people_around(session: AsyncSession, student_id: uuid.UUID) -> list[tuple[User, str]]:
    """``roster_of``, with the student in it even when enrolled nowhere: everyone whose name a
    workflow must keep from a model provider."""
    roster = await roster_of(session, student_id)
    if not any(u.id == student_id for u, _ in roster):
        roster.append((await session.get(User, student_id), "student"))
    return roster


async def teaches(session: AsyncSession, teacher_id: uuid.UUID, student_id: uuid.UUID) -> bool:
    from sqlalchemy import and_
    from sqlalchemy.orm import aliased

    t, s = aliased(Enrollment), aliased(Enrollment)
    found = await session.scalar(
        select(t.class_id)
        .join(s, and_(s.class_id == t.class_id, s.user_id == student_id, s.role_in_class == "student"))
        .where(t.user_id == teacher_id, t.role_in_class == "teacher")
        .limit(1)
    )
    return found is not None


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def assignments_taught(session: AsyncSession, teacher_id: uuid.UUID):
    rows = await session.scalars(
        select(Assignment)
        .join(Enrollment, Enrollment.class_id == Assignment.class_id)
        .where(Enrollment.user_id == teacher_id, Enrollment.role_in_class == "teacher")
        .order_by(Assignment.created_at.desc())
    )
    return list(rows.all())


async def people_of_school(session: AsyncSession, school_id: uuid.UUID) -> list[User]:
    rows = await session.scalars(select(User).where(User.school_id == school_id).order_by(User.role, User.full_name))
    return list(rows.all())


async def classes_of_school(session: AsyncSession, school_id: uuid.UUID) -> list[tuple[SchoolClass, list[tuple[User, str]]]]:
    """Each class of the school with its members (user, role in class), teachers first."""
    classes = list((await session.scalars(
        select(SchoolClass).where(SchoolClass.school_id == school_id).order_by(SchoolClass.name)
    )).all())
    rows = await session.execute(
        select(Enrollment.class_id, User, Enrollment.role_in_class)
        .join(User, User.id == Enrollment.user_id)
        .where(Enrollment.class_id.in_([c.id for c in classes]))
        .order_by(Enrollment.role_in_class.desc(), User.full_name)
    )
    members: dict[uuid.UUID, list[tuple[User, str]]] = {c.id: [] for c in classes}
    for class_id, user, role in rows.all():
        members[class_id].append((user, role))
    return [(c, members[c.id]) for c in classes]


async def get_class(session: AsyncSession, class_id: uuid.UUID) -> SchoolClass | None:
    return await session.get(SchoolClass, class_id)


async def remove(session: AsyncSession, row) -> None:
    await session.delete(row)
    await session.flush()


async def assignment_for_student(session: AsyncSession, assignment_id: uuid.UUID, student_id: uuid.UUID):
    """The assignment if this student may hand work in for it: their own (a started project) or
    one of a class they are in."""
    from sqlalchemy import or_


    mine = _student_classes(student_id)
    return await session.scalar(
        select(Assignment).where(
            Assignment.id == assignment_id,
            or_(Assignment.student_id == student_id,
                Assignment.student_id.is_(None) & Assignment.class_id.in_(mine)),
        )
    )


async def assignments_for_student(session: AsyncSession, student_id: uuid.UUID):
    """What a student can hand work in for: their classes' assignments and their own projects."""
    from sqlalchemy import or_


    mine = _student_classes(student_id)
    rows = await session.scalars(
        select(Assignment)
        .where(or_(Assignment.student_id == student_id,
                   Assignment.student_id.is_(None) & Assignment.class_id.in_(mine)))
        .order_by(Assignment.created_at.desc())
    )
    return list(rows.all())


# --- Sessions and sign-in throttling ---------------------------------------------------------

async def user_of_session(session: AsyncSession, session_id: uuid.UUID) -> User | None:
    """The user of a live session (not revoked, not expired), in one query. Session ids are not
    readable by the app role: a function finds the session."""
    return await session.scalar(select(User).where(User.id == func.beacon_session_user(session_id)))


async def revoke_sessions(session: AsyncSession, user_id: uuid.UUID, *, only: uuid.UUID | None = None,
                          keep: uuid.UUID | None = None) -> int:
    """Sign out ``only`` that session, or every session of the user but ``keep``; how many."""
    return await session.scalar(select(func.beacon_revoke_sessions(user_id, only, keep)))


async def open_session(session: AsyncSession, user_id: uuid.UUID, kind: str, expires_at) -> uuid.UUID:
    """A new session's id (made here: the app role cannot read session ids back)."""
    session_id = uuid.uuid4()
    await session.execute(insert(UserSession).values(id=session_id, user_id=user_id, kind=kind, expires_at=expires_at))
    return session_id


async def throttle_row(session: AsyncSession, key: str):
    """The throttle row for a key, created if missing, locked for this transaction."""
    await session.execute(insert(SignInThrottle).values(key=key, failures=0).on_conflict_do_nothing(index_elements=["key"]))
    return await session.scalar(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update())


async def clear_throttle(session: AsyncSession, key: str) -> None:
    await session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))


async def names_in_school(session: AsyncSession, school_id: uuid.UUID) -> list[str]:
    """Everyone's full name in a school: what a comment meant for reuse must not contain."""
    rows = await session.scalars(select(User.full_name).where(User.school_id == school_id))
    return list(rows.all())


async def classes_of_student(session: AsyncSession, student_id: uuid.UUID) -> list[uuid.UUID]:
    """The classes a student is in now: whose teachers review what they hand in."""
    return list((await session.scalars(_student_classes(student_id).order_by(Enrollment.class_id))).all())


def _student_classes(student_id: uuid.UUID):
    return select(Enrollment.class_id).where(Enrollment.user_id == student_id, Enrollment.role_in_class == "student")


async def prune_throttle(session: AsyncSession) -> int:
    """Forget sign-in failure counts older than a day with no lock running."""
    result = await session.execute(delete(SignInThrottle).where(
        SignInThrottle.window_started_at < func.now() - text("interval '1 day'"),
        or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until < func.now())))
    return result.rowcount


async def guardianship(session: AsyncSession, guardian_id: uuid.UUID, student_id: uuid.UUID) -> Guardianship | None:
    return await session.get(Guardianship, (guardian_id, student_id))


async def is_guardian_of(session: AsyncSession, guardian_id: uuid.UUID, student_id: uuid.UUID) -> bool:
    return await guardianship(session, guardian_id, student_id) is not None


async def children_of(session: AsyncSession, guardian_id: uuid.UUID) -> list[User]:
    """The students a guardian is linked to, by name."""
    rows = await session.scalars(select(User).join(Guardianship, Guardianship.student_id == User.id)
                                 .where(Guardianship.guardian_id == guardian_id).order_by(User.full_name, User.id))
    return list(rows.all())


async def guardians_of(session: AsyncSession, student_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, User]]:
    """(student id, guardian) for these students."""
    rows = await session.execute(select(Guardianship.student_id, User).join(User, User.id == Guardianship.guardian_id)
                                 .where(Guardianship.student_id.in_(student_ids)).order_by(User.full_name))
    return [tuple(r) for r in rows.all()]


async def preferred_language(session: AsyncSession, user: User) -> str | None:
    """The language a person reads Beacon in: a student's profile's, anyone else's own (a
    guardian's may differ from their child's); None if they never said."""
    if user.role == "student" and (found := await profile(session, user.id)) is not None:
        return found.preferred_language
    return user.preferred_language


# --- Roster import ---------------------------------------------------------------------------

async def users_by_emails(session: AsyncSession, emails: list[str]) -> dict[str, User]:
    """Everyone with one of these emails (in any school), by lower-cased email."""
    wanted = sorted({e.lower() for e in emails})
    rows = await session.scalars(select(User).where(func.lower(User.email).in_(wanted))) if wanted else []
    return {u.email.lower(): u for u in rows}


async def classes_by_names(session: AsyncSession, school_id: uuid.UUID, names: list[str]) -> dict[str, SchoolClass]:
    rows = await session.scalars(select(SchoolClass).where(SchoolClass.school_id == school_id,
                                                           SchoolClass.name.in_(sorted(set(names))))) if names else []
    return {c.name: c for c in rows}


async def lock_roster(session: AsyncSession, school_id: uuid.UUID) -> None:
    """One roster import at a time per school, until this transaction ends: two at once would both
    find an email free and the second would fail on the unique index."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('roster:' || :school))"),
                          {"school": str(school_id)})


# --- Guardian invitations --------------------------------------------------------------------

async def invitation(session: AsyncSession, invitation_id: uuid.UUID, *, lock: bool = False) -> GuardianInvitation | None:
    """An invitation; ``lock``: held for this transaction (accepting it is one-time)."""
    query = select(GuardianInvitation).where(GuardianInvitation.id == invitation_id)
    return await session.scalar(query.with_for_update() if lock else query)


async def open_invitation(session: AsyncSession, student_id: uuid.UUID, email: str) -> GuardianInvitation | None:
    """The child's invitation to that address not yet accepted or revoked (expired or not)."""
    return await session.scalar(select(GuardianInvitation).where(
        GuardianInvitation.student_id == student_id, func.lower(GuardianInvitation.email) == email.lower(),
        GuardianInvitation.accepted_at.is_(None), GuardianInvitation.revoked_at.is_(None)).with_for_update())


async def invitations_of(session: AsyncSession, student_id: uuid.UUID, *, pending: bool = True) -> list[GuardianInvitation]:
    """A child's invitations, newest first; ``pending``: only those still waiting for an answer."""
    query = select(GuardianInvitation).where(GuardianInvitation.student_id == student_id)
    if pending:
        query = query.where(GuardianInvitation.accepted_at.is_(None), GuardianInvitation.revoked_at.is_(None),
                            GuardianInvitation.expires_at > func.now())
    rows = await session.scalars(query.order_by(GuardianInvitation.created_at.desc(), GuardianInvitation.id))
    return list(rows.all())


async def unclaimed_families(session: AsyncSession, school_id: uuid.UUID) -> list[tuple[User, User]]:
    """(guardian, their first child by name) for each family account of the school that never had
    a password (a roster import made it) and has no invitation still open: who to invite to claim it."""
    open_ = (select(GuardianInvitation.id).where(
        func.lower(GuardianInvitation.email) == func.lower(User.email), GuardianInvitation.accepted_at.is_(None),
        GuardianInvitation.revoked_at.is_(None), GuardianInvitation.expires_at > func.now()).exists())
    child = aliased(User)
    rows = await session.execute(
        select(User, child).join(Guardianship, Guardianship.guardian_id == User.id)
        .join(child, child.id == Guardianship.student_id)
        .where(User.school_id == school_id, User.role == "guardian", User.password_hash.is_(None), ~open_)
        .order_by(User.full_name, User.id, child.full_name, child.id))
    first: dict[uuid.UUID, tuple[User, User]] = {}
    for guardian, student in rows.all():
        first.setdefault(guardian.id, (guardian, student))
    return list(first.values())
