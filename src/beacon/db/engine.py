"""Engine and sessions. The request or job owns the transaction: services only flush."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from beacon.config import Settings
from beacon.errors import DatabaseUnavailable


@dataclass(frozen=True)
class Database:
    """Where Beacon's data lives: a libpq URL (for psycopg, Procrastinate, LangGraph) and an engine."""

    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends normally, rolls back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def sqlalchemy_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def resolve_urls(settings: Settings) -> tuple[str, str]:
    """Beacon's database as the app role and as the owner role (migrations). A configured
    server: ``database_url`` and ``database_owner_url`` (the same role for both if unset). The
    embedded one: two roles Beacon makes itself."""
    if settings.database_url:
        return settings.database_url, settings.database_owner_url or settings.database_url
    from beacon.db.embedded import start_embedded

    return start_embedded(settings.embedded_pgdata)


async def connect(settings: Settings, *, check: bool = True) -> Database:
    """Open Beacon's database as the app role (starting the embedded one if no URL is set) and
    check it is usable."""
    return await open_database(resolve_urls(settings)[0], check=check)


async def open_database(url: str, *, check: bool = True) -> Database:
    engine = create_async_engine(sqlalchemy_url(url), pool_pre_ping=True)
    db = Database(url=url, engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False))
    if check:
        await check_database(db)
    return db


async def check_database(db: Database) -> None:
    """Fail with one clear line if the server is unreachable or lacks pgvector."""
    from sqlalchemy import text

    try:
        async with db.engine.connect() as conn:
            available = await conn.scalar(
                text("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
            )
    except Exception as exc:  # any driver error here means "cannot use this server"
        await db.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot reach the database at {redacted(db.url)}: {reason}"
        ) from exc
    if not available:
        await db.dispose()
        raise DatabaseUnavailable(
            f"the database at {redacted(db.url)} has no 'vector' extension (pgvector); "
            "install pgvector on that server or unset BEACON_DATABASE_URL to use the embedded one"
        )
