"""A fake OpenAI-compatible provider that misbehaves on purpose, for bench/reliability.py. Like
bench/fake_provider.py it runs in its own process and answers from Beacon's real prompts with
tests/fakes.py's FakeProvider (of the checkout given by --source); a seeded RNG picks which calls
get a fault instead:

    429        HTTP 429 with a Retry-After header
    500        HTTP 500
    hang       no answer for --hang-s seconds (longer than Beacon's model timeout), then a good one
    malformed  200 whose message content is not JSON
    shape      200 with valid JSON of the wrong shape
    quotes     (assessment prompts only) an assessment quoting text that is not in the work

    python bench/fault_provider.py --port P [--source DIR] [--fault-rate 0.3] [--seed 7]
        [--hang-s 8] [--latency 0] [--retry-after 1]

GET /stats: calls, faults by kind, by prompt kind. GET /ping: alive."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections import Counter
from pathlib import Path

FAULT_KINDS = ("429", "500", "hang", "malformed", "shape", "quotes")


def app(args: argparse.Namespace):
    sys.path.insert(0, str(Path(args.source).resolve()))
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from tests.fakes import FakeProvider, assessment_for, prompt_text

    fake = FakeProvider()
    rng = random.Random(args.seed)
    stats: Counter[str] = Counter()

    def completion(body: dict, content: str) -> JSONResponse:
        return JSONResponse({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })

    async def chat(request):
        body = await request.json()
        prompt = prompt_text(body)
        assess = "Assess the work against the rubric" in prompt
        stats["calls"] += 1
        stats["calls_assess" if assess else "calls_other"] += 1
        fault = None
        if rng.random() < args.fault_rate:  # drawn in arrival order: the seed fixes the sequence
            kinds = FAULT_KINDS if assess else FAULT_KINDS[:-1]
            fault = rng.choice(kinds)
            stats[f"fault_{fault}"] += 1
        if args.latency:
            await asyncio.sleep(args.latency)
        if fault == "429":
            return JSONResponse({"error": {"message": "bench: rate limited", "type": "rate_limit_error"}},
                                status_code=429, headers={"Retry-After": str(args.retry_after)})
        if fault == "500":
            return JSONResponse({"error": {"message": "bench: internal error", "type": "server_error"}},
                                status_code=500)
        if fault == "hang":
            await asyncio.sleep(args.hang_s)
        if fault == "malformed":
            return completion(body, 'Sure! Here is the assessment: {"criteria": [{"criterion_id": ')
        if fault == "shape":
            return completion(body, json.dumps({"answer": "looks good", "items": [1, 2, 3]}))
        if fault == "quotes":
            return completion(body, json.dumps(assessment_for(prompt, hallucinate=True)))
        return completion(body, json.dumps(fake.reply(prompt)))

    async def ping(request):
        return JSONResponse({"ok": True})

    async def get_stats(request):
        return JSONResponse(dict(stats))

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/chat/completions", chat, methods=["POST"]),
                             Route("/ping", ping), Route("/stats", get_stats)])


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--source", default=str(Path(__file__).resolve().parents[1]),
                        help="checkout whose tests/fakes.py answers the prompts")
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hang-s", type=float, default=8.0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--retry-after", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(app(args), host="127.0.0.1", port=args.port, log_level="warning")
