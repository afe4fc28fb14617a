"""Review load benchmark: the teacher queue page and the approve action under many teachers at once.

A real `beacon serve` (one uvicorn process, its in-process drafting worker, the embedded
PostgreSQL in a fresh temporary data directory) on 127.0.0.1, driven over real HTTP:

1. Seed (in this process, before the server starts): one school, N teachers each with a class of
   students, and 2 x D submissions per teacher (D for the page loop, D for the API loop), plus
   B extra teachers for the single-teacher baseline. The server's worker drafts them all with the
   offline model; we wait until every queue holds its 2 x D pending drafts.
2. Baseline: B extra teachers (same class and queue size), one after another, never two at once:
   each does D rounds of GET /teacher (queue page) -> approve the oldest draft with the page form
   POST (303, not followed), then D rounds of GET /api/v1/review/queue -> POST
   /api/v1/drafts/{id}/decision. B x D samples per request kind, so its p95 means something.
3. Load: the N teachers at once (one httpx client each, its own session cookie or bearer token),
   the same two loops.

Latencies are per request, wall clock at the client (which shares the machine's cores with the
server and Postgres). Issue targets: queue page p95 <= 50 ms, approve p95 <= 30 ms.

    python bench/review_load.py [--teachers 50] [--think 0] [--drafts-per-teacher 10]
                                [--baseline-teachers 4] [--students-per-class 6] [--name review_load]

--think 0 drives the teachers back to back (saturation: what the server can take at most);
--think 3 lets each read for about 3 s before every round (what teachers live with).

Writes bench/results/review_load.json and .md."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-review-load"
TARGETS_P95_MS = {"queue_page": 50.0, "approve_page": 30.0, "queue_api": 50.0, "approve_api": 30.0}
DRAFT_LINK = re.compile(r'href="/teacher/drafts/([0-9a-f-]{36})"')
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(samples_ms: list[float], wall_s: float) -> dict:
    if not samples_ms:
        return {"n": 0}
    return {
        "n": len(samples_ms),
        "p50_ms": round(pct(samples_ms, 0.5), 1),
        "p95_ms": round(pct(samples_ms, 0.95), 1),
        "p99_ms": round(pct(samples_ms, 0.99), 1),
        "max_ms": round(max(samples_ms), 1),
        "mean_ms": round(sum(samples_ms) / len(samples_ms), 1),
        # Requests of this kind per second of the phase's wall time (the phase mixes two kinds).
        "per_s": round(len(samples_ms) / wall_s, 1),
    }


def sample_works() -> list[tuple[str, str]]:
    """(title, text) of every demo sample and retrieval-eval work: varied subjects and rubrics."""
    works = [(p.stem.replace("-", " "), p.read_text(encoding="utf-8"))
             for p in sorted((ROOT / "src" / "beacon" / "demo" / "samples").glob("*.md"))]
    works += [(p.stem.replace("--", " "), p.read_text(encoding="utf-8"))
              for p in sorted((ROOT / "evals" / "retrieval" / "works").glob("*.txt"))]
    return works


def code_measured(source: Path) -> str:
    """The commit measured and whether src/ had uncommitted changes; or, when PYTHONPATH points
    at a copy of the code (frozen while src/ is being edited), that copy: git says nothing of it."""
    if not source.is_relative_to(ROOT / "src"):
        return f"a copy of the code at {source.parent}"

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted src/ changes" if git("status", "--porcelain", "--", "src") else "")


def teacher_email(i: str) -> str:
    return f"teacher-{i}@bench.example.org"


async def seed(labels: list[str], students_per_class: int, submissions_per_teacher: int) -> None:
    """Roster and submissions, committed; the drafting jobs are deferred with them."""
    from beacon.config import Settings
    from beacon.feedback.service import submit_for_feedback
    from beacon.runtime import open_runtime
    from beacon.school import service as school
    from beacon.school.auth import hash_password
    from beacon.school.schemas import StudentSeed

    works = sample_works()
    password_hash = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once, share it
    async with open_runtime(Settings()) as rt:
        async with rt.db.transaction() as session:
            sch = await school.ensure_school(session, "bench-review-load", "Bench School")
            rosters = []
            for label in labels:
                teacher = await school.ensure_user(session, sch, teacher_email(label), f"Teacher {label}", "teacher")
                teacher.password_hash = password_hash
                klass = await school.ensure_class(session, sch, f"Class {label}")
                await school.enroll(session, klass, teacher, "teacher")
                rosters.append([
                    await school.ensure_student(session, sch, klass, StudentSeed(
                        first_name=f"Student{s}", last_name=f"Class{label}",
                        email=f"s{s}-c{label}@bench.example.org", grade=8))
                    for s in range(students_per_class)
                ])
        async with rt.db.transaction() as session:
            for t, pupils in enumerate(rosters):
                for k in range(submissions_per_teacher):
                    title, text = works[(t + k) % len(works)]
                    await submit_for_feedback(session, student_id=pupils[k % len(pupils)].id,
                                              title=title, body=f"{text}\n\n(draft {t}-{k})")


@dataclass
class Server:
    """`beacon serve` as a subprocess, output to a log file in the data directory."""

    data_dir: Path
    port: int = 0
    process: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.data_dir / "serve.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 120.0) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        beacon = str(Path(sys.executable).with_name("beacon"))
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([beacon, "serve", "--port", str(self.port)], env=os.environ,
                                            stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"beacon serve exited:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"beacon serve not healthy after {timeout_s} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # uvicorn's graceful shutdown stops the embedded Postgres too
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Timeout)):?\s*(.*)$")


def server_exceptions(log: Path) -> dict[str, dict]:
    """Exceptions the server logged (the last line of each traceback), by type, with one message:
    the why behind 500s and dropped connections, kept since the log goes with the data dir."""
    found: dict[str, dict] = {}
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        match = EXCEPTION_LINE.match(line)
        if match:
            entry = found.setdefault(match.group(1), {"count": 0, "example": match.group(2)[:240]})
            entry["count"] += 1
    return found


def stop_leftover_postgres(pgdata: Path) -> None:
    """Safety net: a postmaster still running on our temporary pgdata (e.g. the server was
    killed) gets a fast shutdown by its own pid, so the data directory can be removed."""
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


@dataclass
class Teacher:
    label: str
    pages: httpx.AsyncClient  # session cookie, as a browser
    api: httpx.AsyncClient  # bearer token, as a script
    csrf: str = ""


async def sign_in(base: str, label: str) -> Teacher:
    limits = httpx.Limits(max_connections=1)  # one browser tab / one script per teacher
    pages = httpx.AsyncClient(base_url=base, timeout=120, limits=limits)
    api = httpx.AsyncClient(base_url=base, timeout=120, limits=limits)
    login = await pages.post("/login", data={"email": teacher_email(label), "password": PASSWORD})
    if login.status_code != 303:
        raise RuntimeError(f"page sign-in failed for teacher {label}: {login.status_code}")
    token = await api.post("/api/v1/auth/token", json={"email": teacher_email(label), "password": PASSWORD})
    token.raise_for_status()
    api.headers["Authorization"] = f"Bearer {token.json()['token']}"
    return Teacher(label, pages, api)


async def wait_for_drafts(teachers: list[Teacher], expected: int, timeout_s: float) -> float:
    """Seconds until every teacher's queue holds ``expected`` pending drafts (the worker is done)."""
    start = time.perf_counter()
    last = -1
    while True:
        counts = [len((await t.api.get("/api/v1/review/queue")).json()) for t in teachers]
        done = sum(counts)
        if done != last:
            print(f"  drafted {done}/{expected * len(teachers)}", flush=True)
            last = done
        if all(c >= expected for c in counts):
            return time.perf_counter() - start
        if time.perf_counter() - start > timeout_s:
            raise RuntimeError(f"drafts not ready after {timeout_s} s: {done}/{expected * len(teachers)}")
        await asyncio.sleep(2)


