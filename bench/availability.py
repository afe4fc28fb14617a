"""Availability bench: does any input a user may send stall other users?

A real `beacon serve` (in-process worker included) on a fresh embedded database, on loopback.
A prober, in a process of its own, asks /healthz ten times a second, first with nothing else
going on (baseline), then while 20 clients send, back to back, the worst inputs the limits allow:

  letters      a 200,000-letter hand-in with no spaces (redaction used to be quadratic on it)
  tags         a project request with 20 tags of 100 characters (a 2 MB tag once froze the server)
  docx         a 250 KB .docx of unclosed paragraphs (the paragraph pattern used to be quadratic)
  pdf          a 40-page PDF (the most Beacon reads), its text extracted in a separate process
  passwords    wrong-password sign-ins (argon2, off the event loop; throttled after a few)
  huge         a 3 MB JSON body, refused before sign-in (413)

Writes bench/results/availability.md and .json: /healthz p50/p95/p99 and max, baseline and
under attack, and each kind's answers by status.

    python bench/availability.py [--clients 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))
from review_load import Server, pct, stop_leftover_postgres  # noqa: E402

PASSWORD = "bench-availability"
KINDS = ("letters", "tags", "docx", "pdf", "passwords", "huge")


def make_docx(paragraphs: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        # Unclosed paragraphs, then one real one: the worst case for a lazy paragraph pattern.
        body = "<w:p " * paragraphs + "<w:p><w:r><w:t>My claim is that trees cool our yard.</w:t></w:r></w:p>"
        z.writestr("word/document.xml", f"<w:document><w:body>{body}</w:body></w:document>")
    return out.getvalue()


def make_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` pages (the most Beacon reads), each with a long line of text."""
    from tests.feedback.test_uploads import (
        make_pdf as pdf_of,  # the same hand-written PDF as the tests
    )

    line = "Our investigation measured how light changes plant growth over three weeks of trials. "
    return pdf_of([line * 20] * pages)


async def seed(students: int) -> list[str]:
    from beacon.config import Settings
    from beacon.runtime import open_runtime
    from beacon.school import service as school
    from beacon.school.auth import hash_password
    from beacon.school.schemas import StudentSeed

    password_hash = hash_password(PASSWORD)
    emails = []
    async with open_runtime(Settings()) as rt, rt.db.transaction() as session:
        sch = await school.ensure_school(session, "bench-availability", "Bench School")
        teacher = await school.ensure_user(session, sch, "teacher@bench.example.org", "Teacher Bench", "teacher")
        klass = await school.ensure_class(session, sch, "Bench class")
        await school.enroll(session, klass, teacher, "teacher")
        for s in range(students):
            student = await school.ensure_student(session, sch, klass, StudentSeed(
                first_name=f"Student{s}", last_name="Bench", email=f"s{s}@bench.example.org", grade=9))
            student.password_hash = password_hash
            emails.append(student.email)
    return emails


SLOW_MS = 50.0


async def probe(base: str, seconds: float, slow_at: list[float] | None = None) -> list[float]:
    """/healthz every 100 ms for ``seconds``; latencies in ms (a failure counts as 10 s). When
    each probe over ``SLOW_MS`` started (seconds into the run) goes to ``slow_at``."""
    samples = []
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        began = time.monotonic()
        end = began + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            try:
                await client.get("/healthz")
                samples.append((time.perf_counter() - started) * 1000)
            except httpx.HTTPError:
                samples.append(10_000.0)
            if slow_at is not None and samples[-1] > SLOW_MS:
                slow_at.append(round(time.monotonic() - began - samples[-1] / 1000, 1))
            await asyncio.sleep(max(0.0, 0.1 - (time.perf_counter() - started)))
    return samples


def probe_apart(base: str, seconds: float) -> tuple[list[float], list[float]]:
    """``probe`` in a process of its own, as another user on another machine would be: the
    attackers' clients (TLS contexts, multi-megabyte bodies) must not delay its clock."""
    slow_at: list[float] = []
    return asyncio.run(probe(base, seconds, slow_at)), slow_at


async def token_of(base: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        return (await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})).json()["token"]


