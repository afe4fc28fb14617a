"""A teacher invites a student's family member by email (issue 15): accepting links them to the
child as a guardian, with an account made on the way if they have none.

The link carries the invitation's id, signed with the settings' key: nothing secret is stored,
and the email job rebuilds the link from the row. The row decides what the link still does
(one-time, for ``LIFETIME``, until revoked). Only a teacher of a class the child is in invites
or revokes (anyone else: "not found"); an admin invites, in one go, the families a roster import
added who never signed in (``unclaimed``). Every step is audited; nothing here commits."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.catalogues import SOURCE, supported
from beacon.config import Settings
from beacon.db.audit import add_audit
from beacon.errors import BeaconError, InvalidInput, NotFound
from beacon.school import repository
from beacon.school.models import GuardianInvitation, Guardianship, User
from beacon.school.schemas import EMAIL

LIFETIME = timedelta(days=14)
_SALT = "beacon.guardian-invitation"
_EMAIL = re.compile(EMAIL)


class InvitationClosed(BeaconError):
    """The link was good once: the invitation was accepted, revoked or ran out (answered 410)."""

    def __init__(self, why: str, language: str | None = None) -> None:
        super().__init__(f"this invitation was {why}")
        self.why = why  # "accepted", "revoked" or "expired"
        self.language = language  # the family's, for the page that says so


def token(settings: Settings, invitation_id: uuid.UUID) -> str:
    return URLSafeSerializer(settings.signing_key(), salt=_SALT).dumps(str(invitation_id))


def link(settings: Settings, invitation_id: uuid.UUID) -> str:
    return f"{settings.app_url.rstrip('/')}/invitations/{token(settings, invitation_id)}"


def _invitation_id(settings: Settings, value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(URLSafeSerializer(settings.signing_key(), salt=_SALT).loads(value))
    except (BadSignature, ValueError, TypeError):
        return None


def state(invitation: GuardianInvitation, now: datetime | None = None) -> str:
    """"open", or why it no longer is."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= (now or datetime.now(UTC)) else "open"


async def by_token(session: AsyncSession, settings: Settings, value: str, *, lock: bool = False) -> GuardianInvitation:
    """The open invitation a link names: NotFound for a link Beacon did not sign (or a row gone),
    InvitationClosed for one accepted, revoked or expired."""
    invitation_id = _invitation_id(settings, value)
    found = await repository.invitation(session, invitation_id, lock=lock) if invitation_id else None
    if found is None:
        raise NotFound("no such invitation")
    if (why := state(found)) != "open":
        raise InvitationClosed(why, found.preferred_language)
    return found


async def _audit(session: AsyncSession, actor_id, action: str, invitation: GuardianInvitation, **data) -> None:
    await add_audit(session, actor_id=actor_id, action=action, subject_type="guardian_invitation",
                    subject_id=str(invitation.id), data={"student_id": str(invitation.student_id), **data})


async def _teacher_of(session: AsyncSession, teacher: User, student_id: uuid.UUID) -> User:
    """The child, for a teacher of theirs, or (inviting the families a roster added) an admin of
    their school; anyone else: not found."""
    if teacher.role == "admin":
        student = await repository.get_user(session, student_id)
        if student is not None and student.role == "student" and student.school_id == teacher.school_id:
            return student
    elif teacher.role == "teacher" and await repository.teaches(session, teacher.id, student_id):
        return await repository.get_user(session, student_id)
    raise NotFound(f"no student {student_id}")


async def invite(session: AsyncSession, teacher: User, student_id: uuid.UUID, email: str,
                 language: str | None) -> GuardianInvitation:
    """A new invitation; an earlier open one to the same address (a resend, or one that ran out)
    is revoked, so only the newest link works."""
    student = await _teacher_of(session, teacher, student_id)
    email = (email or "").strip()
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidInput("write the family member's email address (name@example.org)")
    existing = await repository.user_by_email(session, email)
    if existing is not None and (existing.role != "guardian" or existing.school_id != student.school_id):
        raise InvalidInput(f"{email} has a Beacon account that is not a family's of this school: ask an admin")
    # A family the roster linked but who never signed in (no password) is invited to claim it.
    if existing is not None and existing.password_hash and await repository.is_guardian_of(session, existing.id, student.id):
        raise InvalidInput(f"{email} already follows {student.full_name}")
    if (earlier := await repository.open_invitation(session, student.id, email)) is not None:
        earlier.revoked_at, earlier.revoked_by = datetime.now(UTC), teacher.id
        await session.flush()  # before the new row: the one-open index sees it closed
        await _audit(session, teacher.id, "guardian.invitation_revoked", earlier, replaced=True)
    now = datetime.now(UTC)
    invitation = GuardianInvitation(school_id=student.school_id, student_id=student.id, invited_by=teacher.id,
                                    email=email, preferred_language=supported(language) or SOURCE,
                                    created_at=now, expires_at=now + LIFETIME)
    await repository.add(session, invitation)
    await _audit(session, teacher.id, "guardian.invited", invitation, email=email,
                 language=invitation.preferred_language)
    return invitation


