"""Signing in and out: throttled sign-in, server-side sessions, password changes.

Sign-in is limited per account (the email as typed, whether or not it exists) and per network
address, in Postgres so the limit holds across replicas: past ``ACCOUNT_LIMIT`` (or
``ADDRESS_LIMIT``) failures in ``WINDOW``, each further try is refused for a lock that doubles
(30 s, 1 min, 2 min, ... up to 15 min), without checking the password. A success clears the
account's count. Every session is a row: signing out or a password reset revokes it."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.db.audit import add_audit
from beacon.errors import BeaconError, InvalidInput
from beacon.offload import in_thread
from beacon.school import repository
from beacon.school.models import User

_hasher = PasswordHasher()
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 100  # a school behind one NAT address signs in through it
WINDOW = timedelta(minutes=15)
FIRST_LOCK = timedelta(seconds=30)
LONGEST_LOCK = timedelta(minutes=15)
WRONG = "wrong email or password"


class TooManyAttempts(BeaconError):
    """Sign-in is locked for a while (answered 429 with Retry-After)."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed sign-ins: try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _nobody() -> str:
    """Verified when the email is unknown (or has no password), so that a wrong email costs the
    same argon2 time as a wrong password: timing does not tell which emails have accounts. Made
    on the first sign-in, not on import."""
    return _hasher.hash("no account has this password")


async def check_password(user: User | None, password: str) -> bool:
    """Argon2 off the event loop (a burst of sign-ins must not stall other requests), in
    equal time whether or not the account exists."""
    known = user is not None and bool(user.password_hash)
    matches = await in_thread(password_matches, user.password_hash if known else _nobody(), password)
    return known and matches


async def hash_password_off_loop(password: str) -> str:
    return await in_thread(hash_password, password)


def _keys(email: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(f"account:{email.strip().lower()[:320]}", ACCOUNT_LIMIT)]
    if address:
        keys.append((f"address:{address[:64]}", ADDRESS_LIMIT))
    return keys


async def check_not_locked(session: AsyncSession, email: str, address: str | None) -> None:
    now = datetime.now(UTC)
    for key, _ in _keys(email, address):
        row = await repository.throttle_row(session, key)
        if row.locked_until is not None and row.locked_until > now:
            raise TooManyAttempts(max(1, int((row.locked_until - now).total_seconds() + 0.999)))


async def record_failure(session: AsyncSession, email: str, address: str | None) -> None:
    now = datetime.now(UTC)
    for key, limit in _keys(email, address):
        row = await repository.throttle_row(session, key)
        if row.window_started_at < now - WINDOW and (row.locked_until is None or row.locked_until < now):
            row.failures, row.window_started_at = 0, now  # a new window
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + min(FIRST_LOCK * 2 ** (row.failures - limit), LONGEST_LOCK)


async def sign_in(db, email: str, password: str, address: str | None) -> User:
    """The user, or InvalidInput (wrong email or password) / TooManyAttempts. The failure is
    counted in its own transaction: it holds whatever the request does next."""
    async with db.transaction() as session:
        await check_not_locked(session, email, address)
        user = await repository.user_by_email(session, email.strip())
    if not await check_password(user, password):
        async with db.transaction() as session:
            await record_failure(session, email, address)
        raise InvalidInput(WRONG)
    async with db.transaction() as session:
        await repository.clear_throttle(session, _keys(email, None)[0][0])
    return user


async def open_session(session: AsyncSession, user: User, kind: str, max_age_s: int) -> uuid.UUID:
    """A server-side session for ``user``; its id (what a token or cookie carries)."""
    return await repository.open_session(session, user.id, kind, datetime.now(UTC) + timedelta(seconds=max_age_s))


async def close_session(session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    await repository.revoke_sessions(session, user_id, only=session_id)


async def set_password(session: AsyncSession, user: User, password_hash: str, *, keep: uuid.UUID | None = None,
                       actor: User | None = None) -> int:
    """A new password; every other session of the account is revoked. Audited. Returns how many."""
    if user is None:
        raise InvalidInput("no such person")
    user = await session.get(User, user.id)
    user.password_hash = password_hash
    revoked = await repository.revoke_sessions(session, user.id, keep=keep)
    await add_audit(session, actor_id=(actor or user).id, action="password.changed" if actor is None else "password.reset",
                    subject_type="user", subject_id=str(user.id), data={"sessions_revoked": revoked})
    return revoked