@dataclass
class Timings:
    queue: list[float] = field(default_factory=list)
    approve: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)  # the first error message of each kind

    def error(self, what: str, response: httpx.Response | None = None, detail: str = "") -> None:
        self.errors[what] = self.errors.get(what, 0) + 1
        if response is not None:
            detail = response.text[:200]
        self.examples.setdefault(what, detail)


async def timed(call: Awaitable[httpx.Response], into: list[float]) -> httpx.Response:
    start = time.perf_counter()
    response = await call
    into.append((time.perf_counter() - start) * 1000)
    return response


async def page_round(t: Teacher, out: Timings) -> None:
    """Load the queue page, then approve its oldest draft with the page's form."""
    page = await timed(t.pages.get("/teacher"), out.queue)
    ids = DRAFT_LINK.findall(page.text) if page.status_code == 200 else []
    if not ids:
        out.error(f"queue page {page.status_code}" + (" (empty)" if page.status_code == 200 else ""),
                  page if page.status_code != 200 else None)
        return
    done = await timed(t.pages.post(f"/teacher/drafts/{ids[0]}/decision",
                                    data={"csrf": t.csrf, "action": "approve"}), out.approve)
    if done.status_code != 303:
        out.error(f"approve page {done.status_code}", done)


async def api_round(t: Teacher, out: Timings) -> None:
    """Read the JSON queue, then approve its oldest draft."""
    queue = await timed(t.api.get("/api/v1/review/queue"), out.queue)
    drafts = queue.json() if queue.status_code == 200 else []
    if not drafts:
        out.error(f"queue api {queue.status_code}" + (" (empty)" if queue.status_code == 200 else ""),
                  queue if queue.status_code != 200 else None)
        return
    done = await timed(t.api.post(f"/api/v1/drafts/{drafts[0]['id']}/decision", json={"action": "approve"}),
                       out.approve)
    if done.status_code != 200:
        out.error(f"approve api {done.status_code}", done)


