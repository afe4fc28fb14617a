"""Reliability benchmark: does the drafting pipeline lose, duplicate, strand or falsify work under faults?

Each scenario runs on a fresh data dir in a temporary directory (its own BEACON_DATA_DIR and
embedded PostgreSQL, started here with beacon.db.embedded.start_embedded), seeds the demo school
with `beacon demo --no-serve` (offline model), then drives a `beacon serve --no-worker` subprocess
over its public HTTP API on 127.0.0.1 while standalone `beacon worker` processes draft:

- students (the demo's six) POST /api/v1/submissions, paced over --submit-over seconds, retrying
  a refused or failed POST a bounded number of times;
- a teacher loop polls GET /api/v1/review/queue, and for each new draft records its content as
  GET /api/v1/drafts/{id} shows it, then POSTs {"action": "approve"}; a 4xx/5xx (or a dropped
  connection) is recorded and retried later, a bounded number of times.

Scenarios (--scenario, or all in turn):

  provider-faults  300 submissions; a fake OpenAI-compatible provider (bench/fault_provider.py)
                   answers 30% of calls, by a seeded RNG, with a 429 + Retry-After, a 500, a hang
                   longer than BEACON_MODEL_TIMEOUT_S, malformed JSON, JSON of the wrong shape, or
                   an assessment quoting text that is not in the work.
  worker-kills     100 submissions, 3 workers; a random worker is SIGKILLed 10 times at random
                   moments of the batch and a replacement started each time.
  db-outage        100 submissions; every Beacon process reaches Postgres through
                   bench/fault_proxy.py, which mid-batch drops every connection and refuses new
                   ones for 60 s, then comes back.
  conn-resets      100 submissions; the proxy resets every live connection every 3 s for 30 s.

Scenarios other than provider-faults use the same fake provider without faults, answering after
--latency seconds, so drafting jobs are in flight when a fault strikes. A crashed `beacon serve`
or worker is restarted after --restart-delay seconds (as a supervisor would) and counted.

A scenario ends when every submission is released and no drafting job is todo or doing, when
nothing has changed for --idle-stop seconds with nothing scheduled, or at --deadline (what there
is then is the result); then every process is stopped and the
database is read directly (psycopg on the embedded server's own URL, never the proxy):
submissions created, drafted, drafted exactly once, duplicated, released, lost, stuck, zombie
drafts, releases whose content differs from what the teacher saw, approvals by status.

    python bench/reliability.py [--scenario all|provider-faults|worker-kills|db-outage|conn-resets]
        [--source /work/main] [--name reliability] [--deadline 480] [--submissions N] ...

--source DIR measures another checkout: every Beacon process runs with cwd=DIR and
PYTHONPATH=DIR/src. Writes bench/results/<name>.json and .md (after each scenario)."""

from __future__ import annotations

import argparse
import asyncio
import atexit
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import httpx

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))
from review_load import server_exceptions, stop_leftover_postgres

SCENARIOS = ("provider-faults", "worker-kills", "db-outage", "conn-resets")
DEFAULTS = {  # per scenario: submissions, workers, seconds the submissions are spread over
    "provider-faults": {"submissions": 300, "workers": 2, "submit_over": 90.0},
    "worker-kills": {"submissions": 100, "workers": 3, "submit_over": 60.0},
    "db-outage": {"submissions": 100, "workers": 2, "submit_over": 60.0},
    "conn-resets": {"submissions": 100, "workers": 2, "submit_over": 60.0},
}
DEMO_PASSWORD = "beacon-demo"
EMAIL_IN_LINK = re.compile(r"^\s*(teacher|student)\s+\S*/login\?email=([^\s&]+)", re.MULTILINE)
# Refusals that mean "the thread is not waiting on this draft although the draft says it is".
NOT_WAITING = re.compile(r"not the one waiting|already decided|not waiting", re.IGNORECASE)
INTERRUPT, RESUME = "__interrupt__", "__resume__"

# --- processes -------------------------------------------------------------------------------

LIVE: list[Proc] = []  # every subprocess started, for the safety net below
PGDATAS: list[Path] = []


@dataclass
class Proc:
    """One subprocess in its own session (Ctrl-C reaches only this script, which stops it)."""

    name: str
    argv: list[str]
    env: dict
    cwd: Path
    log: Path
    popen: subprocess.Popen | None = None
    started: float = 0.0
    expected_exit: bool = False  # we stopped or killed it

    def start(self) -> Proc:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=out,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        self.started = time.monotonic()
        LIVE.append(self)
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        self.expected_exit = True
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    def stop(self, timeout: float = 30.0) -> str:
        """SIGTERM, then SIGKILL after ``timeout``. Returns how it ended."""
        self.expected_exit = True
        if self.popen is None:
            return "never started"
        if self.popen.poll() is not None:
            return f"had exited ({self.popen.returncode})"
        self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout)
            return "terminated"
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            return "killed after SIGTERM timeout"

    def tail(self, n: int = 1200) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


def _safety_net() -> None:
    for proc in LIVE:
        if proc.alive():
            proc.popen.kill()
    for pgdata in PGDATAS:
        stop_leftover_postgres(pgdata)


atexit.register(_safety_net)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def beacon_bin() -> str:
    return str(Path(sys.executable).with_name("beacon"))


def proxy_target(url: str) -> tuple[str, str]:
    """Where the embedded server listens (from its libpq URL): ("unix", socket path) or ("tcp", host:port)."""
    import psycopg.conninfo

    info = psycopg.conninfo.conninfo_to_dict(url)
    host, port = info.get("host") or "/tmp", info.get("port") or "5432"
    if host.startswith("/"):
        return "unix", f"{host}/.s.PGSQL.{port}"
    return "tcp", f"{host}:{port}"


