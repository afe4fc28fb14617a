"""A student's portfolio link (issue 15): a read-only link to their portfolio that opens without
signing in. The token is random and only its hash is stored; the student makes and stops links,
and so can a teacher of theirs (a link shared too widely). What the link shows is the portfolio's
released evidence (mastery/portfolio_view.py, web/portfolio_pages.py): never a draft, a flag, a
goal, a reflection, or another student."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.db.audit import add_audit
from beacon.errors import NotFound
from beacon.mastery import repository
from beacon.mastery.models import PortfolioLink
from beacon.school import repository as school
from beacon.school.models import User

MAX_OPEN_LINKS = 5  # a few (one for a family member, one for an interview), not one per visitor


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def open_links(session: AsyncSession, student_id: uuid.UUID) -> list[PortfolioLink]:
    return await repository.open_portfolio_links(session, student_id)


async def make_link(session: AsyncSession, student: User) -> tuple[PortfolioLink, str]:
    """A new link for the student: the row and the token, which is never stored and never shown again.
    Past the limit the oldest open link stops, so links cannot pile up unnoticed."""
    existing = await open_links(session, student.id)
    for old in existing[:max(0, len(existing) - MAX_OPEN_LINKS + 1)]:
        old.revoked_at, old.revoked_by = datetime.now(timezone.utc), student.id
    token = secrets.token_urlsafe(32)
    link = PortfolioLink(student_id=student.id, token_hash=_hashed(token))
    session.add(link)
    await session.flush()
    await add_audit(session, actor_id=student.id, action="portfolio.link_made", subject_type="student",
                    subject_id=str(student.id), data={"link_id": str(link.id)})
    return link, token


async def student_of(session: AsyncSession, token: str) -> User | None:
    """Whose portfolio an open link shows; None for a revoked, unknown or malformed token."""
    if not token or len(token) > 100:
        return None
    link = await repository.open_portfolio_link_by_hash(session, _hashed(token))
    if link is None:
        return None
    student = await school.get_user(session, link.student_id)
    return student if student is not None and student.role == "student" else None


async def may_manage(session: AsyncSession, user: User, student_id: uuid.UUID) -> bool:
    """The student themselves, or a teacher of theirs."""
    if user.role == "student":
        return user.id == student_id
    return user.role == "teacher" and await school.teaches(session, user.id, student_id)


async def revoke_link(session: AsyncSession, user: User, link_id: uuid.UUID) -> PortfolioLink:
    """Stop a link: the student's own, or one of a student this teacher teaches (else not found)."""
    link = await repository.portfolio_link_for_update(session, link_id)
    if link is None or not await may_manage(session, user, link.student_id):
        raise NotFound("portfolio link")
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = datetime.now(timezone.utc), user.id
        await add_audit(session, actor_id=user.id, action="portfolio.link_revoked", subject_type="student",
                        subject_id=str(link.student_id), data={"link_id": str(link.id)})
    return link
