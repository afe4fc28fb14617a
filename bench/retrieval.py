"""Retrieval benchmark: latency (p50/p95) and recall@10 of the HNSW search against exact
search, at 1k, 10k and 100k stored rubric passage vectors, plus the full fused match.

    python bench/retrieval.py [--sizes 1000 10000 100000] [--queries 200]

Runs on a throwaway embedded PostgreSQL (or BEACON_DATABASE_URL's server, in a fresh schema-
less database it creates) and writes bench/results/retrieval.json and .md."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# Topic vocabularies so synthetic passages cluster the way rubric passages do.
TOPICS = {
    "science": "hypothesis variable control trial data measure average graph experiment result error",
    "history": "source author document century empire perspective context corroborate archive treaty",
    "math": "equation function variable slope model assumption estimate graph rate predict",
    "writing": "claim evidence reason counterargument paragraph thesis audience conclusion quote",
    "art": "color composition canvas sketch texture contrast brush sculpture palette line",
    "music": "rhythm pitch rehearsal ensemble tempo dynamics stage audience melody practice",
    "team": "group role listen decide conflict share plan contribute feedback meeting",
    "language": "hola familia escuela bonjour famille amigo porque aussi comida ciudad",
}
# Every synthetic version carries a real rubric definition, as stored ones do.
TEMPLATE = json.dumps(
    __import__("yaml").safe_load((Path(__file__).resolve().parents[1] / "rubrics" / "argument-writing.yaml").read_text())
)
FILLER = "student shows explains uses clear detailed work level next step revise strong idea".split()


def synthetic_text(rng: random.Random) -> str:
    topic = rng.choice(list(TOPICS.values())).split()
    words = [rng.choice(topic) if rng.random() < 0.6 else rng.choice(FILLER) for _ in range(rng.randint(25, 60))]
    return " ".join(words)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def fill(db, embedder, size: int, rng: random.Random) -> float:
    """Add synthetic rubric versions (10 passages each) until ``size`` passages have vectors."""
    from sqlalchemy import text

    from beacon.rubrics import repository

    async with db.engine.connect() as conn:
        have = await conn.scalar(text("SELECT count(*) FROM passage_embeddings WHERE embed_model = :m"), {"m": embedder.name})
    missing = size - have
    started = time.perf_counter()
    import psycopg

    async with await psycopg.AsyncConnection.connect(db.url) as pg:
        batch = 10_000
        while missing > 0:
            n = min(batch, missing)
            versions = n // 10
            async with pg.cursor() as cur:
                await cur.execute(
                    "INSERT INTO competencies (id, title, subject) SELECT 'bench-' || g || '-' || md5(random()::text), 'Bench', 'Science' "
                    "FROM generate_series(1, %s) g RETURNING id", (versions,))
                ids = [r[0] for r in await cur.fetchall()]
                await cur.execute(
                    "INSERT INTO rubric_versions (competency_id, version, content_hash, is_current, title, subject, grade_band, "
                    "description, mastery_threshold, definition, source_file) "
                    "SELECT c, 1, md5(c), true, 'Bench', 'Science', '6-12', 'synthetic', 3, %s::jsonb, 'bench' "
                    "FROM unnest(%s::text[]) c RETURNING id", (TEMPLATE, ids))
                version_ids = [r[0] for r in await cur.fetchall()]
                texts = [synthetic_text(rng) for _ in range(len(version_ids) * 10)]
                await cur.execute(
                    "INSERT INTO rubric_passages (rubric_version_id, kind, body) "
                    "SELECT v, 'competency', b FROM unnest(%s::int[], %s::text[]) AS t(v, b) RETURNING id",
                    ([v for v in version_ids for _ in range(10)], texts))
                passage_ids = [r[0] for r in await cur.fetchall()]
                vectors = await embedder.embed(texts)
                async with cur.copy("COPY passage_embeddings (passage_id, embed_model, dimensions, embedding) FROM STDIN") as copy:
                    for pid, vec in zip(passage_ids, vectors):
                        await copy.write_row((pid, embedder.name, len(vec), "[" + ",".join(f"{x:.6f}" for x in vec) + "]"))
            await pg.commit()
            missing -= len(passage_ids)
    async with db.transaction() as session:
        await repository.ensure_vector_index(session, embedder.name, 384)
    async with db.engine.connect() as conn:  # fresh statistics, as autovacuum would soon give
        await conn.execute(text("ANALYZE passage_embeddings, rubric_passages, rubric_versions"))
        await conn.commit()
    return time.perf_counter() - started


async def measure(db, embedder, queries: list[str]) -> dict:
    from sqlalchemy import text

    from beacon.rubrics import repository
    from beacon.rubrics.service import match

    hnsw_ms, exact_ms, match_ms, recalls = [], [], [], []
    for q in queries:
        [vec] = await embedder.embed([q])
        async with db.transaction() as session:
            t = time.perf_counter()
            approx = await repository.nearest_passages(session, embedder.name, 384, vec, None, 10)
            hnsw_ms.append((time.perf_counter() - t) * 1000)
        async with db.transaction() as session:
            await session.execute(text("SET LOCAL enable_indexscan = off"))
            t = time.perf_counter()
            exact = await repository.nearest_passages(session, embedder.name, 384, vec, None, 10)
            exact_ms.append((time.perf_counter() - t) * 1000)
        recalls.append(len({h.passage_id for h in approx} & {h.passage_id for h in exact}) / max(1, len(exact)))
        async with db.transaction() as session:
            t = time.perf_counter()
            await match(session, q, embedder, limit=5)
            match_ms.append((time.perf_counter() - t) * 1000)
    return {
        "hnsw_p50_ms": round(pct(hnsw_ms, 0.5), 2), "hnsw_p95_ms": round(pct(hnsw_ms, 0.95), 2),
        "exact_p50_ms": round(pct(exact_ms, 0.5), 2), "exact_p95_ms": round(pct(exact_ms, 0.95), 2),
        "recall_at_10": round(statistics.mean(recalls), 4),
        "match_p50_ms": round(pct(match_ms, 0.5), 2), "match_p95_ms": round(pct(match_ms, 0.95), 2),
    }


async def main(sizes: list[int], n_queries: int) -> dict:
    from beacon.config import Settings
    from beacon.db.engine import connect
    from beacon.db.migrate import upgrade
    from beacon.llm.embeddings import OfflineEmbedder

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="beacon-bench-")))
    db = await connect(settings)
    await upgrade(db)
    embedder = OfflineEmbedder()
    rng = random.Random(7)
    queries = [synthetic_text(rng) for _ in range(n_queries)]
    rows = []
    for size in sizes:
        load_s = await fill(db, embedder, size, rng)
        result = {"vectors": size, "load_and_index_s": round(load_s, 1), **await measure(db, embedder, queries)}
        print(json.dumps(result))
        rows.append(result)
    await db.dispose()
    return {"machine": f"{platform.machine()} {os.cpu_count()} cores", "queries": n_queries, "results": rows}


def write(report: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "retrieval.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Retrieval benchmark", "",
        f"{report['queries']} queries, offline 384-d embeddings, {report['machine']}.", "",
        "| vectors | HNSW p50 / p95 ms | exact p50 / p95 ms | recall@10 | fused match p50 / p95 ms | load+index s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['vectors']:,} | {r['hnsw_p50_ms']} / {r['hnsw_p95_ms']} | {r['exact_p50_ms']} / {r['exact_p95_ms']} "
            f"| {r['recall_at_10']} | {r['match_p50_ms']} / {r['match_p95_ms']} | {r['load_and_index_s']} |"
        )
    (RESULTS / "retrieval.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    write(asyncio.run(main(args.sizes, args.queries)))
