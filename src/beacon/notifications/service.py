"""Who hears of what: a release tells its student and each of their guardians, in-app at once (in
the decision's transaction) and by email in one job deferred in that same transaction; an email
goes only to those who want that kind, and only when SMTP is configured."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import make_msgid

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.config import Settings
from beacon.db.audit import add_audit
from beacon.errors import InvalidInput
from beacon.jobs import defer_in
from beacon.notifications import messages
from beacon.notifications import repository as rows
from beacon.notifications.models import KINDS, Notification
from beacon.school import invitations
from beacon.school import repository as school
from beacon.school.models import GuardianInvitation, School, User
from beacon.text import first_name

QUEUE = "notifications"
SEND_TASK = "beacon:send_notifications"
INVITATION_TASK = "beacon:send_invitation"
_UNSUBSCRIBE_SALT = "beacon.unsubscribe"


async def language_of(session: AsyncSession, user: User) -> str:
    """The language a person's emails are written in (English where there is no catalogue)."""
    return messages.supported(await school.preferred_language(session, user))


async def _recipients(session: AsyncSession, student_id: uuid.UUID) -> list[tuple[User, User | None]]:
    """(person, the child they hear about or None): the student, then each linked guardian."""
    student = await school.get_user(session, student_id)
    return [(student, None)] + [(guardian, student) for _id, guardian in await school.guardians_of(session, [student_id])]


async def notify_release(session: AsyncSession, *, release_id: uuid.UUID, student_id: uuid.UUID, kind: str,
                         title: str | None) -> list[uuid.UUID]:
    """In the release's transaction: a notification for the student and each guardian, and one
    job to email them. ``kind``: the draft's ("feedback" or "project"); ``title``: the work's
    (the student's own words, shown only to them)."""
    what = "feedback_released" if kind == "feedback" else "ideas_approved"
    added = []
    for person, child in await _recipients(session, student_id):
        lang = await language_of(session, person)
        if child is None:
            link = f"/student/releases/{release_id}" if kind == "feedback" else f"/student/projects/{release_id}"
            line = messages.subject(what, lang, title=title)
        else:
            link = f"/guardian/children/{child.id}/releases/{release_id}"
            line = messages.subject(what, lang, child=first_name(child.full_name))
        if (new := await rows.add_once(session, user_id=person.id, kind=what, subject=line, link=link,
                                       reference=f"release:{release_id}", release_id=release_id)) is not None:
            added.append(new)
    await queue_emails(session, added, lock=f"notify:release:{release_id}")
    return added


async def notify_report(session: AsyncSession, *, class_id: uuid.UUID, student_ids: list[uuid.UUID],
                        start: str, end: str, published: dict[uuid.UUID, uuid.UUID] | None = None) -> list[uuid.UUID]:
    """A class's reports for a period published: each student and each of their guardians hears
    that theirs is ready (once per period, however often it is published), with one email job.
    ``published``: each student's frozen report (its page is the link), else the live period's."""
    period = f"from={start}&to={end}"
    published = published or {}
    added = []
    for student_id in student_ids:
        frozen = published.get(student_id)
        for person, child in await _recipients(session, student_id):
            lang = await language_of(session, person)
            if child is None:
                link = f"/student/reports/{frozen}" if frozen else f"/student/report?{period}"
                line = messages.subject("report_published", lang)
            else:
                link = (f"/guardian/children/{child.id}/reports/{frozen}" if frozen
                        else f"/guardian/children/{child.id}/report?{period}")
                line = messages.subject("report_published", lang, child=first_name(child.full_name))
            if (new := await rows.add_once(session, user_id=person.id, kind="report_published", subject=line,
                                           link=link, reference=f"report:{class_id}:{start}:{end}")) is not None:
                added.append(new)
    await queue_emails(session, added, lock=f"notify:report:{class_id}:{start}:{end}")
    return added


async def queue_emails(session: AsyncSession, notification_ids: list[uuid.UUID], *, lock: str) -> None:
    """One job for these notifications' emails, in the caller's transaction (never lost)."""
    if notification_ids:
        await defer_in(session, SEND_TASK, lock, queue=QUEUE, notification_ids=[str(i) for i in notification_ids])


# --- Unsubscribing ---------------------------------------------------------------------------

def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.signing_key(), salt=_UNSUBSCRIBE_SALT)


def unsubscribe_token(settings: Settings, user_id: uuid.UUID) -> str:
    """Signed, without expiry: the link in an old email keeps working (it can only stop emails)."""
    return _serializer(settings).dumps(str(user_id))


