"""Two database roles: the *owner* runs migrations and owns every table; the *app* (web and
workers) reads and writes rows, and nothing more.

The app role is not a superuser and owns nothing, so no statement it sends can switch off a
trigger or a foreign key (``ALTER TABLE … DISABLE TRIGGER``, ``session_replication_role``),
truncate, alter or drop a table. On top of that, by table:

- ``audit_events``: read only; events are written by ``beacon_audit()`` (the actor is the person
  of a live session) and by the decision and release triggers;
- ``decisions``, ``releases``: read and insert (triggers also refuse updates and deletes);
- ``user_sessions``: no session id can be read (sessions are found and revoked through
  functions), so no one's live session can be borrowed to act in their name;
- ``alembic_version``: read only.

Privileges are (re)granted after every upgrade, so tables a new migration adds are covered."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

OWNER_ROLE = "beacon_owner"
APP_ROLE = "beacon_app"
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

READ_ONLY = ("audit_events", "alembic_version")
APPEND_ONLY = ("decisions", "releases", "ratings", "support_dismissals")
DEFINER_FUNCTIONS = (
    "beacon_audit(uuid, uuid, text, text, text, jsonb)",
    "beacon_session_user(uuid)",
    "beacon_revoke_sessions(uuid, uuid, uuid)",
)


def _quoted(role: str) -> str:
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError(f"unexpected role name {role!r}")
    return f'"{role}"'


def bootstrap_statements(database: str) -> list[str]:
    """As a superuser, on the embedded server: the two roles, the database owned by the owner
    role, and (for a database made before there were two roles) everything in it handed over."""
    owner, app = _quoted(OWNER_ROLE), _quoted(APP_ROLE)
    return [
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
                CREATE ROLE {owner} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {app} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
            END IF;
        END $$""",
        f"ALTER DATABASE {database} OWNER TO {owner}",
    ]


# Run in Beacon's database as a superuser: the schema and every object in it belong to the owner.
HAND_OVER = f"""
DO $$
DECLARE
    r record;
BEGIN
    CREATE EXTENSION IF NOT EXISTS vector;
    ALTER SCHEMA public OWNER TO {_quoted(OWNER_ROLE)};
    FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
               AND pg_get_userbyid(c.relowner) <> '{OWNER_ROLE}'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO {_quoted(OWNER_ROLE)}',
                       CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                      WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.name);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS name, p.prokind FROM pg_proc p
              JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '{OWNER_ROLE}'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO {_quoted(OWNER_ROLE)}',
                       CASE r.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, r.name);
    END LOOP;
    FOR r IN SELECT t.oid::regtype AS name FROM pg_type t
              JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND pg_get_userbyid(t.typowner) <> '{OWNER_ROLE}'
               AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind <> 'c')
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO {_quoted(OWNER_ROLE)}', r.name);
    END LOOP;
END $$
"""


async def grant_app(conn: AsyncConnection, app_role: str) -> None:
    """As the owner: the app role's privileges on everything that exists now (idempotent)."""
    app = _quoted(app_role)
    statements = [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {await conn.scalar(text('SELECT current_database()'))} TO {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {app}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {app}",
        *(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {app}" for table in READ_ONLY),
        *(f"REVOKE UPDATE, DELETE ON {table} FROM {app}" for table in APPEND_ONLY),
        # Sessions: rows can be added and old ones deleted, but no id read back or matched.
        f"REVOKE ALL ON user_sessions FROM {app}",
        f"GRANT SELECT (user_id, kind, created_at, expires_at, revoked_at) ON user_sessions TO {app}",
        f"GRANT INSERT (id, user_id, kind, expires_at) ON user_sessions TO {app}",
        f"GRANT DELETE ON user_sessions TO {app}",
        *(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC" for fn in DEFINER_FUNCTIONS),
        *(f"GRANT EXECUTE ON FUNCTION {fn} TO {app}" for fn in DEFINER_FUNCTIONS),
    ]
    for statement in statements:
        await conn.execute(text(statement))


async def app_is_privileged(conn: AsyncConnection) -> bool:
    """Whether this connection could switch the schema's protections off (superuser or owner)."""
    return bool(await conn.scalar(text(
        "SELECT rolsuper OR EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user)"
        " FROM pg_roles WHERE rolname = current_user")))
