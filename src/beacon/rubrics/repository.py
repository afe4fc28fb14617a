"""Every query the rubric domain makes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.rubrics.models import (
    Competency,
    Criterion,
    CriterionLevel,
    PassageEmbedding,
    RubricPassage,
    RubricVersion,
)

_SYNC_LOCK = 0x7275_6272  # "rubr": one library load at a time per database


@dataclass(frozen=True)
class PassageHit:
    passage_id: int
    rubric_version_id: int
    competency_id: str
    criterion_key: str | None
    score: float


async def lock_library(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SYNC_LOCK})


async def current_versions(session: AsyncSession) -> Sequence[RubricVersion]:
    rows = await session.scalars(
        select(RubricVersion).where(RubricVersion.is_current).order_by(RubricVersion.competency_id)
    )
    return rows.all()


async def current_version_ids(session: AsyncSession, competency_ids: list[str] | None) -> dict[str, int]:
    """Competency id -> its current version's id (all, or only ``competency_ids``)."""
    query = select(RubricVersion.competency_id, RubricVersion.id).where(RubricVersion.is_current)
    if competency_ids:
        query = query.where(RubricVersion.competency_id.in_(competency_ids))
    return {cid: vid for cid, vid in (await session.execute(query)).all()}


async def current_titles(session: AsyncSession) -> list[tuple[str, str]]:
    """(competency id, title) of every competency in the library now, without the rubrics."""
    rows = await session.execute(
        select(Competency.id, Competency.title)
        .join(RubricVersion, RubricVersion.competency_id == Competency.id)
        .where(RubricVersion.is_current)
        .order_by(Competency.title)
    )
    return [(cid, title) for cid, title in rows.all()]


async def current_version(session: AsyncSession, competency_id: str) -> RubricVersion | None:
    return await session.scalar(
        select(RubricVersion).where(
            RubricVersion.competency_id == competency_id, RubricVersion.is_current
        )
    )


async def version_by_id(session: AsyncSession, version_id: int) -> RubricVersion | None:
    return await session.get(RubricVersion, version_id)


async def version_with_hash(session: AsyncSession, competency_id: str, digest: str) -> RubricVersion | None:
    return await session.scalar(
        select(RubricVersion).where(
            RubricVersion.competency_id == competency_id, RubricVersion.content_hash == digest
        )
    )


async def version_count(session: AsyncSession, competency_id: str) -> int:
    return await session.scalar(
        select(func.coalesce(func.max(RubricVersion.version), 0)).where(
            RubricVersion.competency_id == competency_id
        )
    )


async def upsert_competency(session: AsyncSession, competency_id: str, title: str, subject: str) -> None:
    existing = await session.get(Competency, competency_id)
    if existing is None:
        session.add(Competency(id=competency_id, title=title, subject=subject))
    else:
        existing.title, existing.subject = title, subject
    await session.flush()


async def make_current(session: AsyncSession, competency_id: str, version_id: int | None) -> None:
    """Exactly one current version per competency (or none, for a retired one)."""
    await session.execute(
        update(RubricVersion)
        .where(RubricVersion.competency_id == competency_id, RubricVersion.id != (version_id or -1))
        .values(is_current=False)
    )
    if version_id is not None:
        await session.execute(
            update(RubricVersion).where(RubricVersion.id == version_id).values(is_current=True)
        )


async def add_version(
    session: AsyncSession,
    version: RubricVersion,
    criteria: list[tuple[Criterion, list[CriterionLevel]]],
) -> RubricVersion:
    session.add(version)
    await session.flush()
    for criterion, levels in criteria:
        criterion.rubric_version_id = version.id
        session.add(criterion)
        await session.flush()
        for level in levels:
            level.criterion_id = criterion.id
        session.add_all(levels)
    await session.flush()
    return version


async def add_passages(session: AsyncSession, passages: list[RubricPassage]) -> None:
    session.add_all(passages)
    await session.flush()


async def passages_without_embedding(session: AsyncSession, model: str) -> Sequence[RubricPassage]:
    has_vector = select(PassageEmbedding.passage_id).where(
        PassageEmbedding.embed_model == model, PassageEmbedding.passage_id == RubricPassage.id
    )
    rows = await session.scalars(
        select(RubricPassage)
        .join(RubricVersion, RubricVersion.id == RubricPassage.rubric_version_id)
        .where(RubricVersion.is_current, ~has_vector.exists())
        .order_by(RubricPassage.id)
    )
    return rows.all()


async def delete_embeddings(session: AsyncSession, model: str) -> None:
    await session.execute(delete(PassageEmbedding).where(PassageEmbedding.embed_model == model))


async def add_embeddings(
    session: AsyncSession, model: str, passage_ids: list[int], vectors: list[list[float]]
) -> None:
    session.add_all(
        PassageEmbedding(passage_id=p, embed_model=model, dimensions=len(v), embedding=v)
        for p, v in zip(passage_ids, vectors, strict=True)
    )
    await session.flush()


def _index_name(model: str) -> str:
    return "ix_passage_embeddings_hnsw_" + hashlib.sha1(model.encode()).hexdigest()[:12]


def _literal(model: str) -> str:
    return "'" + model.replace("'", "''") + "'"


