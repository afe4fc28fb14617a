"""Alembic environment. Beacon runs migrations in-process (``beacon db upgrade``) and hands
Alembic an open connection; the ``alembic`` CLI path builds its own from BEACON settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from beacon.tables import metadata

config = context.config


# Objects Beacon creates at run time or that other libraries own (per-model vector indexes,
# Procrastinate's queue, LangGraph's checkpoints): autogenerate must not try to drop them.
_FOREIGN_PREFIXES = ("procrastinate_", "checkpoint", "ix_passage_embeddings_hnsw_")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (reflected and compare_to is None and (name or "").startswith(_FOREIGN_PREFIXES))


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:  # plain `alembic` command line, e.g. for `alembic revision --autogenerate`
    from beacon.config import get_settings
    from beacon.db.engine import resolve_urls, sqlalchemy_url

    engine = create_engine(sqlalchemy_url(resolve_urls(get_settings())[1]), poolclass=pool.NullPool)  # the owner
    with engine.connect() as conn:
        run_on(conn)
