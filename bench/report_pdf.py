"""Class reports bench: how long does a 30-student class's report PDF take on this machine?

A fresh embedded database; a class of 30 students, each with 20 ratings on each of 14
competencies (8,400 ratings per student set: logged demonstrations, some with quoted evidence).
Times, over a few runs, ``GET /teacher/classes/{id}/reports.pdf`` through the ASGI app (the
record, 30 reports, the template, WeasyPrint in the process pool), and counts the pages.

Target (issue 15): ≤ 20 s.

    python bench/report_pdf.py [--runs 3]
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
PASSWORD = "bench-report-password"
STUDENTS, PER_COMPETENCY = 30, 20
QUOTES = ("Our town should build wind turbines on the ridge.", "The data show the ice melted faster in salt water.",
          "I changed my second paragraph so each reason has its own evidence.",
          "We interviewed three farmers, and two of them disagreed with the council.")


async def main(runs: int) -> dict:
    os.environ.setdefault("BEACON_DATA_DIR", tempfile.mkdtemp(prefix="beacon-bench-"))
    os.environ.pop("BEACON_DATABASE_URL", None)
    os.environ.setdefault("BEACON_RATE_LIMIT_REQUESTS", "100000/second")
    import httpx
    import pypdfium2
    from sqlalchemy import text

    from beacon.config import get_settings
    from seed import insert_ratings  # bench/seed.py: the script's folder is on the path
    from beacon.rubrics import repository as rubrics
    from beacon.school import service as school
    from beacon.school.auth import hash_password
    from beacon.school.models import User
    from beacon.school.schemas import StudentSeed
    from beacon.web.app import create_app

    rng = random.Random(15)
    app = create_app(get_settings(), worker=False)
    async with app.router.lifespan_context(app):
        db = app.state.runtime.db
        started = time.perf_counter()
        async with db.transaction() as s:
            ids = await rubrics.current_version_ids(s, None)
            versions = {v.competency_id: v for v in await rubrics.versions_by_ids(s, list(ids.values()))}
            competencies = sorted(versions)[:14]
            sch = await school.ensure_school(s, "bench-report", "Report School")
            klass = await school.ensure_class(s, sch, "Advisory 8")
            teacher = await school.ensure_user(s, sch, "bench-report-teacher@example.org", "Bench Teacher", "teacher")
            await school.enroll(s, klass, teacher, "teacher")
            (await s.get(User, teacher.id)).password_hash = hash_password(PASSWORD)
            students = [await school.ensure_student(s, sch, klass, StudentSeed(
                first_name=f"Student{i:02d}", last_name="Bench", email=f"bench-report-{i}@example.org", grade=8))
                for i in range(STUDENTS)]
        rows = []
        for student in students:
            for cid in competencies:
                version = versions[cid]
                criteria = [c["id"] for c in version.definition["criteria"]]
                top = len(version.definition["levels"])
                level = rng.randint(1, 2)
                for k in range(PER_COMPETENCY):
                    level = max(1, min(top, level + rng.choice((-1, 0, 1, 1))))
                    on = date.today() - timedelta(days=80 - 4 * (k // len(criteria)))
                    quote = rng.choice(QUOTES) if k % 4 == 0 else None
                    rows.append({"id": uuid.uuid4(), "student_id": student.id, "competency_id": cid,
                                 "rubric_version_id": version.id, "criterion_id": criteria[k % len(criteria)],
                                 "level": level, "work_date": on, "source": "teacher",
                                 "note": f"{version.definition['title']}: demonstration {k // len(criteria) + 1}",
                                 "rated_by": teacher.id,
                                 "evidence": json.dumps([{"start": 0, "end": len(quote), "quote": quote}] if quote else [])})
        async with db.transaction() as s:
            await insert_ratings(s, rows)
            await s.execute(text("ANALYZE ratings"))
        seeded_s = time.perf_counter() - started

        import gc  # as the server does once started (web/app.py)

        gc.collect()
        gc.freeze()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://beacon.test",
                                     timeout=120) as client:
            assert (await client.post("/login", data={"email": teacher.email, "password": PASSWORD})).status_code == 303
            url = f"/teacher/classes/{klass.id}/reports.pdf"
            times, pages, size = [], 0, 0
            for _ in range(runs + 1):  # the first also calculates and stores the standings
                t0 = time.perf_counter()
                answer = await client.get(url)
                times.append(time.perf_counter() - t0)
                assert answer.status_code == 200, answer.text[:300]
                pages, size = len(pypdfium2.PdfDocument(answer.content)), len(answer.content)
    first, rest = times[0], times[1:]
    summary = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
        "data": {"students": STUDENTS, "competencies": len(competencies), "ratings": len(rows), "seeded_s": round(seeded_s, 1)},
        "class_pdf": {"runs": runs, "first_s": round(first, 2), "median_s": round(statistics.median(rest), 2),
                      "max_s": round(max(rest), 2), "pages": pages, "kib": round(size / 1024), "target_s": 20,
                      "runs_s": [round(t, 2) for t in rest]},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report_pdf.json").write_text(json.dumps(summary, indent=2) + "\n")
    c = summary["class_pdf"]
    (RESULTS / "report_pdf.md").write_text(
        "# Class reports bench\n\n"
        f"{STUDENTS} students × {len(competencies)} competencies × {PER_COMPETENCY} ratings ({len(rows):,}); "
        f"{summary['machine']['cpus']} CPUs; through the ASGI app, WeasyPrint in the process pool.\n\n"
        "| what | first s | median s | max s | pages | size | target |\n|---|---|---|---|---|---|---|\n"
        f"| one PDF of the class's 30 reports | {c['first_s']} | {c['median_s']} | {c['max_s']} | {c['pages']} | "
        f"{c['kib']} KiB | ≤ 20 s |\n")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    print(json.dumps(asyncio.run(main(parser.parse_args().runs)), indent=2))
