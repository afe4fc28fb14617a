"""The app role (what the web app and workers connect as) cannot switch the schema's
protections off, and cannot rewrite or forge the audit trail. Every statement here was tried
as a hostile or buggy code path would: on the app's own connection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from beacon.db.actor import acting_session
from beacon.db.audit import AuditEvent, add_audit
from beacon.school import repository as school_repo
from tests.factories import decide, make_class, make_draft, release


async def _refused(session, statement: str, params: dict | None = None) -> str:
    return await _refused_work(session, lambda: session.execute(text(statement), params or {}))


async def _refused_work(session, work) -> str:
    """Run ``work()`` in a savepoint and return the database's refusal message."""
    savepoint = await session.begin_nested()
    with pytest.raises(DBAPIError) as caught:
        await work()
    await savepoint.rollback()
    return str(caught.value.orig)


def _viewed(session, actor):
    return lambda: add_audit(session, actor_id=actor.id, action="draft.viewed", subject_type="draft",
                             subject_id=_SUBJECT, data={})


_SUBJECT = uuid.uuid4().hex


HOSTILE = [
    "SET session_replication_role = replica",  # would silence every trigger and foreign key
    "ALTER TABLE releases DISABLE TRIGGER ALL",
    "ALTER TABLE decisions DISABLE TRIGGER decisions_audited",
    "DROP TRIGGER releases_immutable ON releases",
    "ALTER TABLE releases DROP CONSTRAINT fk_releases_from_approval",
    "ALTER TABLE audit_events ADD COLUMN note text",
    "TRUNCATE audit_events",
    "TRUNCATE releases CASCADE",
    "TRUNCATE decisions CASCADE",
    "DROP TABLE audit_events",
    "CREATE TABLE shadow (id int)",
    "CREATE FUNCTION beacon_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
    "UPDATE audit_events SET action = 'nothing'",
    "DELETE FROM audit_events",
    "INSERT INTO audit_events (actor_id, action, subject_type, subject_id) VALUES (NULL, 'forged', 'draft', 'x')",
    "UPDATE releases SET content = '{}'",
    "DELETE FROM releases",
    "UPDATE decisions SET action = 'approve'",
    "DELETE FROM decisions",
    "SELECT id FROM user_sessions",  # a live session id would let one act in its person's name
    "UPDATE user_sessions SET expires_at = now() + interval '10 years'",
    "SET ROLE beacon_owner",
    "ALTER ROLE beacon_app SUPERUSER",
]


@pytest.mark.parametrize("statement", HOSTILE)
async def test_the_app_role_cannot_switch_protections_off(session, statement):
    message = await _refused(session, statement)
    assert "permission denied" in message or "must be" in message, message


async def test_the_app_role_is_no_superuser_and_owns_nothing(session):
    row = (await session.execute(text(
        "SELECT current_user, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user"))).one()
    assert row == ("beacon_app", False, False, False, False)
    owned = await session.scalar(text(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"))
    assert owned == 0


async def _signed_in(session, user) -> uuid.UUID:
    return await school_repo.open_session(session, user.id, "cookie", datetime.now(UTC) + timedelta(hours=1))


async def _events(session, subject_id: str) -> list[AuditEvent]:
    return list((await session.scalars(select(AuditEvent).where(AuditEvent.subject_id == subject_id)
                                       .order_by(AuditEvent.id))).all())


async def test_audit_events_are_in_the_signed_in_persons_name_only(session):
    _, _, teacher, [student] = await make_class(session)
    _, _, other_teacher, _ = await make_class(session)
    mine = await _signed_in(session, teacher)
    token = acting_session.set(mine)
    try:
        await _viewed(session, teacher)()
        assert "another person's name" in await _refused_work(session, _viewed(session, other_teacher))
        # Signed out: the session no longer vouches for anyone.
        await school_repo.revoke_sessions(session, teacher.id, only=mine)
        assert "not signed in" in await _refused_work(session, _viewed(session, teacher))
    finally:
        acting_session.reset(token)
    # Outside a signed-in request (a command, a job) the actor is Beacon; the claim is data.
    await add_audit(session, actor_id=student.id, action="project.started", subject_type="assignment",
                    subject_id=_SUBJECT, data={})
    events = await _events(session, _SUBJECT)
    assert [(e.action, e.actor_id) for e in events] == [("draft.viewed", teacher.id), ("project.started", None)]
    assert events[1].data["on_behalf_of"] == str(student.id)


async def test_a_made_up_session_vouches_for_no_one(session):
    _, _, teacher, _ = await make_class(session)
    token = acting_session.set(uuid.uuid4())
    try:
        assert "not signed in" in await _refused_work(session, _viewed(session, teacher))
    finally:
        acting_session.reset(token)


async def test_sessions_are_found_and_revoked_through_functions(session):
    _, _, teacher, _ = await make_class(session)
    first, second = await _signed_in(session, teacher), await _signed_in(session, teacher)
    assert (await school_repo.user_of_session(session, first)).id == teacher.id
    assert await school_repo.revoke_sessions(session, teacher.id, keep=second) == 1
    assert await school_repo.user_of_session(session, first) is None
    assert (await school_repo.user_of_session(session, second)).id == teacher.id


@pytest.fixture
async def owner_session(settings):
    """The owner role's connection (migrations only, in production), in a rolled-back transaction."""
    from beacon.db.embedded import start_embedded, stop_embedded
    from beacon.db.engine import open_database
    from tests.conftest import rolled_back

    _, owner_url = start_embedded(settings.embedded_pgdata)
    stop_embedded()  # the test session's runtime holds the server
    db = await open_database(owner_url)
    try:
        async with rolled_back(db.engine) as s:
            yield s
    finally:
        await db.dispose()


async def test_even_the_owner_cannot_rewrite_what_was_decided_and_released(owner_session):
    """Behind the privileges, triggers: the owner (who may migrate) still cannot rewrite a
    release, a decision or an audit event by accident."""
    session = owner_session
    assert await session.scalar(text("SELECT current_user")) == "beacon_owner"
    _, _, teacher, [student] = await make_class(session)
    draft = await make_draft(session, student)
    approval = await decide(session, draft, teacher, "approve")
    released = await release(session, draft, approval)
    for statement, params in [
        ("UPDATE releases SET content = '{}' WHERE id = :i", {"i": released.id}),
        ("DELETE FROM releases WHERE id = :i", {"i": released.id}),
        ("UPDATE decisions SET action = 'reject' WHERE id = :i", {"i": approval.id}),
        ("DELETE FROM decisions WHERE id = :i", {"i": approval.id}),
        ("UPDATE audit_events SET action = 'nothing' WHERE subject_id = :s", {"s": str(draft.id)}),
        ("DELETE FROM audit_events WHERE subject_id = :s", {"s": str(draft.id)}),
    ]:
        message = await _refused(session, statement, params)
        assert "append-only" in message or "immutable" in message or "cannot" in message, message
