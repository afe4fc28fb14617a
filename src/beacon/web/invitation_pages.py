"""A family's invitation (issue 15): a teacher invites a family member from the student's page
on the record; the invited person opens /invitations/<token> (from the email, or a link the
teacher passed on) in the invitation's language. Signed in as the guardian with that address:
one button accepts. Signed out: they make their guardian account for that address, which signs
them in. An address with another kind of account is refused; a link Beacon did not sign is 404,
one accepted, revoked or expired is 410. Posting here counts as a sign-in (web/limits.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from beacon.catalogues import LANGUAGES, SOURCE
from beacon.errors import InvalidInput, NotFound
from beacon.notifications import service as notifications
from beacon.school import accounts, invitations
from beacon.school import repository as school
from beacon.school.auth import (
    SESSION_COOKIE,
    current_user,
    hash_password_off_loop,
    read_session,
    session,
    session_cookie,
)
from beacon.school.models import GuardianInvitation, School, User
from beacon.text import check_form, first_name
from beacon.web import flash
from beacon.web.i18n import N_, _
from beacon.web.rendering import render, safe_next, teacher

router = APIRouter(include_in_schema=False)

PASSWORD_MIN, PASSWORD_MAX = 8, 200  # as an admin's NewPerson and a password change
LANGUAGE_NAMES = {"en": "English", "es": "Español"}  # each in itself: a family picks theirs
CLOSED = {"accepted": N_("This invitation was already accepted. Sign in to follow your child's progress."),
          "revoked": N_("This invitation was withdrawn. Ask the teacher for a new one."),
          "expired": N_("This invitation has expired. Ask the teacher for a new one.")}


async def _signed_in(request: Request) -> User | None:
    """Whoever this browser is signed in as, if anyone (a POST's CSRF token checked)."""
    if read_session(request) is None:
        return None
    try:
        return await current_user(request)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            return None
        raise


def _closed_page(request: Request, closed: invitations.InvitationClosed | None) -> HTMLResponse:
    """404 for a link Beacon never made, 410 (in the family's language) for one good once."""
    why = closed.why if closed else None
    if closed and closed.language:
        request.state.lang = closed.language
    message = _(CLOSED[why], request) if why else _("This invitation link is not valid.", request)
    response = render(request, "guardian_invitation.html", user=None, closed=message)
    response.status_code = status.HTTP_410_GONE if why else status.HTTP_404_NOT_FOUND
    return response


async def _context(db, request: Request, token: str) -> dict:
    """The open invitation of ``token`` and what its page says (NotFound / InvitationClosed)."""
    invitation = await invitations.by_token(db, request.app.state.runtime.settings, token)
    request.state.lang = invitation.preferred_language  # the page reads in the family's language
    child = await school.get_user(db, invitation.student_id)
    inviter = await school.get_user(db, invitation.invited_by) if invitation.invited_by else None
    where = await db.get(School, invitation.school_id)
    return {"invitation": invitation, "child": first_name(child.full_name), "school_name": where.name,
            "teacher_name": inviter.full_name if inviter else where.name, "token": token,
            "existing": await school.user_by_email(db, invitation.email), "languages": LANGUAGE_NAMES}


def _page(request: Request, context: dict, user: User | None, *, error: str | None = None,
          code: int = status.HTTP_200_OK, **more) -> HTMLResponse:
    invitation: GuardianInvitation = context["invitation"]
    existing = context["existing"]
    mine = user is not None and user.role == "guardian" and user.email.lower() == invitation.email.lower()
    refused = existing is not None and existing.role != "guardian"
    claim = invitations.unclaimed(invitation, existing)
    if claim and not more.get("full_name"):
        more["full_name"] = existing.full_name  # as the school's roster has it: theirs to correct
    response = render(request, "guardian_invitation.html", user=user, error=error, closed=None, mine=mine,
                      someone_else=user is not None and not mine, refused=refused, claim=claim,
                      has_account=existing is not None and not refused and not claim, **context, **more)
    response.status_code = status.HTTP_409_CONFLICT if refused and code == 200 else code
    return response


async def _open(request: Request, token: str) -> dict | HTMLResponse:
    """The open invitation's page context, or the page saying the link is not (or no longer) good."""
    async with request.app.state.runtime.db.transaction() as db:
        try:
            return await _context(db, request, token)
        except NotFound:
            return _closed_page(request, None)
        except invitations.InvitationClosed as exc:
            return _closed_page(request, exc)


@router.get("/invitations/{token}", response_class=HTMLResponse)
async def invitation_page(token: str, request: Request):
    user = await _signed_in(request)
    context = await _open(request, token)
    if isinstance(context, HTMLResponse):
        return context
    return _page(request, context, user, full_name="", language=context["invitation"].preferred_language)


@router.post("/invitations/{token}", response_class=HTMLResponse)
async def accept_invitation(token: str, request: Request):
    """Accept as the signed-in guardian, or make the guardian account and accept (then signed in)."""
    user = await _signed_in(request)
    form = await request.form()
    check_form(form)
    db_ = request.app.state.runtime.db
    context = await _open(request, token)
    if isinstance(context, HTMLResponse):
        return context
    full_name = str(form.get("full_name") or "")[:200]
    language = str(form.get("preferred_language") or "")
    language = language if language in LANGUAGES or language == SOURCE else context["invitation"].preferred_language
    if user is not None:
        if user.role != "guardian" or user.email.lower() != context["invitation"].email.lower():
            return _page(request, context, user, code=status.HTTP_403_FORBIDDEN)
        async with db_.transaction() as db:
            try:
                await invitations.accept(db, context["invitation"], user)
            except invitations.InvitationClosed as exc:
                return _closed_page(request, exc)
            except InvalidInput:  # an account of another school
                return _page(request, context, user, code=status.HTTP_403_FORBIDDEN, error=_(
                    "This account cannot accept this invitation. Ask the school's office.", request))
        return flash.redirect(request, "/guardian", notice=_("You now follow %(child)s's progress.", request,
                                                              child=context["child"]))
    if context["existing"] is not None and not invitations.unclaimed(context["invitation"], context["existing"]):
        # signing in comes first (or, for staff, an admin)
        return _page(request, context, None, code=status.HTTP_409_CONFLICT)
    password = str(form.get("password") or "")
    error = (_("Write your name.", request) if not full_name.strip() else
             _("The password needs at least %(n)s characters.", request, n=PASSWORD_MIN)
             if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX else None)
    if error:
        return _page(request, context, None, error=error, code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                     full_name=full_name, language=language)
    password_hash = await hash_password_off_loop(password)  # argon2, off the event loop
    max_age = request.app.state.runtime.settings.token_max_age_s
    async with db_.transaction() as db:
        try:
            invitation = await invitations.by_token(db, request.app.state.runtime.settings, token, lock=True)
            guardian = await invitations.join(db, invitation, full_name, password_hash, language)
        except invitations.InvitationClosed as exc:
            return _closed_page(request, exc)
        except InvalidInput:  # an account for the address was made meanwhile
            return _page(request, context, None, code=status.HTTP_409_CONFLICT)
        opened = await accounts.open_session(db, guardian, "cookie", max_age)
    request.state.lang = guardian.preferred_language
    response = flash.redirect(request, "/guardian", notice=_("Welcome. You now follow %(child)s's progress.",
                                                              request, child=context["child"]))
    response.set_cookie(SESSION_COOKIE, session_cookie(request, opened), httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=max_age)
    return response


# --- The teacher's side: on the student's page on the record -------------------------------

def _back(form, student_id: uuid.UUID) -> str:
    """Back to the teacher page the form was on (only one of Beacon's own teacher pages)."""
    back = safe_next(str(form.get("back") or ""))
    if not back or not back.startswith("/teacher/"):
        back = "/teacher/mastery"
    return back.split("#")[0] + "#family-invitations"


@router.post("/teacher/students/{student_id}/guardian-invitations")
async def invite_family(student_id: uuid.UUID, request: Request, user: User = Depends(teacher), db=Depends(session)):
    form = await request.form()
    settings = request.app.state.runtime.settings
    try:
        invitation, link = await notifications.invite_guardian(db, settings, user, student_id,
                                                               str(form.get("email") or "")[:400],
                                                               str(form.get("preferred_language") or ""))
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except InvalidInput as exc:
        return flash.redirect(request, _back(form, student_id), error=str(exc))
    if link:  # no mail server: the teacher passes the link on
        return flash.redirect(request, _back(form, student_id),
                              notice=f"No email is set up: send {invitation.email} this link yourself: {link}")
    return flash.redirect(request, _back(form, student_id), notice=f"Invitation emailed to {invitation.email}.")


@router.post("/teacher/students/{student_id}/guardian-invitations/{invitation_id}/revoke")
async def revoke_invitation(student_id: uuid.UUID, invitation_id: uuid.UUID, request: Request,
                            user: User = Depends(teacher), db=Depends(session)):
    form = await request.form()
    try:
        invitation = await invitations.revoke(db, user, student_id, invitation_id)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    except invitations.InvitationClosed:
        return flash.redirect(request, _back(form, student_id), error="That invitation was already accepted.")
    return flash.redirect(request, _back(form, student_id),
                          notice=f"The invitation to {invitation.email} no longer opens.")

