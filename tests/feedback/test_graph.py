"""The feedback graph's nodes, each called on its own with a state and a fake run context: no
graph, no checkpointer. (The whole thread, its durability and idempotency: test_workflow.py.)"""

from __future__ import annotations

import json

import pytest
from langgraph.runtime import Runtime
from langgraph.types import Command

from beacon.feedback import graph
from beacon.feedback.drafters import DraftingContext
from beacon.feedback.schemas import ProposedAssessment, ProposedCriterion
from beacon.llm.client import ModelUnavailable, Usage
from beacon.rubrics.library import read_rubric_file
from tests.classroom import ESSAY
from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def rubric_definition():
    rubric, problems = read_rubric_file(PROJECT / "rubrics" / "argument-writing.yaml")
    assert not problems
    return rubric


class FailingDrafter:
    """A model that never answers: it times out after costing 1.5 s."""

    name, offline, prompt_hash = "openai/down", False, "x"

    async def assess(self, ctx, problems=None):
        raise ModelUnavailable("down", reason="timeout", usage=Usage(calls=1, latency_ms=1500))

    write = assess


def _context(settings, drafter, **changes) -> Runtime:
    deps = graph.FeedbackDeps(settings.model_copy(update=changes), db=None, embedder=None, drafter=drafter)
    return Runtime(context=deps)


async def test_redact_takes_names_out_and_keeps_the_map_back():
    state = {"work": "Priya Natarajan found the numbers. " + ESSAY[:200],
             "roster": [{"full_name": "Priya Natarajan", "role": "classmate"}]}
    out = await graph.redact_names(state)
    assert "Priya" not in out["redacted"] and "Natarajan" not in out["redacted"]
    assert out["replacements"] and set(out) == {"redacted", "replacements", "spans", "injections"}
    json.dumps(out)  # all of it checkpointable


async def test_assess_falls_back_to_offline_and_says_why(settings, rubric_definition):
    state = {"submission_id": "s", "redacted": ESSAY, "rubric": rubric_definition.model_dump(), "grade": 8,
             "language": "en"}
    out = await graph.assess(state, _context(settings, FailingDrafter(), fallback_models=["offline"]))
    assert out["model"] == "offline" and out["offline"]
    assert out["flags"] == ["model_fallback:offline", "model_fault:timeout"]
    assert out["usage"]["latency_ms"] >= 1500  # the failed call's time is kept
    ProposedAssessment.model_validate(out["assessment"])


async def test_without_an_offline_fallback_the_fault_reaches_the_job(settings, rubric_definition):
    state = {"submission_id": "s", "redacted": ESSAY, "rubric": rubric_definition.model_dump(), "grade": 8,
             "language": "en"}
    try:
        await graph.assess(state, _context(settings, FailingDrafter(), fallback_models=[]))
    except ModelUnavailable as fault:
        assert fault.reason == "timeout"
    else:
        raise AssertionError("the fault was swallowed")


async def test_draft_after_a_fallback_does_not_ask_the_failing_model_again(settings, rubric_definition):
    criteria = [ProposedCriterion(criterion_id=c.id, level=2, quotes=[], rationale="r", confidence=0.5)
                for c in rubric_definition.criteria]
    state = {"submission_id": "s", "redacted": ESSAY, "rubric": rubric_definition.model_dump(), "grade": 8,
             "language": "en", "flags": ["model_fallback:offline", "model_fault:timeout"],
             "assessment": ProposedAssessment(criteria=criteria).model_dump(), "usage": vars(Usage(latency_ms=1500))}
    out = await graph.draft(state, _context(settings, FailingDrafter(), fallback_models=["offline"]))
    assert out["flags"] == state["flags"]  # no second fault: the model was not called
    assert out["usage"]["latency_ms"] >= 1500 and out["feedback"]["strengths"]


async def test_apply_decision_routes_a_regeneration(settings):
    state = {"roster": [], "attempt": 0, "draft_id": "00000000-0000-0000-0000-0000000000d1",
             "decision": {"action": "regenerate", "teacher_id": "00000000-0000-0000-0000-000000000001",
                          "instructions": "stricter on evidence"}}
    again = await graph.apply_decision(state, _context(settings, FailingDrafter()))
    assert isinstance(again, Command) and again.goto == "assess"  # levels may change: assess again
    assert again.update["attempt"] == 1 and again.update["instructions"] == "stricter on evidence"
    state["decision"]["rubric_id"] = "scientific-investigation"
    picked = await graph.apply_decision(state, _context(settings, FailingDrafter()))
    assert picked.goto == "retrieve" and picked.update["rubric_id"] == "scientific-investigation"


def test_drafting_context_comes_from_the_state(rubric_definition):
    ctx = graph._context({"redacted": "text", "rubric": rubric_definition.model_dump(), "grade": 7, "language": "es",
                          "instructions": "shorter"})
    assert isinstance(ctx, DraftingContext) and (ctx.grade, ctx.language, ctx.instructions) == (7, "es", "shorter")
