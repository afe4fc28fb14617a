"""Who is acting: the signed-in session of the request being served (none for a command line
or a background job). The database writes audit events in the name of that session's person
only (``beacon_audit`` in migration 0008)."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

# Set once a request is signed in; a context variable, so each request (task) has its own.
acting_session: ContextVar[uuid.UUID | None] = ContextVar("beacon_acting_session", default=None)
