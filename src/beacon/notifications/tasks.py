"""The email job of a batch of notifications (``beacon:send_notifications``, queue
``notifications``). Each email is marked sent on its own, so a retry after a fault sends only
what was not sent yet; the in-app notifications were written before the job ran and stay."""

from __future__ import annotations

import logging
import uuid

import procrastinate

from beacon.jobs import RETRY, services
from beacon.notifications import mail, service
from beacon.notifications import repository as rows
from beacon.notifications.models import Notification
from beacon.school import repository as school

log = logging.getLogger("beacon.notifications")

blueprint = procrastinate.Blueprint()


@blueprint.task(name="send_notifications", queue=service.QUEUE, pass_context=True, retry=RETRY)
async def send_notifications(context: procrastinate.JobContext, notification_ids: list[str]) -> None:
    runtime = services(context).runtime
    await send_emails(runtime.settings, runtime.db, [uuid.UUID(i) for i in notification_ids])


async def send_emails(settings, db, notification_ids: list[uuid.UUID]) -> int:
    """Email each notification whose person wants that kind; returns how many were sent. With no
    SMTP host, nothing: notifications stay in-app."""
    if not settings.smtp_host:
        return 0
    sent = 0
    for notification_id in notification_ids:
        # Read in a short transaction: no connection is held while the mail server answers.
        async with db.transaction() as session:
            notification = await session.get(Notification, notification_id)
            if notification is None or notification.emailed_at is not None:
                continue
            if not (await rows.preferences(session, notification.user_id))[notification.kind]:
                continue
            person = await school.get_user(session, notification.user_id)
            message = service.compose(settings, person, notification, await service.language_of(session, person))
        try:
            await mail.send(settings, message)
        except mail.MailRefused:
            log.warning("the mail server refused notification %s for good", notification_id, exc_info=True)
            continue
        async with db.transaction() as session:
            await rows.mark_emailed(session, notification_id)
        sent += 1
    return sent


@blueprint.task(name="send_invitation", queue=service.QUEUE, pass_context=True, retry=RETRY)
async def send_invitation(context: procrastinate.JobContext, invitation_id: str) -> None:
    runtime = services(context).runtime
    await send_invitation_email(runtime.settings, runtime.db, uuid.UUID(invitation_id))


async def send_invitation_email(settings, db, invitation_id: uuid.UUID) -> bool:
    """Email a family's invitation if it is still open (revoked before the job ran: nothing)."""
    if not settings.smtp_host:
        return False
    async with db.transaction() as session:  # no connection held while the mail server answers
        message = await service.invitation_email(session, settings, invitation_id)
    if message is None:
        return False
    try:
        await mail.send(settings, message)
    except mail.MailRefused:
        log.warning("the mail server refused invitation %s for good", invitation_id, exc_info=True)
        return False
    return True