def token_owner(settings: Settings, token: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(_serializer(settings).loads(token))
    except (BadSignature, ValueError, TypeError):
        return None


async def set_preferences(session: AsyncSession, user_id: uuid.UUID, email: dict[str, bool], *,
                          how: str) -> dict[str, bool]:
    """Change which kinds a person is emailed about, audited (``how``: "page", "api", "unsubscribe")."""
    before = await rows.preferences(session, user_id)
    after = await rows.set_preferences(session, user_id, email)
    if after != before:
        await add_audit(session, actor_id=user_id, action="notifications.preferences", subject_type="user",
                        subject_id=str(user_id), data={"email": after, "how": how})
    return after


async def unsubscribe(session: AsyncSession, settings: Settings, token: str) -> bool:
    """One click: no more email of any kind for the token's person (in-app stays). False for a
    token Beacon did not sign."""
    user_id = token_owner(settings, token)
    if user_id is None or await school.get_user(session, user_id) is None:
        return False
    await set_preferences(session, user_id, dict.fromkeys(KINDS, False), how="unsubscribe")
    return True


# --- The email -------------------------------------------------------------------------------

def compose(settings: Settings, person: User, notification: Notification, lang: str) -> EmailMessage:
    """The email for one notification: its subject line and a link, nothing else of Beacon's.
    List-Unsubscribe with List-Unsubscribe-Post makes one-click unsubscribing work (RFC 8058)."""
    base = settings.app_url.rstrip("/")
    unsubscribe = f"{base}/unsubscribe/{unsubscribe_token(settings, person.id)}"
    return _email(settings, person.email, notification.subject, lang,
                  messages.body(lang, name=first_name(person.full_name), subject_line=notification.subject,
                                link=base + notification.link, preferences=f"{base}/me/notifications",
                                unsubscribe=unsubscribe),
                  {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})


def _email(settings: Settings, to: str, subject: str, lang: str, body: str, headers: dict | None = None) -> EmailMessage:
    """A plain-text email from Beacon in ``lang``."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Message-ID"] = make_msgid(domain="beacon")
    for name, value in (headers or {}).items():
        message[name] = value
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies
    message.set_content(body)
    message["Content-Language"] = lang  # after set_content, which replaces every Content-* header
    return message


# --- A family's invitation -------------------------------------------------------------------

async def invite_guardian(session: AsyncSession, settings: Settings, teacher: User, student_id: uuid.UUID,
                          email: str, language: str | None) -> tuple[GuardianInvitation, str | None]:
    """A teacher's invitation (school/invitations.py) and its email job, in the caller's
    transaction. The link is returned when no email will carry it (no SMTP): the teacher passes
    it on."""
    invitation = await invitations.invite(session, teacher, student_id, email, language)
    if settings.smtp_host:
        await defer_in(session, INVITATION_TASK, f"invite:{invitation.id}", queue=QUEUE,
                       invitation_id=str(invitation.id))
        return invitation, None
    return invitation, invitations.link(settings, invitation.id)


async def invite_unclaimed_families(session: AsyncSession, settings: Settings, admin: User) -> int:
    """An admin invites every family account of the school that never signed in (made by a
    roster import, no invitation open) to claim it, by email: one invitation each, naming their
    first child. Email is needed (a link passed on by hand does not scale to a school). Audited
    once with the count, each invitation on its own as well."""
    if not settings.smtp_host:
        raise InvalidInput("no mail server is set up (BEACON_SMTP_HOST): families cannot be emailed")
    families = await school.unclaimed_families(session, admin.school_id)
    for guardian, child in families:
        await invite_guardian(session, settings, admin, child.id, guardian.email,
                              await school.preferred_language(session, guardian))
    await add_audit(session, actor_id=admin.id, action="guardians.invited_unclaimed", subject_type="school",
                    subject_id=str(admin.school_id), data={"invited": len(families)})
    return len(families)


async def invitation_email(session: AsyncSession, settings: Settings, invitation_id: uuid.UUID) -> EmailMessage | None:
    """The email of an invitation still open, in its language: one line (who invites, the child's
    first name, the school) and the link. None once accepted, revoked or expired."""
    invitation = await school.invitation(session, invitation_id)
    if invitation is None or invitations.state(invitation) != "open":
        return None
    lang = messages.supported(invitation.preferred_language)
    teacher = await school.get_user(session, invitation.invited_by) if invitation.invited_by else None
    child = await school.get_user(session, invitation.student_id)
    where = await session.get(School, invitation.school_id)
    line = messages.invitation(lang, teacher=teacher.full_name if teacher else where.name,
                               child=first_name(child.full_name), school=where.name)
    return _email(settings, invitation.email, line, lang,
                  messages.invitation_body(lang, line=line, link=invitations.link(settings, invitation.id)))