async def warm_up(teachers: list[Teacher]) -> None:
    """Untimed, right before a loop: templates compiled, keep-alive connections fresh (uvicorn
    closes idle ones after 5 s), the session's CSRF token read from the page."""
    for t in teachers:
        t.csrf = CSRF_INPUT.search((await t.pages.get("/teacher")).text).group(1)
        (await t.api.get("/api/v1/review/queue")).raise_for_status()


async def phase(teachers: list[Teacher], rounds: int, one_round: Callable[[Teacher, Timings], Awaitable[None]],
                *, together: bool, think_s: float = 0.0) -> dict:
    """Every teacher does ``rounds`` rounds: all at once, or one teacher after another."""
    out = Timings()

    jitter = random.Random(7)

    async def loop(t: Teacher) -> None:
        for _ in range(rounds):
            if think_s:  # reading the draft before deciding: 0.5x to 1.5x the mean
                await asyncio.sleep(think_s * (0.5 + jitter.random()))
            try:
                await one_round(t, out)
            except httpx.TransportError as exc:  # counted, not fatal: a dropped request is a result too
                out.error(type(exc).__name__, detail=str(exc)[:200])

    wall = 0.0
    for group in [teachers] if together else [[t] for t in teachers]:
        await warm_up(group)
        start = time.perf_counter()
        await asyncio.gather(*(loop(t) for t in group))
        wall += time.perf_counter() - start
    return {"wall_s": round(wall, 2), "queue": summary(out.queue, wall), "approve": summary(out.approve, wall),
            "errors": out.errors, "error_examples": out.examples}


