"""A signed-in person's own notifications and email preferences (anyone's id but their own: 404);
a teacher's invitations of a student's family (here, not in school/: inviting queues the email)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from beacon.errors import InvalidInput, NotFound
from beacon.notifications import repository as rows
from beacon.notifications import service
from beacon.notifications.schemas import NotificationView, Preferences
from beacon.school import invitations
from beacon.school.auth import current_user, require, session
from beacon.school.models import GuardianInvitation, User

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get("")
async def mine(user: User = Depends(current_user), db=Depends(session)) -> list[NotificationView]:
    """Newest first; ``read_at`` null while unread."""
    return [NotificationView.of(n) for n in await rows.of_user(db, user.id)]


@router.get("/preferences")
async def preferences(user: User = Depends(current_user), db=Depends(session)) -> dict:
    return {"email": await rows.preferences(db, user.id)}


@router.put("/preferences")
async def set_preferences(body: Preferences, user: User = Depends(current_user), db=Depends(session)) -> dict:
    return {"email": await service.set_preferences(db, user.id, body.email.chosen(), how="api")}


@router.post("/{notification_id}/read")
async def read(notification_id: uuid.UUID, user: User = Depends(current_user), db=Depends(session)) -> dict:
    if not await rows.mark_read(db, user.id, notification_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return {"id": str(notification_id), "read": True}


# --- A teacher invites a student's family -----------------------------------------------------

invitations_router = APIRouter(prefix="/api/v1/teacher/students/{student_id}/guardian-invitations",
                               tags=["guardians"])
teacher = require("teacher")


class NewInvitation(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    preferred_language: str = Field(default="en", min_length=2, max_length=16)


def _invitation_view(invitation: GuardianInvitation, link: str | None = None) -> dict:
    view = {"id": str(invitation.id), "email": invitation.email, "preferred_language": invitation.preferred_language,
            "created_at": invitation.created_at.isoformat(), "expires_at": invitation.expires_at.isoformat(),
            "state": invitations.state(invitation)}
    return view | ({"link": link} if link else {})


@invitations_router.post("", status_code=status.HTTP_201_CREATED)
async def invite(student_id: uuid.UUID, new: NewInvitation, request: Request, user: User = Depends(teacher),
                 db=Depends(session)) -> dict:
    """Invite a family member of a student you teach: emailed with its link (valid 14 days,
    once); with no mail server, ``link`` is in the answer for you to pass on."""
    try:
        invitation, link = await service.invite_guardian(db, request.app.state.runtime.settings, user, student_id,
                                                         new.email, new.preferred_language)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return _invitation_view(invitation, link)


@invitations_router.get("")
async def pending(student_id: uuid.UUID, user: User = Depends(teacher), db=Depends(session)) -> list[dict]:
    """The student's invitations still waiting for an answer, newest first."""
    try:
        return [_invitation_view(i) for i in await invitations.pending(db, user, student_id)]
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None


@invitations_router.post("/{invitation_id}/revoke")
async def revoke(student_id: uuid.UUID, invitation_id: uuid.UUID, user: User = Depends(teacher),
                 db=Depends(session)) -> dict:
    """Stop an invitation: its link answers 410 from now on (an accepted one: 409)."""
    try:
        invitation = await invitations.revoke(db, user, student_id, invitation_id)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except invitations.InvitationClosed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _invitation_view(invitation)


# --- An admin invites the families a roster import added ---------------------------------------

admin_invitations_router = APIRouter(prefix="/api/v1/admin/guardian-invitations", tags=["guardians"])
admin = require("admin")


@admin_invitations_router.post("")
async def invite_unclaimed(request: Request, user: User = Depends(admin), db=Depends(session)) -> dict:
    """Email every family account of your school that never signed in (a roster import made it,
    no invitation is open) an invitation to claim it: ``invited``, how many. Needs a mail server
    (422 without one)."""
    try:
        invited = await service.invite_unclaimed_families(db, request.app.state.runtime.settings, user)
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"invited": invited}