def via_proxy(url: str, port: int) -> str:
    import psycopg.conninfo

    info = psycopg.conninfo.conninfo_to_dict(url)
    user, db = info.get("user") or "postgres", info.get("dbname") or "beacon"
    password = f":{info['password']}" if info.get("password") else ""
    return f"postgresql://{user}{password}@127.0.0.1:{port}/{db}"


# --- code and machine ------------------------------------------------------------------------

def code_measured(source: Path) -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True, check=False).stdout.strip()

    head = git("rev-parse", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--", "src"))
    return {"source": str(source), "commit": head, "short": head[:10],
            "uncommitted_src_changes": dirty, "subject": git("log", "-1", "--format=%s")[:120]}


def machine() -> dict:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def sample_works(source: Path) -> list[tuple[str, str]]:
    works = [(p.stem.replace("-", " "), p.read_text(encoding="utf-8"))
             for p in sorted((source / "src" / "beacon" / "demo" / "samples").glob("*.md"))]
    works += [(p.stem.replace("--", " "), p.read_text(encoding="utf-8"))
              for p in sorted((source / "evals" / "retrieval" / "works").glob("*.txt"))]
    return works


# --- the run's record ------------------------------------------------------------------------

@dataclass
class Track:
    """One draft as the teacher loop met it."""

    submission_id: str
    seen: dict | None = None  # content as GET /drafts/{id} showed it right before the last approve
    approved_seen: dict | None = None  # ... before the approve that answered 200
    attempts: int = 0
    next_at: float = 0.0
    done: bool = False
    refusals: list[tuple[str, str]] = field(default_factory=list)
    still_queued_after_200: bool = False


@dataclass
class Record:
    t0: float = 0.0
    acked: dict[int, str] = field(default_factory=dict)  # submission index -> id the API returned
    post_status: Counter = field(default_factory=Counter)
    post_gave_up: int = 0
    post_examples: dict[str, str] = field(default_factory=dict)
    tracks: dict[str, Track] = field(default_factory=dict)
    approvals: Counter = field(default_factory=Counter)
    approval_examples: dict[str, str] = field(default_factory=dict)
    draft_get_status: Counter = field(default_factory=Counter)
    queue_status: Counter = field(default_factory=Counter)
    events: list[dict] = field(default_factory=list)  # kills, outages, resets, crashes, restarts
    timeline: list[dict] = field(default_factory=list)
    submitter_done: bool = False
    chaos_done: bool = False
    end_reason: str = ""

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 1)

    def event(self, kind: str, **data) -> None:
        entry = {"t": self.now(), "event": kind, **data}
        self.events.append(entry)
        print(f"  [{entry['t']:>6.1f}s] {kind} {json.dumps(data) if data else ''}", flush=True)


def _status_key(response: httpx.Response | None, exc: BaseException | None = None) -> str:
    return str(response.status_code) if response is not None else f"transport:{type(exc).__name__}"


# --- the scenario ----------------------------------------------------------------------------