async def ensure_vector_index(session: AsyncSession, model: str, dimensions: int) -> None:
    """One partial HNSW index per embedding model, over the column cast to that model's size.
    Made at start-up, as the schema's owner (the app role may only find it there)."""
    if await session.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": _index_name(model)}):
        return
    await session.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS {_index_name(model)} ON passage_embeddings "
            f"USING hnsw ((embedding::vector({int(dimensions)})) vector_cosine_ops) "
            f"WHERE embed_model = {_literal(model)}"
        )
    )


_dimensions: dict[str, int] = {}


async def stored_dimensions(session: AsyncSession, model: str) -> int | None:
    """A model's vector size never changes, so it is looked up once per process."""
    if model not in _dimensions:
        found = await session.scalar(
            select(PassageEmbedding.dimensions).where(PassageEmbedding.embed_model == model).limit(1)
        )
        if found is None:
            return None
        _dimensions[model] = found
    return _dimensions[model]


async def versions_by_ids(session: AsyncSession, version_ids: Sequence[int]) -> Sequence[RubricVersion]:
    rows = await session.scalars(select(RubricVersion).where(RubricVersion.id.in_(version_ids)))
    return rows.all()


_SCOPE = "v.is_current AND (CAST(:competencies AS text[]) IS NULL OR v.competency_id = ANY(:competencies))"


async def nearest_passages(
    session: AsyncSession,
    model: str,
    dimensions: int,
    vector: list[float],
    competency_ids: list[str] | None,
    limit: int,
) -> list[PassageHit]:
    """Cosine-nearest passages. Over the whole library: the model's HNSW index alone finds the
    nearest vectors first (a materialized CTE, so the planner cannot trade the index for a scan
    and sort once joins are involved), then current versions are kept. Narrowed to a few
    competencies: an exact search over just their passages, which is small and always right.
    The model name and size are inlined, validated, so the partial expression index matches."""
    cast = f"pe.embedding::vector({int(dimensions)})"
    query_vector = f"CAST(:q AS vector({int(dimensions)}))"
    if competency_ids:
        sql = f"""
            SELECT p.id, p.rubric_version_id, v.competency_id, c.key, 1 - ({cast} <=> {query_vector})
            FROM rubric_versions v
            JOIN rubric_passages p ON p.rubric_version_id = v.id
            JOIN passage_embeddings pe ON pe.passage_id = p.id AND pe.embed_model = {_literal(model)}
            LEFT JOIN criteria c ON c.id = p.criterion_id
            WHERE v.is_current AND v.competency_id = ANY(:competencies)
            ORDER BY {cast} <=> {query_vector}
            LIMIT :limit
        """
    else:
        # HNSW returns at most ef_search rows: keep it at least the oversampled limit.
        await session.execute(text(f"SET LOCAL hnsw.ef_search = {max(100, int(limit) * 2)}"))
        sql = f"""
            WITH nearest AS MATERIALIZED (
                SELECT pe.passage_id, {cast} <=> {query_vector} AS distance
                FROM passage_embeddings pe
                WHERE pe.embed_model = {_literal(model)}
                ORDER BY {cast} <=> {query_vector}
                LIMIT :oversample
            )
            SELECT p.id, p.rubric_version_id, v.competency_id, c.key, 1 - n.distance
            FROM nearest n
            JOIN rubric_passages p ON p.id = n.passage_id
            JOIN rubric_versions v ON v.id = p.rubric_version_id
            LEFT JOIN criteria c ON c.id = p.criterion_id
            WHERE v.is_current
            ORDER BY n.distance
            LIMIT :limit
        """
    rows = await session.execute(
        text(sql),
        # Retired versions' passages keep their vectors; oversampling leaves room to drop them.
        {"q": str(vector), "competencies": competency_ids, "limit": limit, "oversample": limit * 2},
    )
    return [PassageHit(*row) for row in rows]


async def lexical_passages(
    session: AsyncSession, work: str, competency_ids: list[str] | None, limit: int, max_terms: int = 300
) -> list[PassageHit]:
    """Full-text search with the work's own lexemes OR-ed together (the work is long; an AND
    query would match nothing). Its most repeated lexemes are kept when it has very many."""
    rows = await session.execute(
        text(
            f"""
            WITH lexemes AS (
                SELECT lexeme FROM unnest(to_tsvector('english', :work))
                ORDER BY cardinality(positions) DESC, lexeme LIMIT :max_terms
            ), q AS (
                SELECT CAST(string_agg(quote_literal(lexeme), ' | ') AS tsquery) AS query FROM lexemes
            )
            SELECT p.id, p.rubric_version_id, v.competency_id, c.key,
                   ts_rank(p.search, q.query, 1) AS rank
            FROM q, rubric_passages p
            JOIN rubric_versions v ON v.id = p.rubric_version_id
            LEFT JOIN criteria c ON c.id = p.criterion_id
            WHERE q.query IS NOT NULL AND p.search @@ q.query AND {_SCOPE}
            ORDER BY rank DESC, p.id
            LIMIT :limit
            """
        ),
        {"work": work, "competencies": competency_ids, "limit": limit, "max_terms": max_terms},
    )
    return [PassageHit(*row) for row in rows]


async def competencies_exist(session: AsyncSession, competency_ids: list[str]) -> set[str]:
    rows = await session.scalars(select(Competency.id).where(Competency.id.in_(competency_ids)))
    return set(rows.all())
