"""Drafting benchmark: Beacon's own overhead per draft, a class of 30 vs one draft, and
prompt tokens per draft, against a local fake OpenAI-compatible provider on loopback.

    python bench/drafting.py [--drafts 40] [--latency 2.0] [--class-size 30]

Writes bench/results/drafting.json and .md."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")
os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class FakeServer:
    """The fake provider (bench/fake_provider.py) in its own process on 127.0.0.1."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    async def __aenter__(self):
        import httpx

        self.process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "bench" / "fake_provider.py"), str(self.port), str(self.latency)
        )
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    await client.get(f"{self.base}/ping")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
        return self

    async def roundtrip_ms(self, body: dict, n: int = 30) -> float:
        """Median time of a bare HTTP call to the provider: the provider's share of a model call."""
        import httpx

        times = []
        async with httpx.AsyncClient() as client:
            for _ in range(n):
                t = time.perf_counter()
                await client.post(f"{self.base}/v1/chat/completions", json=body)
                times.append((time.perf_counter() - t) * 1000)
        return pct(times, 0.5)

    async def __aexit__(self, *exc):
        self.process.terminate()
        await self.process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def essay(words: int) -> str:
    works = sorted((ROOT / "evals" / "retrieval" / "works").glob("argument-writing--*.txt"))
    text = " ".join(w.read_text(encoding="utf-8") for w in works).split()
    while len(text) < words:
        text += text
    return " ".join(text[:words])


async def new_submissions(rt, student_id, n: int, body: str) -> list[uuid.UUID]:
    from beacon.feedback.service import submit_for_feedback

    ids = []
    async with rt.db.transaction() as session:
        for i in range(n):
            row = await submit_for_feedback(session, student_id=student_id, title=f"Essay {i}", body=f"{body} ({uuid.uuid4().hex[:6]})")
            ids.append(row.id)
    return ids


async def main(args) -> dict:
    from beacon.approval.workflow import postgres_checkpointer
    from beacon.config import Settings
    from beacon.demo.service import load_samples, setup_school
    from beacon.feedback.drafters import drafter_for
    from beacon.feedback.graph import FeedbackDeps
    from beacon.feedback.workflow import FeedbackWorkflow
    from beacon.llm.provider import litellm_module
    from beacon.runtime import open_runtime, run_jobs, workflows_for

    litellm = litellm_module()
    report: dict = {}
    base = Settings(data_dir=Path(tempfile.mkdtemp(prefix="beacon-bench-")))
    async with open_runtime(base) as rt:
        async with rt.db.transaction() as session:
            students = await setup_school(session, load_samples()[0])
        student = next(iter(students.values()))
        body = essay(600)

        async def workflow_for(settings):
            deps = FeedbackDeps(settings, rt.db, rt.embedder, drafter_for(settings))
            return deps

        async with postgres_checkpointer(rt.db.url) as saver:
            # 1. Offline model: the whole draft is Beacon's own work.
            offline = FeedbackWorkflow(await workflow_for(base), saver)
            times = []
            for sid in await new_submissions(rt, student.id, args.drafts, body):
                t = time.perf_counter()
                await offline.run_to_review(sid)
                times.append((time.perf_counter() - t) * 1000)
            report["offline_draft_ms"] = {"p50": round(pct(times, 0.5), 1), "p99": round(pct(times, 0.99), 1)}

            # 2. Instant provider in another process: overhead = wall time minus the provider's
            # share (two calls, each a bare HTTP round trip to the same server).
            async with FakeServer(0.0) as server:
                settings = base.model_copy(update={"model": "openai/gpt-4o-mini", "model_api_base": f"{server.base}/v1"})
                wf = FeedbackWorkflow(await workflow_for(settings), saver)
                await wf.run_to_review((await new_submissions(rt, student.id, 1, body))[0])  # warm up
                walls = []
                for sid in await new_submissions(rt, student.id, args.drafts, body):
                    t = time.perf_counter()
                    await wf.run_to_review(sid)
                    walls.append((time.perf_counter() - t) * 1000)
                sent = await captured_prompts(wf, rt, student.id, body)
                provider_ms = sum([await server.roundtrip_ms(m) for m in sent])
                overhead = [w - provider_ms for w in walls]
                report["provider_roundtrips_ms"] = round(provider_ms, 2)
                report["overhead_per_draft_ms"] = {"p50": round(pct(overhead, 0.5), 1), "p99": round(pct(overhead, 0.99), 1)}

                # 3. Prompt tokens for a 600-word essay vs a naive prompt with every rubric.
                report["prompt_tokens_per_draft"] = sum(
                    litellm.token_counter(model="gpt-4o-mini", messages=m["messages"]) for m in sent)
                report["naive_all_rubrics_tokens"] = await naive_tokens(rt, body, litellm)

            # 4. A class of 30 through the job queue vs one, with a slow provider.
            async with FakeServer(args.latency) as server:
                settings = base.model_copy(update={
                    "model": "openai/gpt-4o-mini", "model_api_base": f"{server.base}/v1",
                    "worker_concurrency": args.class_size})
                wf = FeedbackWorkflow(await workflow_for(settings), saver)
                rt_class = type(rt)(settings, rt.db, rt.embedder)
                await new_submissions(rt, student.id, 1, body)
                t = time.perf_counter()
                await run_jobs(rt_class, workflows_for(rt_class, wf), wait=False)
                one = time.perf_counter() - t
                await new_submissions(rt, student.id, args.class_size, body)
                t = time.perf_counter()
                await run_jobs(rt_class, workflows_for(rt_class, wf), wait=False)
                many = time.perf_counter() - t
                report["provider_latency_s"] = args.latency
                report["one_draft_s"] = round(one, 2)
                report[f"class_of_{args.class_size}_s"] = round(many, 2)
                report["class_vs_one"] = round(many / one, 2)
    return report


