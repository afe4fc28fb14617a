"""One real embedded PostgreSQL (pgvector) per test session; each test runs inside a
transaction that is rolled back, so tests never see each other's rows."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Before anything imports Beacon's settings or litellm.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="beacon-test-"))
os.environ["BEACON_DATA_DIR"] = str(_DATA_DIR)
os.environ.pop("BEACON_DATABASE_URL", None)
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")
# A test is a burst of requests no person would send: the rate limits have their own tests
# (tests/web/test_limits.py), with their own settings.
for _limit in ("REQUESTS", "WORK", "SIGN_IN"):
    os.environ.setdefault(f"BEACON_RATE_LIMIT_{_limit}", "100000/second")

from beacon.config import Settings, get_settings

PROJECT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.classroom", "tests.api_client", "tests.mail"]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
async def runtime(settings):
    from beacon.runtime import open_runtime

    async with open_runtime(settings) as rt:
        yield rt
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@contextlib.asynccontextmanager
async def rolled_back(engine):
    """A session whose every commit is a savepoint inside one transaction rolled back at the end."""
    from sqlalchemy.ext.asyncio import AsyncSession

    async with engine.connect() as conn:
        outer = await conn.begin()
        async with AsyncSession(
            bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
        ) as s:
            yield s
        await outer.rollback()


@pytest.fixture
async def session(runtime):
    async with rolled_back(runtime.db.engine) as s:
        yield s


@pytest.fixture
def embedder(runtime):
    return runtime.embedder


# litellm's retry backoff, read when it is imported: fast in tests (Retry-After is still honoured).
os.environ.setdefault("INITIAL_RETRY_DELAY", "0.01")
os.environ.setdefault("MAX_RETRY_DELAY", "0.05")
os.environ.setdefault("JITTER", "0")