async def run(args: argparse.Namespace, data_dir: Path) -> dict:
    rounds = args.drafts_per_teacher
    per_teacher = 2 * rounds  # one set for the page loop, one for the API loop
    report: dict = {"name": args.name, "environment": {
        "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "server": "beacon serve, defaults (1 uvicorn process + in-process worker), embedded PostgreSQL, offline model",
        "teachers": args.teachers, "think_s": args.think, "students_per_class": args.students_per_class,
        "pending_drafts_per_teacher_at_start": per_teacher, "approvals_per_teacher_per_loop": rounds,
        "concurrency": args.teachers, "baseline_teachers_one_at_a_time": args.baseline_teachers,
        "client": "httpx.AsyncClient per teacher, same machine",
        # Anything else busy on the machine skews the numbers: worth seeing next to them.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        # Normally ROOT/src; PYTHONPATH may point both this process and the server at a frozen copy.
        "code": code_measured(Path(importlib.util.find_spec("beacon").origin).resolve().parent),
    }}
    total = time.perf_counter()

    t = time.perf_counter()
    labels = [str(i) for i in range(args.teachers)] + [f"baseline-{i}" for i in range(args.baseline_teachers)]
    await seed(labels, args.students_per_class, per_teacher)
    report["seed_s"] = round(time.perf_counter() - t, 1)
    print(f"seeded {len(labels)} teachers, {len(labels) * per_teacher} submissions "
          f"in {report['seed_s']} s", flush=True)

    server = Server(data_dir)
    try:
        t = time.perf_counter()
        server.start()
        report["server_start_s"] = round(time.perf_counter() - t, 1)
        # Sign-ins are sequential and untimed: argon2 verification is deliberately slow.
        everyone = [await sign_in(server.base, label) for label in labels]
        load, solo = everyone[:args.teachers], everyone[args.teachers:]
        try:
            report["drafting_wait_s"] = round(await wait_for_drafts(everyone, per_teacher, args.draft_timeout), 1)

            print(f"baseline: {len(solo)} teachers, one at a time ...", flush=True)
            report["baseline"] = {"page": await phase(solo, rounds, page_round, together=False),
                                  "api": await phase(solo, rounds, api_round, together=False)}
            print(f"load: {len(load)} teachers ...", flush=True)
            report["load"] = {"page": await phase(load, rounds, page_round, together=True, think_s=args.think),
                              "api": await phase(load, rounds, api_round, together=True, think_s=args.think)}
            left = [len((await x.api.get("/api/v1/review/queue")).json()) for x in everyone]
            report["pending_after"] = sum(left)  # 0 when every approval went through
        finally:
            for teacher in everyone:
                await teacher.pages.aclose()
                await teacher.api.aclose()
    except BaseException:
        if server.log.exists():  # the data dir (and this log) is deleted on exit
            print(f"--- end of serve.log ---\n{server.log.read_text()[-4000:]}", file=sys.stderr)
        raise
    finally:
        server.stop()
        stop_leftover_postgres(data_dir / "pgdata")
        report["server_exceptions"] = server_exceptions(server.log)
    report["total_s"] = round(time.perf_counter() - total, 1)
    return report


