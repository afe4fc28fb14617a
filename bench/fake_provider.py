"""A fake OpenAI-compatible provider for benchmarks, in its own process so its HTTP handling is
not counted as Beacon's: `python bench/fake_provider.py PORT LATENCY_S`."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def app(latency: float):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from tests.fakes import FakeProvider, prompt_text

    fake = FakeProvider()

    async def chat(request):
        body = await request.json()
        await asyncio.sleep(latency)
        content = json.dumps(fake.reply(prompt_text(body)))
        return JSONResponse({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })

    async def ping(request):
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/ping", ping)])


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app(float(sys.argv[2])), host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
