"""Every query the school domain makes."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.school.models import Enrollment, School, SchoolClass, StudentProfile, User


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
