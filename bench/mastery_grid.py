"""Mastery record bench: how fast is the class grid, and a school's overview, on a big record?

A generated school on a fresh embedded database: 2,000 students × 14 competencies × 30 ratings
(840,000 ratings), and one class of 35 students with 40 ratings on each of 14 competencies
(19,600 more). Times, over repeated runs, the class grid (every student's standing, growth and
needs-support flags on every competency) and the overview of a 600-student school (counts per
competency and status, who needs support), at the service, which is all the page adds to.

Targets (issue 14): grid p95 ≤ 150 ms, overview p95 ≤ 300 ms.

    python bench/mastery_grid.py [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def main(runs: int, profile: bool = False, freeze: bool = True) -> dict:
    os.environ.setdefault("BEACON_DATA_DIR", tempfile.mkdtemp(prefix="beacon-bench-"))
    os.environ.pop("BEACON_DATABASE_URL", None)
    from sqlalchemy import text

    from beacon.config import get_settings
    from seed import insert_ratings  # bench/seed.py: the script's folder is on the path
    from beacon.mastery import service
    from beacon.rubrics import repository as rubrics
    from beacon.runtime import open_runtime
    from beacon.school import service as school
    from beacon.school.models import User

    rng = random.Random(14)
    settings = get_settings()
    async with open_runtime(settings) as rt:
        async with rt.db.transaction() as s:
            ids = await rubrics.current_version_ids(s, None)
            versions = {v.competency_id: v for v in await rubrics.versions_by_ids(s, list(ids.values()))}
        competencies = sorted(versions)[:14]
        started = time.perf_counter()

        async def make_students(school_row, klass, n, prefix):
            rows = [User(id=uuid.uuid4(), school_id=school_row.id, email=f"{prefix}{i}-{uuid.uuid4().hex[:6]}@example.org",
                         full_name=f"Student {prefix}{i:04d}", role="student") for i in range(n)]
            async with rt.db.transaction() as s:
                s.add_all(rows)
                await s.flush()
                if klass is not None:
                    for u in rows:
                        await school.enroll(s, klass, u, "student")
            return rows

        async with rt.db.transaction() as s:
            big = await school.ensure_school(s, "bench-big", "Overview School")
            other = await school.ensure_school(s, "bench-other", "Other School")
            klass = await school.ensure_class(s, big, "Bench class")
            teacher = await school.ensure_user(s, big, "bench-teacher@example.org", "Bench Teacher", "teacher")
            await school.enroll(s, klass, teacher, "teacher")
        overview_students = await make_students(big, None, 600, "o")
        rest = await make_students(other, None, 1400, "r")
        class_students = await make_students(big, klass, 35, "c")

        def ratings_for(student, per_competency):
            for cid in competencies:
                v = versions[cid]
                criteria = [c["id"] for c in v.definition["criteria"]]
                level = rng.randint(1, 3)
                for k in range(per_competency):
                    level = max(1, min(4, level + rng.choice((-1, 0, 0, 1))))
                    yield {"id": uuid.uuid4(), "student_id": student.id, "competency_id": cid, "rubric_version_id": v.id,
                           "criterion_id": criteria[k % len(criteria)], "level": level,
                           "work_date": date(2026, 8, 24) + timedelta(days=k * 3), "source": "teacher",
                           "rated_by": teacher.id, "evidence": []}

        async def load(students, per_competency):
            batch = []
            for st in students:
                batch.extend(ratings_for(st, per_competency))
                if len(batch) >= 20_000:
                    await store(batch)
                    batch = []
            if batch:
                await store(batch)

        async def store(batch):
            async with rt.db.transaction() as s:
                await insert_ratings(s, batch)

        await load(overview_students + rest, 30)
        await load(class_students, 40)
        async with rt.db.transaction() as s:
            await s.execute(text("ANALYZE ratings"))
        seeded_s = time.perf_counter() - started

        if freeze:  # as the server does once started (web/app.py): long-lived objects are not walked again
            import gc

            gc.collect()
            gc.freeze()

        async def timed(fn):
            out = []
            for _ in range(runs):
                t0 = time.perf_counter()
                async with rt.db.transaction() as s:
                    result = await fn(s)
                out.append((time.perf_counter() - t0) * 1000)
            return out, result

        # The first reads calculate and store every standing (the ratings came in bulk); then
        # each read finds them fresh, as after any day of use.
        t0 = time.perf_counter()
        async with rt.db.transaction() as s:
            await service.school_overview(s, big.id, settings)
        cold_overview_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        async with rt.db.transaction() as s:
            await service.class_grid(s, klass.id, settings)
        cold_grid_s = time.perf_counter() - t0
        grid_ms, grid = await timed(lambda s: service.class_grid(s, klass.id, settings))
        overview_ms, overview = await timed(lambda s: service.school_overview(s, big.id, settings))
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            await timed(lambda s: service.school_overview(s, big.id, settings))
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)

    summary = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
        "data": {"students": 2035, "competencies": len(competencies), "ratings": 2000 * 14 * 30 + 35 * 14 * 40,
                 "seeded_s": round(seeded_s, 1), "gc_frozen": freeze, "first_overview_s": round(cold_overview_s, 1),
                 "first_grid_s": round(cold_grid_s, 2)},
        "grid": {"students": len(grid.students), "competencies": len(grid.competencies), "runs": runs,
                 "p50_ms": round(statistics.median(grid_ms), 1), "p95_ms": round(_pct(grid_ms, 95), 1),
                 "max_ms": round(max(grid_ms), 1), "target_p95_ms": 150, "runs_ms": [round(t, 1) for t in grid_ms]},
        "overview": {"students": overview.students, "competencies": len(overview.by_competency), "runs": runs,
                     "needing_support": len(overview.needing_support),
                     "p50_ms": round(statistics.median(overview_ms), 1), "p95_ms": round(_pct(overview_ms, 95), 1),
                     "max_ms": round(max(overview_ms), 1), "target_p95_ms": 300,
                     "runs_ms": [round(t, 1) for t in overview_ms]},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mastery_grid.json").write_text(json.dumps(summary, indent=2) + "\n")
    g, o = summary["grid"], summary["overview"]
    (RESULTS / "mastery_grid.md").write_text(
        "# Mastery record bench\n\n"
        f"{summary['data']['ratings']:,} ratings, {summary['data']['students']:,} students, {len(competencies)} competencies "
        f"(seeded in {seeded_s:.0f} s); {summary['machine']['cpus']} CPUs; service level, {runs} runs each.\n\n"
        f"Stored standings: the first overview after the bulk load calculated and stored every one in "
        f"{cold_overview_s:.1f} s (the grid's class, already counted there, {cold_grid_s:.2f} s); the runs below read them. "
        f"Garbage collector: {'frozen after seeding, as the server freezes what it made at start' if freeze else 'not frozen (--no-freeze)'}.\n\n"
        "| view | size | p50 ms | p95 ms | max ms | target p95 |\n|---|---|---|---|---|---|\n"
        f"| class grid | {g['students']} × {g['competencies']}, 40 ratings each | {g['p50_ms']} | {g['p95_ms']} | {g['max_ms']} | ≤ 150 |\n"
        f"| school overview | {o['students']} students × {o['competencies']} | {o['p50_ms']} | {o['p95_ms']} | {o['max_ms']} | ≤ 300 |\n")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print where one overview's time goes")
    parser.add_argument("--no-freeze", dest="freeze", action="store_false",
                        help="leave the seeding's objects to the garbage collector's full passes")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.runs, args.profile, args.freeze)), indent=2))
