"""A person's notifications and email switches (/me/notifications), and one-click unsubscribing
from an email's link (/unsubscribe/<token>: no sign-in, RFC 8058)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse

from beacon.notifications import repository as rows
from beacon.notifications import service
from beacon.notifications.models import KINDS
from beacon.school.auth import session
from beacon.school.models import User
from beacon.text import check_form
from beacon.web import flash, i18n
from beacon.web.i18n import N_
from beacon.web.rendering import page_role, render, uuid_or_none

router = APIRouter(include_in_schema=False)
anyone = page_role("teacher", "student", "coach", "admin", "guardian")

# What each switch is called on the page, translated there.
KIND_LABELS = {"feedback_released": N_("Feedback is shared"), "ideas_approved": N_("Project ideas are approved"),
               "report_published": N_("A progress report is ready")}


@router.get("/me/notifications", response_class=HTMLResponse)
async def my_notifications(request: Request, user: User = Depends(anyone), db=Depends(session)):
    return render(request, "me_notifications.html", user=user, notifications=await rows.of_user(db, user.id),
                  email=await rows.preferences(db, user.id), labels=KIND_LABELS)


@router.post("/me/notifications")
async def save_preferences(request: Request, user: User = Depends(anyone), db=Depends(session)):
    """The switches as sent: a box left unticked is email off for that kind."""
    form = await request.form()
    check_form(form)
    await service.set_preferences(db, user.id, {kind: form.get(kind) == "on" for kind in KINDS}, how="page")
    return flash.redirect(request, "/me/notifications", notice=i18n._("Saved.", request))


@router.post("/me/notifications/{notification_id}/read")
async def read_one(notification_id: str, request: Request, user: User = Depends(anyone), db=Depends(session)):
    if (found := uuid_or_none(notification_id)) is not None:
        await rows.mark_read(db, user.id, found)
    return flash.redirect(request, "/me/notifications")


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_page(token: str, request: Request):
    """A button, not an unsubscribe: mail scanners open links, and opening must change nothing."""
    valid = service.token_owner(request.app.state.runtime.settings, token) is not None
    response = render(request, "unsubscribe.html", user=None, token=token, valid=valid, done=False)
    response.status_code = status.HTTP_200_OK if valid else status.HTTP_404_NOT_FOUND
    return response


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe(token: str, request: Request, db=Depends(session)):
    """One click (RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click", with no cookie
    and no CSRF token): no more email of any kind for the token's person; in-app stays."""
    done = await service.unsubscribe(db, request.app.state.runtime.settings, token)
    response = render(request, "unsubscribe.html", user=None, token=token, valid=done, done=done)
    response.status_code = status.HTTP_200_OK if done else status.HTTP_404_NOT_FOUND
    return response