async def captured_prompts(wf, rt, student_id, body) -> list[dict]:
    """The request bodies one draft sends, captured at the HTTP boundary with respx."""
    import respx

    bodies: list[dict] = []
    with respx.mock(using="httpx", assert_all_mocked=False) as mock:
        route = mock.route(path__regex=r"/v1/chat/completions$")
        route.pass_through()
        await wf.run_to_review((await new_submissions(rt, student_id, 1, body))[0])
        bodies = [json.loads(call.request.content) for call in route.calls]
    return bodies


async def naive_tokens(rt, body: str, litellm) -> int:
    """What a prompt would cost that sent every rubric of the library with the essay."""
    from beacon.llm.prompts import render
    from beacon.rubrics import repository
    from beacon.rubrics.schemas import RubricDefinition

    async with rt.db.transaction() as session:
        rubrics = [RubricDefinition.model_validate(v.definition) for v in await repository.current_versions(session)]
    prompts = rt.settings.prompts_dir
    text = "\n".join(
        render(prompts, "assess.j2", rubric=r, grade=8, work=body, previous={}, problems=[], instructions="") for r in rubrics
    )
    messages = [{"role": "system", "content": render(prompts, "system.j2")}, {"role": "user", "content": text}]
    return litellm.token_counter(model="gpt-4o-mini", messages=messages)


def write(report: dict, args) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "drafting.json").write_text(json.dumps(report, indent=2) + "\n")
    size = args.class_size
    lines = [
        "# Drafting benchmark", "",
        f"Local fake OpenAI-compatible provider on loopback; {args.drafts} drafts per measurement; "
        f"Postgres checkpointer; {os.cpu_count()} cores.", "",
        "| measure | value | target |", "|---|---:|---:|",
        f"| Beacon overhead per draft, p50 / p99 (instant provider; its {report['provider_roundtrips_ms']} ms of round trips subtracted) | {report['overhead_per_draft_ms']['p50']} / {report['overhead_per_draft_ms']['p99']} ms | p50 ≤ 25 ms |",
        f"| offline model, whole draft p50 / p99 | {report['offline_draft_ms']['p50']} / {report['offline_draft_ms']['p99']} ms | |",
        f"| one draft, provider latency {report['provider_latency_s']} s | {report['one_draft_s']} s | |",
        f"| class of {size}, same provider | {report[f'class_of_{size}_s']} s ({report['class_vs_one']}x one) | ≤ 1.2x |",
        f"| prompt tokens per draft, 600-word essay | {report['prompt_tokens_per_draft']} | ≤ 2,000 |",
        f"| naive prompt with every rubric | {report['naive_all_rubrics_tokens']} | |",
    ]
    (RESULTS / "drafting.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--drafts", type=int, default=40)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--class-size", type=int, default=30)
    args = parser.parse_args()
    result = asyncio.run(main(args))
    print(json.dumps(result, indent=2))
    write(result, args)