class Scenario:
    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name, self.args = name, args
        d = DEFAULTS[name]
        self.submissions = args.submissions or d["submissions"]
        self.n_workers = args.workers or d["workers"]
        self.submit_over = args.submit_over if args.submit_over is not None else d["submit_over"]
        self.source: Path = args.source
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"beacon-reliability-{name}-"))
        self.pgdata = self.data_dir / "pgdata"
        self.rng = random.Random(f"{args.seed}:{name}")
        self.rec = Record()
        self.workers: list[Proc] = []
        self.retired: list[Proc] = []  # killed or crashed processes, for their logs
        self.serve: Proc | None = None
        self.provider: Proc | None = None
        self.proxy: Proc | None = None
        self.serve_port = free_port()
        self.real_url = ""
        self.beacon_url = ""
        self.demo_ids: list[str] = []
        self.worker_seq = 0
        self.unexpected_exits: Counter = Counter()
        self.restarts: Counter = Counter()
        self.stop_outcomes: dict[str, str] = {}

    # environment of every Beacon process
    def env(self, db_url: str, model: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BEACON_")}
        env.pop("PYTHONPATH", None)
        env.update({
            "PYTHONPATH": str(self.source / "src"), "PYTHONUNBUFFERED": "1",
            "BEACON_DATA_DIR": str(self.data_dir), "BEACON_DATABASE_URL": db_url,
            "BEACON_MODEL": model, "BEACON_MODEL_TIMEOUT_S": str(self.args.model_timeout),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", "DISABLE_AIOHTTP_TRANSPORT": "True",
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        })
        if model != "offline":
            env.update({"BEACON_MODEL_API_BASE": f"http://127.0.0.1:{self.provider_port}/v1",
                        "OPENAI_API_KEY": "bench"})
        return env

    # --- setup ---
    def setup(self) -> None:
        sys.path.insert(0, str(self.source / "src"))
        from beacon.db.embedded import start_embedded

        PGDATAS.append(self.pgdata)
        self.real_url = start_embedded(self.pgdata)
        seed_env = self.env(self.real_url, "offline")
        demo = subprocess.run([beacon_bin(), "demo", "--no-serve"], env=seed_env, cwd=self.source,
                              capture_output=True, text=True, timeout=600, check=False)
        if demo.returncode != 0:
            raise RuntimeError(f"beacon demo failed ({demo.returncode}):\n{demo.stdout[-2000:]}\n{demo.stderr[-2000:]}")
        people = [(role, unquote(email)) for role, email in EMAIL_IN_LINK.findall(demo.stdout)]
        self.teacher_email = next(e for r, e in people if r == "teacher")
        self.student_emails = [e for r, e in people if r == "student"]
        if not self.student_emails:
            raise RuntimeError(f"no student emails in the demo's output:\n{demo.stdout[-2000:]}")
        import psycopg

        with psycopg.connect(self.real_url, autocommit=True) as conn:
            self.demo_ids = [str(r[0]) for r in conn.execute("SELECT id FROM submissions")]

        # the model provider
        fault_rate = self.args.fault_rate if self.name == "provider-faults" else 0.0
        latency = 0.0 if self.name == "provider-faults" else self.args.latency
        self.provider_port = free_port()
        self.provider = Proc("provider", [sys.executable, str(BENCH / "fault_provider.py"), "--port", str(self.provider_port),
                                          "--source", str(self.source), "--fault-rate", str(fault_rate),
                                          "--seed", str(self.args.seed), "--hang-s", str(self.args.hang_s),
                                          "--latency", str(latency), "--retry-after", str(self.args.retry_after)],
                             dict(os.environ), self.source, self.data_dir / "logs" / "provider.log").start()
        self._wait_http(f"http://127.0.0.1:{self.provider_port}/ping", self.provider, 60)

        # the database as Beacon sees it: through the proxy for the database scenarios
        self.beacon_url = self.real_url
        if self.name in ("db-outage", "conn-resets"):
            kind, where = proxy_target(self.real_url)
            self.proxy_port, self.control_port = free_port(), free_port()
            self.proxy = Proc("proxy", [sys.executable, str(BENCH / "fault_proxy.py"), "--port", str(self.proxy_port),
                                        "--control-port", str(self.control_port), "--target", f"{kind}:{where}"],
                              dict(os.environ), BENCH, self.data_dir / "logs" / "proxy.log").start()
            deadline = time.monotonic() + 30
            while "ready" not in self.proxy.tail():
                if not self.proxy.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"fault proxy did not start:\n{self.proxy.tail()}")
                time.sleep(0.1)
            self.beacon_url = via_proxy(self.real_url, self.proxy_port)
        self.model = f"openai/{self.args.model_name}"

        self.start_serve()
        self._wait_http(f"http://127.0.0.1:{self.serve_port}/healthz", self.serve, 180)
        for _ in range(self.n_workers):
            self.start_worker()

    def _wait_http(self, url: str, proc: Proc, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.tail(3000)}")
            time.sleep(0.3)
        raise RuntimeError(f"{proc.name} not answering {url} after {timeout} s:\n{proc.tail(3000)}")

    def start_serve(self) -> None:
        n = self.restarts["serve"]
        self.serve = Proc("serve", [beacon_bin(), "serve", "--port", str(self.serve_port), "--no-worker"],
                          self.env(self.beacon_url, self.model), self.source,
                          self.data_dir / "logs" / f"serve-{n}.log").start()

    def start_worker(self) -> Proc:
        self.worker_seq += 1
        proc = Proc(f"worker-{self.worker_seq}", [beacon_bin(), "worker"], self.env(self.beacon_url, self.model),
                    self.source, self.data_dir / "logs" / f"worker-{self.worker_seq}.log").start()
        self.workers.append(proc)
        return proc

    # --- the drive ---
    async def drive(self) -> None:
        rec, args = self.rec, self.args
        base = f"http://127.0.0.1:{self.serve_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as anon:
            async def token(email: str) -> str:
                r = await anon.post("/api/v1/auth/token", json={"email": email, "password": DEMO_PASSWORD})
                r.raise_for_status()
                return r.json()["token"]

            teacher_token = await token(self.teacher_email)
            student_tokens = [await token(e) for e in self.student_emails]
        teacher = httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {teacher_token}"})
        students = [httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {t}"})
                    for t in student_tokens]
        rec.t0 = time.monotonic()
        self.deadline = rec.t0 + args.deadline
        stop = asyncio.Event()
        tasks = [asyncio.create_task(c) for c in (
            self.submitter(students), self.teacher_loop(teacher, stop), self.chaos(), self.supervisor(stop))]
        try:
            await self.monitor(stop)
        finally:
            stop.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await teacher.aclose()
            for s in students:
                await s.aclose()

    async def submitter(self, students: list[httpx.AsyncClient]) -> None:
        rec, works = self.rec, sample_works(self.source)
        gap = self.submit_over / max(1, self.submissions)

        async def post(i: int) -> None:
            title, text = works[i % len(works)]
            body = {"title": f"{title} #{i}", "body": f"{text}\n\n(reliability {self.name} #{i})"}
            client = students[i % len(students)]
            for attempt in range(self.args.post_attempts):
                response = exc = None
                try:
                    response = await client.post("/api/v1/submissions", json=body)
                except httpx.HTTPError as e:
                    exc = e
                key = _status_key(response, exc)
                rec.post_status[key] += 1
                if response is not None and response.status_code == 202:
                    rec.acked[i] = response.json()["id"]
                    return
                rec.post_examples.setdefault(key, (response.text if response is not None else str(exc))[:200])
                await asyncio.sleep(self.args.retry_delay)
            rec.post_gave_up += 1

        posts = []
        for i in range(self.submissions):
            await asyncio.sleep(max(0.0, rec.t0 + i * gap - time.monotonic()))
            posts.append(asyncio.create_task(post(i)))
        await asyncio.gather(*posts)
        rec.submitter_done = True
        rec.event("submissions done", acked=len(rec.acked), gave_up=rec.post_gave_up)

    async def teacher_loop(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        rec, demo = self.rec, set(self.demo_ids)
        while not stop.is_set():
            await asyncio.sleep(self.args.poll)
            try:
                queue = await client.get("/api/v1/review/queue")
            except httpx.HTTPError as exc:
                rec.queue_status[_status_key(None, exc)] += 1
                continue
            rec.queue_status[str(queue.status_code)] += 1
            if queue.status_code != 200:
                continue
            for item in queue.json():
                sid = item.get("submission_id")
                if item.get("kind", "feedback") != "feedback" or not sid or sid in demo:
                    continue
                track = rec.tracks.setdefault(item["id"], Track(sid))
                if track.done:
                    track.still_queued_after_200 = True
                    continue
                if track.attempts >= self.args.approve_attempts or time.monotonic() < track.next_at:
                    continue
                await self.approve(client, item["id"], track)
                if stop.is_set():
                    return

    async def approve(self, client: httpx.AsyncClient, draft_id: str, track: Track) -> None:
        rec = self.rec
        try:
            shown = await client.get(f"/api/v1/drafts/{draft_id}")
        except httpx.HTTPError as exc:
            rec.draft_get_status[_status_key(None, exc)] += 1
            track.next_at = time.monotonic() + self.args.retry_delay
            return
        rec.draft_get_status[str(shown.status_code)] += 1
        if shown.status_code != 200:
            track.next_at = time.monotonic() + self.args.retry_delay
            return
        track.seen = shown.json()["content"]
        response = exc = None
        try:
            response = await client.post(f"/api/v1/drafts/{draft_id}/decision", json={"action": "approve"})
        except httpx.HTTPError as e:
            exc = e
        key = _status_key(response, exc)
        rec.approvals[key] += 1
        if response is not None and response.status_code == 200:
            track.done, track.approved_seen = True, track.seen
            return
        text = response.text[:300] if response is not None else str(exc)[:300]
        track.refusals.append((key, text))
        rec.approval_examples.setdefault(key, text[:200])
        track.attempts += 1
        track.next_at = time.monotonic() + self.args.retry_delay

    async def proxy_command(self, word: str) -> dict:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.control_port)
        try:
            writer.write(f"{word}\n".encode())
            await writer.drain()
            return json.loads(await reader.readline())
        finally:
            writer.close()

    async def chaos(self) -> None:
        rec, args = self.rec, self.args
        try:
            if self.name == "worker-kills":
                span = self.submit_over + args.kill_tail
                moments = sorted(self.rng.uniform(3.0, span) for _ in range(args.kills))
                for at in moments:
                    await asyncio.sleep(max(0.0, rec.t0 + at - time.monotonic()))
                    alive = [w for w in self.workers if w.alive()]
                    if not alive:
                        rec.event("kill skipped: no live worker")
                        continue
                    victim = self.rng.choice(alive)
                    doing = await self.count_doing()
                    victim.kill9()
                    self.workers.remove(victim)
                    self.retired.append(victim)
                    ready = "beacon worker:" in victim.tail(20000)
                    replacement = self.start_worker()
                    rec.event("SIGKILL", worker=victim.name, up_s=round(time.monotonic() - victim.started, 1),
                              was_ready=ready, jobs_doing=doing, replacement=replacement.name)
            elif self.name == "db-outage":
                at = args.outage_at if args.outage_at is not None else max(10.0, self.submit_over / 3)
                await asyncio.sleep(max(0.0, rec.t0 + at - time.monotonic()))
                rec.event("db outage starts", **await self.proxy_command("down"), seconds=args.outage_s)
                await asyncio.sleep(args.outage_s)
                rec.event("db outage ends", **await self.proxy_command("up"))
            elif self.name == "conn-resets":
                at = args.resets_at if args.resets_at is not None else max(5.0, self.submit_over * 0.25)
                await asyncio.sleep(max(0.0, rec.t0 + at - time.monotonic()))
                rec.event("resets start", every_s=args.reset_every, for_s=args.reset_for)
                end, total, rounds = time.monotonic() + args.reset_for, 0, 0
                while time.monotonic() < end:
                    total += (await self.proxy_command("reset"))["reset"]
                    rounds += 1
                    await asyncio.sleep(args.reset_every)
                rec.event("resets end", rounds=rounds, connections_reset=total)
        finally:
            rec.chaos_done = True

    async def supervisor(self, stop: asyncio.Event) -> None:
        """Restart a `beacon serve` or worker that exits by itself, as systemd would."""
        rec = self.rec
        while not stop.is_set():
            await asyncio.sleep(1.0)
            procs = ([self.serve] if self.serve else []) + list(self.workers)
            for proc in procs:
                if proc.alive() or proc.expected_exit or proc.popen is None:
                    continue
                role = "serve" if proc is self.serve else "worker"
                self.unexpected_exits[role] += 1
                proc.expected_exit = True
                last = [line for line in proc.tail(4000).splitlines() if line.strip()][-1:]
                rec.event(f"{role} exited by itself", name=proc.name, rc=proc.popen.returncode,
                          last_line=last[0][:200] if last else "")
                if sum(self.restarts.values()) >= self.args.max_restarts:
                    continue
                await asyncio.sleep(self.args.restart_delay)
                self.restarts[role] += 1
                self.retired.append(proc)
                if role == "serve":
                    self.start_serve()
                else:
                    self.workers.remove(proc)
                    self.start_worker()

    # --- watching the database (directly, not through the proxy) ---
    async def snapshot(self, conn) -> dict:
        subs = dict(await (await conn.execute(
            "SELECT status, count(*) FROM submissions WHERE NOT (id::text = ANY(%s)) GROUP BY status",
            (self.demo_ids,))).fetchall())
        jobs = dict(await (await conn.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs WHERE task_name LIKE '%%draft_feedback' "
            "AND NOT (args->>'submission_id' = ANY(%s)) GROUP BY 1", (self.demo_ids,))).fetchall())
        due = (await (await conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND task_name LIKE '%%draft_feedback' "
            "AND coalesce(scheduled_at, now()) <= now() + make_interval(secs => %s) "
            "AND NOT (args->>'submission_id' = ANY(%s))",
            (max(0.0, self.deadline - time.monotonic()), self.demo_ids))).fetchone())[0]
        drafts = (await (await conn.execute(
            "SELECT count(*) FROM drafts WHERE submission_id IS NOT NULL AND NOT (submission_id::text = ANY(%s))",
            (self.demo_ids,))).fetchone())[0]
        releases = (await (await conn.execute(
            "SELECT count(*) FROM releases r JOIN drafts d ON d.id = r.draft_id "
            "WHERE NOT (d.submission_id::text = ANY(%s))", (self.demo_ids,))).fetchone())[0]
        return {"submissions": subs, "jobs": jobs, "drafts": drafts, "releases": releases, "todo_due": due}

    async def count_doing(self) -> int | None:
        import psycopg

        try:
            async with await psycopg.AsyncConnection.connect(self.real_url, autocommit=True) as conn:
                return (await (await conn.execute(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")).fetchone())[0]
        except psycopg.Error:
            return None

    async def monitor(self, stop: asyncio.Event) -> None:
        import psycopg

        rec, args = self.rec, self.args
        last_fp, last_change, last_line = None, time.monotonic(), 0.0
        async with await psycopg.AsyncConnection.connect(self.real_url, autocommit=True) as conn:
            while True:
                await asyncio.sleep(2.0)
                snap = await self.snapshot(conn)
                now = time.monotonic()
                fp = json.dumps([snap["submissions"], snap["jobs"], snap["drafts"], snap["releases"],
                                 sum(rec.approvals.values()), sum(rec.post_status.values())], sort_keys=True)
                if fp != last_fp:
                    last_fp, last_change = fp, now
                if now - last_line >= 10:
                    last_line = now
                    rec.timeline.append({"t": rec.now(), **snap})
                    print(f"  [{rec.now():>6.1f}s] submissions {snap['submissions']} jobs {snap['jobs']} "
                          f"releases {snap['releases']}", flush=True)
                created = sum(snap["submissions"].values())
                busy = snap["jobs"].get("todo", 0) + snap["jobs"].get("doing", 0)
                if (rec.submitter_done and rec.chaos_done and created and snap["releases"] >= created
                        and created >= len(rec.acked) and not busy):
                    rec.end_reason = "every submission released, no drafting job todo or doing"
                    break
                if now >= self.deadline:
                    rec.end_reason = f"deadline ({args.deadline:g} s)"
                    break
                if (rec.submitter_done and rec.chaos_done and now - last_change >= args.idle_stop
                        and snap["todo_due"] == 0):
                    rec.end_reason = f"nothing changed for {args.idle_stop:g} s and no job due before the deadline"
                    break
            rec.timeline.append({"t": rec.now(), **await self.snapshot(conn)})
        rec.event("scenario ends", reason=rec.end_reason)

    # --- stopping and measuring ---
    def stop_beacon(self) -> None:
        for proc in list(self.workers):
            self.stop_outcomes[proc.name] = proc.stop(timeout=self.args.stop_timeout)
        if self.serve is not None:
            self.stop_outcomes["serve"] = self.serve.stop(timeout=self.args.stop_timeout)

    def stop_helpers(self) -> dict:
        stats: dict = {}
        if self.provider is not None and self.provider.alive():
            try:
                stats["provider"] = httpx.get(f"http://127.0.0.1:{self.provider_port}/stats", timeout=5).json()
            except httpx.HTTPError:
                pass
        if self.proxy is not None and self.proxy.alive():
            try:
                stats["proxy"] = asyncio.run(self.proxy_command("stats"))
            except OSError:
                pass
        for proc in (self.provider, self.proxy):
            if proc is not None:
                proc.stop(timeout=10)
        return stats

    def measure(self) -> dict:
        import psycopg
        from psycopg.rows import dict_row

        rec = self.rec
        with psycopg.connect(self.real_url, autocommit=True, row_factory=dict_row) as conn:
            subs = conn.execute("SELECT id::text AS id, status, body_sha256, body FROM submissions "
                                "WHERE NOT (id::text = ANY(%s))", (self.demo_ids,)).fetchall()
            drafts = conn.execute(
                "SELECT id::text AS id, submission_id::text AS sid, status, regenerated_from_id, content, flags "
                "FROM drafts WHERE submission_id IS NOT NULL AND NOT (submission_id::text = ANY(%s))",
                (self.demo_ids,)).fetchall()
            releases = conn.execute(
                "SELECT r.draft_id::text AS draft_id, d.submission_id::text AS sid, r.content, "
                "d.content AS draft_content FROM releases r JOIN drafts d ON d.id = r.draft_id "
                "WHERE NOT (d.submission_id::text = ANY(%s))", (self.demo_ids,)).fetchall()
            jobs = conn.execute(
                "SELECT args->>'submission_id' AS sid, status::text AS status, attempts, queueing_lock "
                "FROM procrastinate_jobs WHERE task_name LIKE '%%draft_feedback' "
                "AND NOT (args->>'submission_id' = ANY(%s))", (self.demo_ids,)).fetchall()
        threads = self.threads([s["id"] for s in subs])

        by_sub: dict[str, dict] = {s["id"]: {"row": s, "drafts": [], "releases": [], "jobs": []} for s in subs}
        for d in drafts:
            by_sub.setdefault(d["sid"], {"row": None, "drafts": [], "releases": [], "jobs": []})["drafts"].append(d)
        for r in releases:
            by_sub[r["sid"]]["releases"].append(r)
        for j in jobs:
            if j["sid"] in by_sub:
                by_sub[j["sid"]]["jobs"].append(j)

        out = Counter()
        stuck_why, lost_ids, stuck_ids, zombie_ids, mismatch_ids = Counter(), [], [], [], []
        flags: Counter = Counter()
        refused_not_waiting = {did for did, t in rec.tracks.items()
                               if any(NOT_WAITING.search(text) for code, text in t.refusals if code in ("409", "422"))}
        for sid, s in by_sub.items():
            row = s["row"]
            status = row["status"] if row else "missing"
            out[f"status_{status}"] += 1
            first = [d for d in s["drafts"] if d["regenerated_from_id"] is None]
            todo = any(j["status"] == "todo" for j in s["jobs"])
            doing = any(j["status"] == "doing" for j in s["jobs"])
            out["created"] += 1
            out["drafted"] += bool(s["drafts"])
            out["drafted_exactly_once"] += len(first) == 1
            out["duplicated"] += len(first) > 1
            out["released"] += bool(s["releases"])
            out["released_more_than_once"] += len(s["releases"]) > 1
            if not s["drafts"] and not (status in ("queued", "drafting") and todo):
                out["lost"] += 1
                lost_ids.append(sid)
            why = []
            if doing:
                why.append("job doing")
            if status in ("queued", "drafting") and not todo and not doing:
                why.append(f"{status}, no todo/doing job")
            if status == "failed":
                why.append("submission failed")
            if why:
                out["stuck"] += 1
                stuck_ids.append(sid)
                stuck_why.update(why)
            if status in ("queued", "drafting") and todo and not s["drafts"]:
                out["still_queued_with_todo_job"] += 1
            waiting = threads.get(sid, {})
            for d in s["drafts"]:
                if d["status"] != "pending_review":
                    if d["id"] in waiting.get("waiting_on", ()):
                        out["threads_waiting_on_decided_draft"] += 1
                    continue
                out["pending_review_drafts"] += 1
                thread_ok = d["id"] in waiting.get("waiting_on", ())
                api_refused = d["id"] in refused_not_waiting
                if not thread_ok or api_refused:
                    out["zombies"] += 1
                    out["zombies_thread_not_waiting"] += not thread_ok
                    out["zombies_api_refused"] += api_refused
                    zombie_ids.append(d["id"])
            for r in s["releases"]:
                track = rec.tracks.get(r["draft_id"])
                seen = track.approved_seen or track.seen if track else None
                if seen is None:
                    out["released_unseen_by_teacher"] += 1
                elif canon(seen) != canon(r["content"]):
                    out["release_differs_from_seen"] += 1
                    mismatch_ids.append(r["draft_id"])
                if canon(r["content"]) != canon(r["draft_content"]):
                    out["release_differs_from_draft_row"] += 1
                if row and not grounded(r["content"], row["body"]):
                    out["releases_quoting_text_not_in_work"] += 1
            for d in s["drafts"]:
                flags.update(f.split(":", 1)[0] for f in d.get("flags") or [])
        acked = set(rec.acked.values())
        out["acknowledged"] = len(acked)
        out["acknowledged_missing"] = len(acked - set(by_sub))
        out["lost"] += out["acknowledged_missing"]
        out["created_without_202"] = len(set(by_sub) - acked)
        shas = Counter(s["row"]["body_sha256"] for s in by_sub.values() if s["row"])
        out["same_work_stored_twice"] = sum(n - 1 for n in shas.values() if n > 1)
        out["approved_200_still_pending"] = sum(
            1 for did, t in rec.tracks.items() if t.done and any(
                d["id"] == did and d["status"] == "pending_review" for d in by_sub.get(t.submission_id, {}).get("drafts", [])))
        out["approval_gave_up"] = sum(1 for t in rec.tracks.values() if not t.done and t.attempts >= self.args.approve_attempts)
        job_status = Counter(j["status"] for j in jobs)
        return {"counts": dict(sorted(out.items())), "stuck_reasons": dict(stuck_why), "jobs_by_status": dict(job_status),
                "draft_flags": dict(flags.most_common()),
                "max_job_attempts": max((j["attempts"] or 0 for j in jobs), default=0),
                "examples": {"lost": lost_ids[:5], "stuck": stuck_ids[:5], "zombie_drafts": zombie_ids[:5],
                             "release_differs": mismatch_ids[:5]},
                "threads_read": threads.get("__error__", "ok")}

    def threads(self, submission_ids: list[str]) -> dict:
        """Per submission: the draft ids its LangGraph thread waits on at the teacher_review
        interrupt (an __interrupt__ write in the latest checkpoint with no __resume__ yet)."""
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError as exc:
            return {"__error__": f"langgraph postgres saver unavailable: {exc}"}

        async def read() -> dict:
            found: dict = {}
            async with AsyncPostgresSaver.from_conn_string(self.real_url) as saver:
                for sid in submission_ids:
                    tup = await saver.aget_tuple({"configurable": {"thread_id": f"feedback:{sid}", "checkpoint_ns": ""}})
                    if tup is None:
                        found[sid] = {"waiting_on": set(), "checkpoint": False}
                        continue
                    resumed = {task for task, channel, _ in tup.pending_writes or () if channel == RESUME}
                    waiting = set()
                    for task, channel, value in tup.pending_writes or ():
                        if channel != INTERRUPT or task in resumed:
                            continue
                        for item in value if isinstance(value, (list, tuple)) else [value]:
                            payload = getattr(item, "value", item)
                            if isinstance(payload, dict) and payload.get("draft_id"):
                                waiting.add(payload["draft_id"])
                    found[sid] = {"waiting_on": waiting, "checkpoint": True}
            return found

        try:
            return asyncio.run(read())
        except Exception as exc:  # the counts from the API refusals still stand
            return {"__error__": f"{type(exc).__name__}: {exc}"[:300]}

    def logs_summary(self) -> dict:
        procs = [p for p in [self.serve, *self.workers, *self.retired] if p is not None]
        found: dict[str, dict] = {}
        for proc in procs:
            for name, entry in server_exceptions(proc.log).items():
                slot = found.setdefault(name, {"count": 0, "example": entry["example"]})
                slot["count"] += entry["count"]
        return dict(sorted(found.items(), key=lambda kv: -kv[1]["count"])[:15])

    def run(self) -> dict:
        started = time.monotonic()
        result: dict = {"scenario": self.name, "submissions": self.submissions, "workers": self.n_workers,
                        "submit_over_s": self.submit_over, "deadline_s": self.args.deadline,
                        "provider": ({"fault_rate": self.args.fault_rate, "hang_s": self.args.hang_s,
                                      "retry_after_s": self.args.retry_after, "latency_s": 0.0}
                                     if self.name == "provider-faults" else
                                     {"fault_rate": 0.0, "latency_s": self.args.latency}),
                        "model_timeout_s": self.args.model_timeout}
        try:
            print(f"== {self.name}: data dir {self.data_dir}", flush=True)
            self.setup()
            result["setup_s"] = round(time.monotonic() - started, 1)
            asyncio.run(self.drive())
            result["drive_s"] = self.rec.now()
            result["end_reason"] = self.rec.end_reason
            self.stop_beacon()
            result["stopped"] = self.stop_outcomes
            result["helpers"] = self.stop_helpers()
            result["db"] = self.measure()
            rec = self.rec
            result["http"] = {
                "approvals_by_status": dict(rec.approvals), "approval_examples": rec.approval_examples,
                "submission_posts_by_status": dict(rec.post_status), "submission_post_examples": rec.post_examples,
                "submission_posts_gave_up": rec.post_gave_up, "draft_get_by_status": dict(rec.draft_get_status),
                "queue_by_status": dict(rec.queue_status),
                "drafts_met_by_teacher": len(rec.tracks),
                "drafts_approved_200": sum(t.done for t in rec.tracks.values()),
            }
            result["process_exits"] = {"unexpected": dict(self.unexpected_exits), "restarts": dict(self.restarts),
                                       "sigkills": sum(1 for e in rec.events if e["event"] == "SIGKILL")}
            result["events"] = rec.events
            result["timeline"] = rec.timeline
            result["exceptions_logged"] = self.logs_summary()
        finally:
            for proc in [*self.workers, self.serve, self.provider, self.proxy]:
                if proc is not None and proc.alive():
                    proc.stop(timeout=10)
            try:
                from beacon.db.embedded import stop_embedded

                stop_embedded()
            except Exception:
                pass
            stop_leftover_postgres(self.pgdata)
            if self.args.keep:
                print(f"   kept {self.data_dir}", flush=True)
            else:
                shutil.rmtree(self.data_dir, ignore_errors=True)
        result["wall_s"] = round(time.monotonic() - started, 1)
        return result


def grounded(content: dict, work: str) -> bool:
    """Every evidence quote of a released feedback is the work's own text at its offsets."""
    for criterion in content.get("criteria") or []:
        for ev in criterion.get("evidence") or []:
            start, end = ev.get("start", -1), ev.get("end", -1)
            if not (0 <= start <= end <= len(work)) or work[start:end] != ev.get("quote"):
                return False
    return True


def canon(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# --- the report --------------------------------------------------------------------------------

ROWS = [
    ("created", "submissions created (rows)"),
    ("acknowledged", "submissions the API answered 202 for"),
    ("drafted", "drafted (at least one draft row)"),
    ("drafted_exactly_once", "drafted exactly once"),
    ("duplicated", "duplicated (more than one first draft)"),
    ("released", "released"),
    ("lost", "lost"),
    ("stuck", "stuck"),
    ("zombies", "zombie drafts"),
    ("release_differs_from_seen", "releases differing from what the teacher saw"),
    ("releases_quoting_text_not_in_work", "releases quoting text not in the work"),
]


def write(report: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    name = report["name"]
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    code, env = report["code"], report["machine"]
    lines = [
        "# Reliability benchmark", "",
        f"Code: `{code['short']}` ({code['subject']}){' + uncommitted src/ changes' if code['uncommitted_src_changes'] else ''}, "
        f"from `{code['source']}`. Machine: {env['nproc']} cores, {env['memory_gb']} GB, Python {env['python']}; "
        f"load average at start {env['load_average_at_start']}. Started {report['started']}.", "",
        "Every scenario: a fresh embedded PostgreSQL, the demo school (1 teacher, 6 students), `beacon serve "
        "--no-worker` driven over HTTP on 127.0.0.1, standalone `beacon worker`s, a teacher loop approving every "
        "draft it finds (retrying refusals). Counts read from the database after every process stopped.", "",
        "Definitions: *lost* = no draft and not (queued/drafting with a todo job), plus 202-acknowledged ids "
        "missing from the table; *stuck* = a job in `doing`, or a submission queued/drafting with no todo/doing job, "
        "or `failed`; *zombie* = a `pending_review` draft whose LangGraph thread is not waiting on it at "
        "teacher_review, or that the decision API refused as not the one waiting.", "",
    ]
    for res in report["scenarios"]:
        lines += [f"## {res['scenario']}", ""]
        if "error" in res:
            lines += [f"Did not complete: `{res['error']}`", ""]
            if "db" not in res:
                continue
        c = res.get("db", {}).get("counts", {})
        http = res.get("http", {})
        prov = res.get("provider", {})
        lines += [f"{res['submissions']} submissions over {res['submit_over_s']:g} s, {res['workers']} workers; "
                  f"fake provider: faults {prov.get('fault_rate', 0):.0%}, answers after {prov.get('latency_s', 0):g} s, "
                  f"BEACON_MODEL_TIMEOUT_S {res.get('model_timeout_s')}; "
                  f"ended: {res.get('end_reason', '?')} after {res.get('drive_s', '?')} s of driving "
                  f"(wall {res.get('wall_s', '?')} s incl. setup {res.get('setup_s', '?')} s).", "",
                  "| measure | count |", "|---|---:|"]
        lines += [f"| {label} | {c.get(key, 0)} |" for key, label in ROWS]
        lines += [
            f"| approvals by status | {fmt(http.get('approvals_by_status', {}))} |",
            f"| submission POSTs by status | {fmt(http.get('submission_posts_by_status', {}))} |",
            f"| wall time, s | {res.get('wall_s', '?')} |", "",
        ]
        extra = {k: v for k, v in c.items() if k not in dict(ROWS) and v}
        db = res.get("db", {})
        lines += [f"Also: {fmt(extra)}. Stuck because: {fmt(db.get('stuck_reasons', {})) or 'none'}. "
                  f"Jobs at the end: {fmt(db.get('jobs_by_status', {}))} (max attempts {db.get('max_job_attempts')}). "
                  f"Thread check: {db.get('threads_read')}. Draft flags: {fmt(db.get('draft_flags', {})) or 'none'}.", ""]
        pe = res.get("process_exits", {})
        lines += [f"Processes: SIGKILLs {pe.get('sigkills', 0)}, exited by themselves {fmt(pe.get('unexpected', {})) or 'none'}, "
                  f"restarted {fmt(pe.get('restarts', {})) or 'none'}; at stop: {fmt(Counter(res.get('stopped', {}).values()))}.", ""]
        if res.get("helpers", {}).get("provider"):
            lines += [f"Provider: {fmt(res['helpers']['provider'])}.", ""]
        if res.get("helpers", {}).get("proxy"):
            lines += [f"Proxy: {fmt(res['helpers']['proxy'])}.", ""]
        examples = {**{f"approve {k}": v for k, v in http.get("approval_examples", {}).items()},
                    **{f"submit {k}": v for k, v in http.get("submission_post_examples", {}).items()}}
        if examples:
            lines += ["First refusal of each kind:", ""]
            lines += [f"- {k}: `{v.strip()[:160]}`" for k, v in sorted(examples.items())]
            lines += [""]
        if res.get("exceptions_logged"):
            lines += ["Exceptions in the Beacon logs (last traceback line, by type):", ""]
            lines += [f"- `{n}` × {e['count']}: {e['example'][:160]}" for n, e in list(res["exceptions_logged"].items())[:8]]
            lines += [""]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


def fmt(d: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=("all", *SCENARIOS), default="all")
    parser.add_argument("--source", type=Path, default=BENCH.parent, help="checkout to measure (cwd and PYTHONPATH of Beacon)")
    parser.add_argument("--name", default="reliability", help="results file name in bench/results/")
    parser.add_argument("--deadline", type=float, default=480.0, help="seconds of driving per scenario, at most")
    parser.add_argument("--idle-stop", type=float, default=120.0, help="end early when nothing changed this long")
    parser.add_argument("--submissions", type=int, help="per scenario (default 300 provider-faults, else 100)")
    parser.add_argument("--submit-over", type=float, help="seconds the submissions are spread over")
    parser.add_argument("--workers", type=int, help="standalone workers (default 3 for worker-kills, else 2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-rate", type=float, default=0.3, help="provider-faults: share of model calls faulted")
    parser.add_argument("--hang-s", type=float, default=8.0, help="provider hang, longer than --model-timeout")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After of the provider's 429s")
    parser.add_argument("--model-timeout", type=float, default=3.0, help="BEACON_MODEL_TIMEOUT_S")
    parser.add_argument("--model-name", default="bench-model")
    parser.add_argument("--latency", type=float, default=1.0, help="provider answer delay outside provider-faults")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--kill-tail", type=float, default=0.0, help="kills land in [3, submit-over + this] s")
    parser.add_argument("--outage-s", type=float, default=60.0)
    parser.add_argument("--outage-at", type=float, help="seconds into the batch (default a third of submit-over)")
    parser.add_argument("--reset-every", type=float, default=3.0)
    parser.add_argument("--reset-for", type=float, default=30.0)
    parser.add_argument("--resets-at", type=float)
    parser.add_argument("--poll", type=float, default=1.0, help="teacher queue poll interval")
    parser.add_argument("--approve-attempts", type=int, default=20, help="refused approvals retried up to this")
    parser.add_argument("--post-attempts", type=int, default=30, help="failed submission POSTs retried up to this")
    parser.add_argument("--retry-delay", type=float, default=5.0)
    parser.add_argument("--restart-delay", type=float, default=3.0)
    parser.add_argument("--max-restarts", type=int, default=60)
    parser.add_argument("--stop-timeout", type=float, default=30.0)
    parser.add_argument("--keep", action="store_true", help="keep each scenario's data dir and logs")
    args = parser.parse_args()
    args.source = args.source.resolve()

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    report = {"name": args.name, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "code": code_measured(args.source),
              "machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}, "scenarios": []}
    for name in SCENARIOS if args.scenario == "all" else (args.scenario,):
        scenario = Scenario(name, args)
        try:
            result = scenario.run()
        except KeyboardInterrupt:
            print("interrupted: processes stopped", file=sys.stderr)
            raise
        except Exception as exc:
            result = {"scenario": name, "submissions": scenario.submissions, "submit_over_s": scenario.submit_over,
                      "workers": scenario.n_workers, "error": f"{type(exc).__name__}: {str(exc)[:1500]}"}
            print(f"scenario {name} failed: {result['error']}", file=sys.stderr)
        report["scenarios"].append(result)
        write(report)
        counts = result.get("db", {}).get("counts", {})
        print(f"== {name}: " + ", ".join(f"{k} {counts.get(k, 0)}" for k, _ in ROWS)
              + f"; approvals {result.get('http', {}).get('approvals_by_status')}; wall {result.get('wall_s')} s", flush=True)
    print(f"wrote {RESULTS / (args.name + '.md')} and .json")


if __name__ == "__main__":
    main()
