"""Creating schools, classes and people idempotently (get-or-create by natural key)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.school import repository
from beacon.school.models import Enrollment, School, SchoolClass, StudentProfile, User
from beacon.school.schemas import StudentSeed


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