def write(report: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{report['name']}.json").write_text(json.dumps(report, indent=2) + "\n")
    env = report["environment"]
    n = env["teachers"]
    pace = ("back to back: the server saturated" if not env.get("think_s")
            else f"each after reading for {env['think_s']:g} s on average, 0.5x-1.5x")

    def row(name: str, key: str, loop: str, kind: str) -> str:
        one, many = report["baseline"][loop][kind], report["load"][loop][kind]
        ratio = round(many["p95_ms"] / one["p95_ms"], 1)
        ok = "yes" if many["p95_ms"] <= TARGETS_P95_MS[key] else "no"
        return (f"| {name} | {one['p50_ms']} / {one['p95_ms']} | {many['p50_ms']} / {many['p95_ms']} / "
                f"{many['p99_ms']} / {many['max_ms']} | {ratio}x | {many['per_s']} | ≤ {TARGETS_P95_MS[key]:g} ms ({ok}) |")

    errors = {f"{phase}/{loop}": report[phase][loop]["errors"]
              for phase in ("baseline", "load") for loop in ("page", "api") if report[phase][loop]["errors"]}
    lines = [
        "# Review load benchmark", "",
        f"A real `beacon serve` on 127.0.0.1 ({env['server']}); {env['cores']} cores, Python {env['python']}; "
        f"code: {env['code']}. "
        f"{n} teachers at once, one httpx client each, on the same machine; each has a class of "
        f"{env['students_per_class']} students and {env['pending_drafts_per_teacher_at_start']} pending drafts, and does "
        f"{env['approvals_per_teacher_per_loop']} rounds of *queue → approve the oldest* through the pages "
        f"({pace}) "
        f"(session cookie, form POST with CSRF, 303 not followed), then as many through the JSON API. "
        f"Baseline: {env['baseline_teachers_one_at_a_time']} more teachers like them, one at a time, same rounds. "
        f"Load average at start: {env['load_average_at_start']}.", "",
        "Latency in ms per request at the client; throughput is requests of that kind per second of the loop's wall time.", "",
        f"| request | 1 teacher p50 / p95 | {n} teachers p50 / p95 / p99 / max | p95 ratio | {n} teachers req/s | target p95 |",
        "|---|---:|---:|---:|---:|---:|",
        row("queue page `GET /teacher`", "queue_page", "page", "queue"),
        row("approve `POST /teacher/drafts/{id}/decision`", "approve_page", "page", "approve"),
        row("queue API `GET /api/v1/review/queue`", "queue_api", "api", "queue"),
        row("approve API `POST /api/v1/drafts/{id}/decision`", "approve_api", "api", "approve"),
        "",
        f"Loop wall time with {n} teachers: pages {report['load']['page']['wall_s']} s, API {report['load']['api']['wall_s']} s. "
        f"Setup: seeding {report['seed_s']} s, server start {report['server_start_s']} s, "
        f"drafting wait {report['drafting_wait_s']} s; whole run {report['total_s']} s. "
        f"Drafts left pending after the run: {report['pending_after']}. "
        f"Errors: {json.dumps(errors) if errors else 'none'}.",
    ]
    examples = {kind: text for p in ("baseline", "load") for loop in ("page", "api")
                for kind, text in report[p][loop]["error_examples"].items() if text}
    if examples:
        lines += ["", "First response or error of each kind:", ""]
        lines += [f"- {kind}: `{text.strip()}`" for kind, text in sorted(examples.items())]
    if report["server_exceptions"]:
        lines += ["", "Exceptions in the server log:", ""]
        lines += [f"- `{name}` × {e['count']}: {e['example']}" for name, e in report["server_exceptions"].items()]
    (RESULTS / f"{report['name']}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", type=int, default=50)
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a teacher reads before each round (0: back to back, the server saturated)")
    parser.add_argument("--name", default="review_load", help="results file name in bench/results/")
    parser.add_argument("--drafts-per-teacher", type=int, default=10, help="approvals per teacher per loop (pages, API)")
    parser.add_argument("--baseline-teachers", type=int, default=4, help="run one at a time for the baseline")
    parser.add_argument("--students-per-class", type=int, default=6)
    parser.add_argument("--draft-timeout", type=float, default=900.0, help="seconds to wait for the worker")
    args = parser.parse_args()

    # Both this process (seeding) and the server use the same fresh data dir, hence its embedded Postgres.
    data_dir = Path(tempfile.mkdtemp(prefix="beacon-bench-load-"))
    os.environ["BEACON_DATA_DIR"] = str(data_dir)
    os.environ.pop("BEACON_DATABASE_URL", None)
    os.environ["BEACON_MODEL"] = "offline"
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")
    try:
        report = asyncio.run(run(args, data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(report, indent=2))
    write(report)


if __name__ == "__main__":
    main()
