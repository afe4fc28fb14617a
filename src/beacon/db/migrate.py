"""Schema migrations, run in-process under an advisory lock so concurrent starts are safe."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from beacon.db.engine import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x6265_6163  # "beac": one Beacon migrating a database at a time


def alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config()

    def run(sync_conn) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        await conn.run_sync(run)


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        exists = await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        if not exists:
            return None
        return await conn.scalar(text("SELECT version_num FROM alembic_version"))
