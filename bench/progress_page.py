"""'My progress' bench: how fast is a student's progress page on a full record?

A fresh embedded database; one student with 60 ratings on each of 14 competencies (840
ratings: a term of demonstrations logged by hand, every criterion of a competency rated
together, levels wandering up and down, every third with an artifact link). Times, over
repeated runs, the whole page through the ASGI app (sign-in cookie, routing, the record, the
charts' layout, the template) and, apart, the service alone (``mastery.progress.progress_of``).

Target (issue 15): page p95 ≤ 150 ms.

    python bench/progress_page.py [--runs 50]
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
PASSWORD = "bench-progress-password"
PER_COMPETENCY = 60


def _pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _ms(values: list[float]) -> dict:
    return {"p50_ms": round(statistics.median(values), 1), "p95_ms": round(_pct(values, 95), 1),
            "max_ms": round(max(values), 1), "runs_ms": [round(t, 1) for t in values]}


async def main(runs: int, profile: bool = False, save: str | None = None) -> dict:
    os.environ.setdefault("BEACON_DATA_DIR", tempfile.mkdtemp(prefix="beacon-bench-"))
    os.environ.pop("BEACON_DATABASE_URL", None)
    # One reader asking again and again is what the per-person limit refuses: not what is measured.
    os.environ.setdefault("BEACON_RATE_LIMIT_REQUESTS", "100000/second")
    import httpx
    from sqlalchemy import text

    from beacon.config import get_settings
    from seed import insert_ratings  # bench/seed.py: the script's folder is on the path
    from beacon.mastery.progress import progress_of
    from beacon.rubrics import repository as rubrics
    from beacon.school import service as school
    from beacon.school.auth import hash_password
    from beacon.school.models import User
    from beacon.school.schemas import StudentSeed
    from beacon.web.app import create_app

    rng = random.Random(15)
    settings = get_settings()
    app = create_app(settings, worker=False)
    async with app.router.lifespan_context(app):
        db = app.state.runtime.db
        started = time.perf_counter()
        async with db.transaction() as s:
            ids = await rubrics.current_version_ids(s, None)
            versions = {v.competency_id: v for v in await rubrics.versions_by_ids(s, list(ids.values()))}
            competencies = sorted(versions)[:14]
            sch = await school.ensure_school(s, "bench-progress", "Progress School")
            klass = await school.ensure_class(s, sch, "Advisory")
            teacher = await school.ensure_user(s, sch, "bench-progress-teacher@example.org", "Bench Teacher", "teacher")
            await school.enroll(s, klass, teacher, "teacher")
            student = await school.ensure_student(s, sch, klass, StudentSeed(
                first_name="Maya", last_name="Okafor", email="bench-progress-maya@example.org", grade=8))
            (await s.get(User, student.id)).password_hash = hash_password(PASSWORD)

        rows = []
        for cid in competencies:
            version = versions[cid]
            criteria = [c["id"] for c in version.definition["criteria"]]
            top = len(version.definition["levels"])
            levels = {c: rng.randint(1, 2) for c in criteria}
            for k in range(PER_COMPETENCY):
                criterion = criteria[k % len(criteria)]
                if k % len(criteria) == 0:  # a new piece of work, a few days after the last
                    on = date(2025, 8, 25) + timedelta(days=3 * (k // len(criteria)) + rng.randint(0, 2))
                    note = f"{version.definition['title']}: demonstration {k // len(criteria) + 1}"
                    link = f"https://portfolio.example.org/maya/{cid}/{k}" if (k // len(criteria)) % 3 == 0 else None
                levels[criterion] = max(1, min(top, levels[criterion] + rng.choice((-1, 0, 1, 1))))
                rows.append({"id": uuid.uuid4(), "student_id": student.id, "competency_id": cid,
                             "rubric_version_id": version.id, "criterion_id": criterion, "level": levels[criterion],
                             "work_date": on, "source": "teacher", "note": note, "artifact_url": link,
                             "rated_by": teacher.id})
        async with db.transaction() as s:
            await insert_ratings(s, rows)
            await s.execute(text("ANALYZE ratings"))
        seeded_s = time.perf_counter() - started

        import gc  # as the server does once started (web/app.py): what setup made is not walked again

        gc.collect()
        gc.freeze()

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://beacon.test") as client:
            signed_in = await client.post("/login", data={"email": student.email, "password": PASSWORD})
            assert signed_in.status_code == 303, signed_in.text
            t0 = time.perf_counter()
            first = await client.get("/student/progress")  # calculates and stores the 14 standings
            first_ms = (time.perf_counter() - t0) * 1000
            assert first.status_code == 200, first.text[:500]
            page_ms = []
            for _ in range(runs):
                t0 = time.perf_counter()
                page = await client.get("/student/progress")
                page_ms.append((time.perf_counter() - t0) * 1000)
                assert page.status_code == 200
            if profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(10):
                    await client.get("/student/progress")
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            if save:
                Path(save).write_text(page.text)
        service_ms = []
        for _ in range(runs):
            t0 = time.perf_counter()
            async with db.transaction() as s:
                progress = await progress_of(s, student, settings)
            service_ms.append((time.perf_counter() - t0) * 1000)

    points = sum(len(cr.moments) for c in progress.competencies for cr in c.criteria)
    summary = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
        "data": {"competencies": len(progress.competencies), "ratings": len(rows), "chart_points": points,
                 "page_bytes": len(page.content), "seeded_s": round(seeded_s, 1), "gc_frozen": True,
                 "first_page_ms": round(first_ms, 1)},
        "page": {"runs": runs, **_ms(page_ms), "target_p95_ms": 150},
        "service": {"runs": runs, **_ms(service_ms)},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "progress_page.json").write_text(json.dumps(summary, indent=2) + "\n")
    p, s = summary["page"], summary["service"]
    (RESULTS / "progress_page.md").write_text(
        "# 'My progress' bench\n\n"
        f"One student, {len(rows)} ratings on {len(progress.competencies)} competencies ({PER_COMPETENCY} each), "
        f"{points} chart points; the page is {len(page.content) / 1024:.0f} KiB. {summary['machine']['cpus']} CPUs; "
        f"{runs} runs each, garbage collector frozen after seeding as the server freezes what it made at start. "
        f"The first page after the bulk load calculated and stored the 14 standings: {first_ms:.0f} ms.\n\n"
        "| what | p50 ms | p95 ms | max ms | target p95 |\n|---|---|---|---|---|\n"
        f"| the page over ASGI (sign-in cookie, record, charts, template) | {p['p50_ms']} | {p['p95_ms']} | {p['max_ms']} | ≤ 150 |\n"
        f"| the service alone (`progress_of`) | {s['p50_ms']} | {s['p95_ms']} | {s['max_ms']} | |\n")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="print where ten pages' time goes")
    parser.add_argument("--save", metavar="PATH", help="write the last page's HTML here, to look at")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.runs, args.profile, args.save)), indent=2))
