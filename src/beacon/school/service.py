"""Creating schools, classes and people: idempotently for seeds (get-or-create by natural key),
and as an admin's audited changes."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.db.audit import add_audit
from beacon.errors import InvalidInput, NotFound
from beacon.rubrics.repository import competencies_exist
from beacon.school import repository
from beacon.school.models import (
    Assignment,
    AssignmentCompetency,
    Enrollment,
    Guardianship,
    School,
    SchoolClass,
    StudentProfile,
    User,
)
from beacon.school.schemas import NewAssignment, NewClass, NewPerson, StudentSeed


async def ensure_school(session: AsyncSession, slug: str, name: str) -> School:
    school = await repository.school_by_slug(session, slug)
    if school is None:
        school = School(slug=slug, name=name, settings={"score_language": False})
        await repository.add(session, school)
    return school


async def ensure_user(session: AsyncSession, school: School, email: str, full_name: str, role: str) -> User:
    user = await repository.user_by_email(session, email)
    if user is None:
        user = User(school_id=school.id, email=email, full_name=full_name, role=role)
        await repository.add(session, user)
    return user


async def ensure_class(session: AsyncSession, school: School, name: str, subject: str | None = None) -> SchoolClass:
    klass = await repository.class_by_name(session, school.id, name)
    if klass is None:
        klass = SchoolClass(school_id=school.id, name=name, subject=subject)
        await repository.add(session, klass)
    return klass


async def enroll(session: AsyncSession, klass: SchoolClass, user: User, role_in_class: str) -> None:
    if await repository.enrollment(session, klass.id, user.id) is None:
        await repository.add(session, Enrollment(class_id=klass.id, user_id=user.id, role_in_class=role_in_class))


async def ensure_student(session: AsyncSession, school: School, klass: SchoolClass, seed: StudentSeed) -> User:
    student = await ensure_user(session, school, seed.email, seed.full_name, "student")
    profile = await repository.profile(session, student.id)
    if profile is None:
        profile = StudentProfile(user_id=student.id, grade=seed.grade)
        session.add(profile)
    profile.grade = seed.grade
    profile.interests = list(seed.interests)
    profile.preferred_language = seed.preferred_language
    await enroll(session, klass, student, "student")
    return student


async def ensure_guardianship(session: AsyncSession, guardian: User, student: User) -> None:
    """A roster's family link (the demo's), made once."""
    if await repository.guardianship(session, guardian.id, student.id) is None:
        await repository.add(session, Guardianship(guardian_id=guardian.id, student_id=student.id))


# --- What an admin does: every change is audited --------------------------------------------

async def _audit(session: AsyncSession, admin: User, action: str, subject_type: str, subject_id, data: dict) -> None:
    await add_audit(session, actor_id=admin.id, action=action, subject_type=subject_type,
                    subject_id=str(subject_id), data=data)


async def add_person(session: AsyncSession, admin: User, new: NewPerson, password_hash: str | None) -> User:
    if await repository.user_by_email(session, new.email) is not None:
        raise InvalidInput(f"{new.email} already has an account")
    person = User(school_id=admin.school_id, email=new.email.strip(), full_name=new.full_name.strip(),
                  role=new.role, password_hash=password_hash,
                  preferred_language=new.preferred_language if new.role != "student" else None)
    await repository.add(session, person)
    if new.role == "student":
        await repository.add(session, StudentProfile(user_id=person.id, grade=new.grade, interests=new.interests,
                                                     preferred_language=new.preferred_language))
    await _audit(session, admin, "person.added", "user", person.id, {"role": new.role, "email": person.email})
    return person


async def update_person(session: AsyncSession, admin: User, person: User, *, full_name: str | None = None,
                        grade: int | None = None, preferred_language: str | None = None) -> None:
    """A person of the admin's school as the school's records now say (a roster import): their
    name, a student's grade, their language (a student's lives in their profile). Audited with
    what changed."""
    if person.school_id != admin.school_id:
        raise NotFound(f"no person {person.id}")
    changed: dict = {}
    if full_name is not None and full_name.strip() != person.full_name:
        person.full_name = changed["full_name"] = full_name.strip()
    profile = await repository.profile(session, person.id) if person.role == "student" else None
    if grade is not None and profile is not None and profile.grade != grade:
        profile.grade = changed["grade"] = grade
    if preferred_language is not None:
        if profile is not None and profile.preferred_language != preferred_language:
            profile.preferred_language = changed["preferred_language"] = preferred_language
        elif person.role != "student" and person.preferred_language != preferred_language:
            person.preferred_language = changed["preferred_language"] = preferred_language
    if changed:
        await session.flush()
        await _audit(session, admin, "person.updated", "user", person.id, changed)


async def add_class(session: AsyncSession, admin: User, new: NewClass) -> SchoolClass:
    if await repository.class_by_name(session, admin.school_id, new.name.strip()) is not None:
        raise InvalidInput(f"there is already a class called {new.name!r}")
    klass = SchoolClass(school_id=admin.school_id, name=new.name.strip(), subject=new.subject)
    await repository.add(session, klass)
    await _audit(session, admin, "class.added", "class", klass.id, {"name": klass.name})
    return klass


async def set_membership(
    session: AsyncSession, admin: User, class_id: uuid.UUID, user_id: uuid.UUID, role_in_class: str | None
) -> None:
    """Put a person in a class as its teacher or a student, or (``None``) take them out. A class
    or person of another school is "not found"."""
    klass = await repository.get_class(session, class_id)
    person = await repository.get_user(session, user_id)
    if klass is None or klass.school_id != admin.school_id:
        raise NotFound(f"no class {class_id}")
    if person is None or person.school_id != admin.school_id:
        raise NotFound(f"no person {user_id}")
    current = await repository.enrollment(session, class_id, user_id)
    if role_in_class is None:
        if current is not None:
            await repository.remove(session, current)
            await _audit(session, admin, "class.member_removed", "class", class_id, {"user_id": str(user_id)})
        return
    # Scope follows class roles (a teacher reviews the students of classes they teach): keep them true.
    if role_in_class != person.role:
        raise InvalidInput(f"{person.full_name} is a {person.role}: they can join a class only as a {person.role}"
                           if person.role in ("teacher", "student") else f"a {person.role} does not join classes")
    if current is None:
        await repository.add(session, Enrollment(class_id=class_id, user_id=user_id, role_in_class=role_in_class))
        await _audit(session, admin, "class.member_added", "class", class_id,
                     {"user_id": str(user_id), "role_in_class": role_in_class})


async def link_guardian(session: AsyncSession, admin: User, guardian_id: uuid.UUID, student_id: uuid.UUID,
                        linked: bool = True) -> None:
    """Link a guardian to a student of the admin's school (``linked=False``: unlink). A person of
    another school is "not found"; a link between the wrong roles is refused (the schema would too)."""
    guardian = await repository.get_user(session, guardian_id)
    student = await repository.get_user(session, student_id)
    if guardian is None or guardian.school_id != admin.school_id:
        raise NotFound(f"no person {guardian_id}")
    if student is None or student.school_id != admin.school_id:
        raise NotFound(f"no person {student_id}")
    for person, role in ((guardian, "guardian"), (student, "student")):
        if person.role != role:
            raise InvalidInput(f"{person.full_name} is a {person.role}: a guardian is linked to a student")
    current = await repository.guardianship(session, guardian_id, student_id)
    if linked and current is None:
        await repository.add(session, Guardianship(guardian_id=guardian_id, student_id=student_id, linked_by=admin.id))
        await _audit(session, admin, "guardian.linked", "user", student_id, {"guardian_id": str(guardian_id)})
    elif not linked and current is not None:
        await repository.remove(session, current)
        await _audit(session, admin, "guardian.unlinked", "user", student_id, {"guardian_id": str(guardian_id)})


async def set_assignment(session: AsyncSession, teacher: User, new: NewAssignment):
    """A teacher's assignment for a class they teach (else "not found"), with its competencies."""
    try:
        class_id = uuid.UUID(new.class_id)
    except ValueError:
        raise NotFound(f"no class {new.class_id}") from None
    membership = await repository.enrollment(session, class_id, teacher.id)
    if membership is None or membership.role_in_class != "teacher":
        raise NotFound(f"no class {new.class_id}")
    unknown = sorted(set(new.competency_ids) - await competencies_exist(session, new.competency_ids))
    if unknown:
        raise InvalidInput(f"no competency {', '.join(map(repr, unknown))} (see `beacon rubrics list`)")
    assignment = Assignment(class_id=class_id, title=new.title.strip(), instructions=new.instructions.strip(),
                            created_by=teacher.id)
    await repository.add(session, assignment)
    for competency_id in dict.fromkeys(new.competency_ids):
        session.add(AssignmentCompetency(assignment_id=assignment.id, competency_id=competency_id))
    await session.flush()
    await add_audit(session, actor_id=teacher.id, action="assignment.set", subject_type="assignment",
                    subject_id=str(assignment.id), data={"class_id": str(class_id), "competencies": new.competency_ids})
    return assignment
