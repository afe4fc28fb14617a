"""Sending one email over SMTP (aiosmtplib), with a timeout. Connection faults and timeouts are
OSErrors, and a 4xx answer (the server's "try later") is raised as ``MailUnavailable``, also
one: the job's RETRY tries again later. A 5xx answer is ``MailRefused``: retrying cannot help."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from beacon.config import Settings


class MailUnavailable(ConnectionError):
    """The mail server cannot take the message now (4xx): a transient fault, retried."""


class MailRefused(Exception):
    """The mail server refused the message for good (5xx): not retried."""


def _transient(code: int) -> bool:
    return 400 <= code < 500


async def send(settings: Settings, message: EmailMessage) -> None:
    try:
        await aiosmtplib.send(message, hostname=settings.smtp_host, port=settings.smtp_port,
                              username=settings.smtp_username, password=settings.smtp_password,
                              start_tls=settings.smtp_starttls, timeout=settings.smtp_timeout_s)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        if all(_transient(r.code) for r in exc.recipients):
            raise MailUnavailable(str(exc)) from exc
        raise MailRefused(str(exc)) from exc
    except aiosmtplib.SMTPResponseException as exc:
        if _transient(exc.code):
            raise MailUnavailable(str(exc)) from exc
        raise MailRefused(str(exc)) from exc
