"""A real SMTP server on loopback (aiosmtpd) for the tests of what Beacon emails: ``inbox``
points the session's settings at it (``mail_settings`` puts them back after each test)."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """What the SMTP server received: each message, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mail_settings(runtime):
    """The SMTP settings, put back after each test (the runtime is the session's)."""
    settings = runtime.settings
    saved = (settings.smtp_host, settings.smtp_port, settings.smtp_starttls, settings.smtp_timeout_s)
    yield settings
    settings.smtp_host, settings.smtp_port, settings.smtp_starttls, settings.smtp_timeout_s = saved


@pytest.fixture
def inbox(mail_settings):
    found = Inbox()
    controller = Controller(found, hostname="127.0.0.1", port=free_port())
    controller.start()
    mail_settings.smtp_host, mail_settings.smtp_port, mail_settings.smtp_starttls = "127.0.0.1", controller.port, False
    yield found
    controller.stop()
