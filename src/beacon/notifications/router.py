"""A signed-in person's own notifications and email preferences (anyone's id but their own: 404)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, status

from beacon.notifications import repository as rows
from beacon.notifications import service
from beacon.notifications.schemas import NotificationView, Preferences
from beacon.school.auth import current_user, session
from beacon.school.models import User

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