async def attacker(base: str, kind: str, token: str, end: float, answers: Counter, payloads: dict) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        headers = {"Authorization": f"Bearer {token}"}
        while time.monotonic() < end:
            try:
                if kind == "letters":
                    r = await client.post("/api/v1/submissions", headers=headers,
                                          json={"title": "Letters", "body": payloads["letters"]})
                elif kind == "tags":
                    r = await client.post("/api/v1/projects/requests", headers=headers,
                                          json={"interests": "music, robots", "tags": payloads["tags"]})
                elif kind == "docx":
                    r = await client.post("/api/v1/submissions/upload", headers=headers, files={"file": (
                        "essay.docx", payloads["docx"],
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")})
                elif kind == "pdf":
                    r = await client.post("/api/v1/submissions/upload", headers=headers,
                                          files={"file": ("lab.pdf", payloads["pdf"], "application/pdf")})
                elif kind == "passwords":
                    r = await client.post("/api/v1/auth/token", json={
                        "email": f"guess-{uuid.uuid4().hex[:8]}@bench.example.org", "password": "wrong"})
                else:
                    r = await client.post("/api/v1/submissions", content=payloads["huge"],
                                          headers={"content-type": "application/json"})
                answers[f"{kind} {r.status_code}"] += 1
            except httpx.HTTPError as exc:
                answers[f"{kind} {type(exc).__name__}"] += 1


def summary(samples: list[float]) -> dict:
    return {"n": len(samples), "p50_ms": round(pct(samples, 0.50), 1), "p95_ms": round(pct(samples, 0.95), 1),
            "p99_ms": round(pct(samples, 0.99), 1), "max_ms": round(max(samples), 1)}


async def run(args, data_dir: Path) -> dict:
    os.environ["BEACON_DATA_DIR"] = str(data_dir)
    os.environ.pop("BEACON_DATABASE_URL", None)
    emails = await seed(args.clients)
    server = Server(data_dir)
    server.start()
    payloads = {"letters": "a" * 200_000, "tags": ["t" * 100] * 20, "docx": make_docx(50_000),
                "pdf": make_pdf(40), "huge": b'{"title": "x", "body": "' + b"y" * (3 * 1024 * 1024) + b'"}'}
    try:
        baseline = await probe(server.base, args.baseline_seconds)
        answers: Counter = Counter()
        # Signed in beforehand (a sign-in flood is the "passwords" kind): the attack is what follows.
        tokens = [await token_of(server.base, email) for email in emails]
        kinds = args.kinds.split(",") if args.kinds else KINDS
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as apart:
            await asyncio.get_running_loop().run_in_executor(apart, time.sleep, 0)  # started before the clock
            end = time.monotonic() + args.seconds
            attackers = [attacker(server.base, kinds[i % len(kinds)], tokens[i], end, answers, payloads)
                         for i in range(args.clients)]
            results = await asyncio.gather(
                asyncio.get_running_loop().run_in_executor(apart, probe_apart, server.base, args.seconds), *attackers)
        attacked, slow_at = results[0]
    finally:
        server.stop()
    return {"machine": {"cores": os.cpu_count(), "python": platform.python_version()},
            "clients": args.clients, "seconds": args.seconds, "baseline": summary(baseline),
            "under_attack": summary(attacked), "slow_probes_started_at_s": slow_at, "answers": dict(sorted(answers.items())),
            "payload_bytes": {k: len(v) if isinstance(v, (bytes, str)) else len(json.dumps(v)) for k, v in payloads.items()}}


def write(report: dict, name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    b, a = report["baseline"], report["under_attack"]
    code = subprocess.run(["git", "-C", str(BENCH.parent), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    lines = [
        "# Availability under the worst inputs the limits allow", "",
        f"Code `{code}`; {report['machine']['cores']} cores; `beacon serve` with its in-process worker on "
        f"loopback; {report['clients']} clients for {report['seconds']} s, one /healthz probe every 100 ms from a process of its own.", "",
        "| /healthz | n | p50 ms | p95 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|",
        f"| nothing else running | {b['n']} | {b['p50_ms']} | {b['p95_ms']} | {b['p99_ms']} | {b['max_ms']} |",
        f"| under attack | {a['n']} | {a['p50_ms']} | {a['p95_ms']} | {a['p99_ms']} | {a['max_ms']} |", "",
        "Answers to the attackers (kind, status: count): "
        + ", ".join(f"{k}: {v}" for k, v in report["answers"].items()) + ".", "",
        "Kinds: " + "; ".join(f"{k} ({v:,} bytes)" for k, v in report["payload_bytes"].items()) + ".",
        f"Probes over {SLOW_MS:.0f} ms under attack started at (s into the run): "
        + (", ".join(str(t) for t in report["slow_probes_started_at_s"]) or "none") + ".",
        "", "Target: p99 under 50 ms while under attack.",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--name", default="availability")
    parser.add_argument("--kinds", default="", help="comma-separated subset of " + ",".join(KINDS))
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="beacon-availability-"))
    try:
        report = asyncio.run(run(args, data_dir))
    finally:
        stop_leftover_postgres(data_dir / "pgdata")
        shutil.rmtree(data_dir, ignore_errors=True)
    write(report, args.name)
    print(json.dumps({k: report[k] for k in ("baseline", "under_attack")}, indent=2))


if __name__ == "__main__":
    main()