async def pending(session: AsyncSession, teacher: User, student_id: uuid.UUID) -> list[GuardianInvitation]:
    """The child's invitations still waiting for an answer, for a teacher of theirs."""
    await _teacher_of(session, teacher, student_id)
    return await repository.invitations_of(session, student_id)


async def revoke(session: AsyncSession, teacher: User, student_id: uuid.UUID,
                 invitation_id: uuid.UUID) -> GuardianInvitation:
    """Any teacher of the child stops an invitation (its link then answers "revoked"); once
    accepted, it is a guardianship, which an admin unlinks."""
    await _teacher_of(session, teacher, student_id)
    invitation = await repository.invitation(session, invitation_id, lock=True)
    if invitation is None or invitation.student_id != student_id:
        raise NotFound(f"no invitation {invitation_id}")
    if invitation.accepted_at is not None:
        raise InvitationClosed("accepted")
    if invitation.revoked_at is None:
        invitation.revoked_at, invitation.revoked_by = datetime.now(UTC), teacher.id
        await session.flush()
        await _audit(session, teacher.id, "guardian.invitation_revoked", invitation)
    return invitation


async def accept(session: AsyncSession, invitation: GuardianInvitation, guardian: User) -> None:
    """The invited person (a guardian whose email is the invited one) accepts: linked to the
    child, once. The row is locked, so two clicks cannot both accept."""
    invitation = await repository.invitation(session, invitation.id, lock=True)
    if (why := state(invitation)) != "open":
        raise InvitationClosed(why, invitation.preferred_language)
    if guardian.role != "guardian" or guardian.email.strip().lower() != invitation.email.lower():
        raise InvalidInput("this invitation is for another email address")
    if guardian.school_id != invitation.school_id:  # a family's account belongs to one school, as an admin's link
        raise InvalidInput("this account belongs to another school: ask the school's office")
    if await repository.guardianship(session, guardian.id, invitation.student_id) is None:
        await repository.add(session, Guardianship(guardian_id=guardian.id, student_id=invitation.student_id,
                                                   linked_by=invitation.invited_by))
        await add_audit(session, actor_id=guardian.id, action="guardian.linked", subject_type="user",
                        subject_id=str(invitation.student_id),
                        data={"guardian_id": str(guardian.id), "invitation_id": str(invitation.id)})
    invitation.accepted_at, invitation.accepted_by = datetime.now(UTC), guardian.id
    await session.flush()
    await _audit(session, guardian.id, "guardian.invitation_accepted", invitation, guardian_id=str(guardian.id))


def unclaimed(invitation: GuardianInvitation, existing: User | None) -> bool:
    """The invited address is a family account of the school that never had a password (made by
    a roster import): the invitation, which reached that address, is how they claim it."""
    return (existing is not None and existing.role == "guardian" and existing.school_id == invitation.school_id
            and not existing.password_hash)


async def join(session: AsyncSession, invitation: GuardianInvitation, full_name: str, password_hash: str,
               language: str | None) -> User:
    """A guardian account for the invited address (someone with no account yet), or the
    password of an unclaimed one, then accepted. An address with an account one signs in to
    is refused: its owner signs in to accept."""
    existing = await repository.user_by_email(session, invitation.email)
    full_name = " ".join((full_name or "").split())
    if not 1 <= len(full_name) <= 200:
        raise InvalidInput("write your name")
    if unclaimed(invitation, existing):
        existing.password_hash, existing.full_name = password_hash, full_name
        existing.preferred_language = supported(language) or existing.preferred_language
        await session.flush()
        await add_audit(session, actor_id=existing.id, action="person.claimed", subject_type="user",
                        subject_id=str(existing.id), data={"invitation_id": str(invitation.id)})
        await accept(session, invitation, existing)
        return existing
    if existing is not None:
        raise InvalidInput("this email address already has a Beacon account: sign in to accept")
    guardian = User(school_id=invitation.school_id, email=invitation.email, full_name=full_name, role="guardian",
                    password_hash=password_hash,
                    preferred_language=supported(language) or invitation.preferred_language)
    await repository.add(session, guardian)
    await add_audit(session, actor_id=guardian.id, action="person.added", subject_type="user",
                    subject_id=str(guardian.id),
                    data={"role": "guardian", "email": guardian.email, "invitation_id": str(invitation.id)})
    await accept(session, invitation, guardian)
    return guardian
