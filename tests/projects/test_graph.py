"""The project graph's nodes, each called on its own with a state and a fake run context."""

from __future__ import annotations

import pytest
from langgraph.runtime import Runtime
from langgraph.types import Command

from beacon.llm.client import ModelUnavailable, Usage
from beacon.projects import graph
from beacon.projects.schemas import Proposal
from beacon.rubrics.library import read_rubric_file
from tests.conftest import PROJECT


class FailingDesigner:
    prompt_hash = "x"

    async def design(self, brief, *, grade, problems=None):
        raise ModelUnavailable("refused", reason="refused", usage=Usage(calls=1, latency_ms=20))


@pytest.fixture(scope="module")
def state():
    rubric, problems = read_rubric_file(PROJECT / "rubrics" / "scientific-investigation.yaml")
    assert not problems
    return {"request_id": "r1", "attempt": 0, "grade": 8, "redacted": ["skateboarding", "filming"],
            "targets": [{"competency_id": rubric.id, "title": rubric.title, "rubric_version": 1,
                         "criteria": [c.id for c in rubric.criteria[:2]], "reason": "growing"}],
            "rubrics": {rubric.id: rubric.model_dump()}, "versions": {rubric.id: 1}, "flags": []}


def _context(settings, designer, **changes) -> Runtime:
    return Runtime(context=graph.ProjectDeps(settings.model_copy(update=changes), db=None, embedder=None,
                                             designer=designer))


async def test_redact_takes_a_friends_name_out_of_the_interests():
    out = await graph.redact_names({"interests": ["filming with Priya Natarajan"],
                                    "roster": [{"full_name": "Priya Natarajan", "role": "classmate"}]})
    assert "Priya" not in " ".join(out["redacted"]) and out["replacements"]


async def test_propose_falls_back_to_offline_ideas_and_says_why(settings, state):
    out = await graph.propose(state, _context(settings, FailingDesigner(), fallback_models=["offline"]))
    assert out["model"] == "offline" and ["model_fallback:offline", "model_fault:refused"] == out["flags"]
    assert len(out["proposals"]) == 3 and all(Proposal.model_validate(p) for p in out["proposals"])
    assert out["usage"]["latency_ms"] >= 20


async def test_apply_decision_designs_again_keeping_only_how_targets_were_chosen():
    out = await graph.apply_decision({"roster": [], "attempt": 2, "flags": ["targets_from_interests", "too_long"],
                                      "decision": {"action": "regenerate", "teacher_id": "t", "instructions": "shorter"}})
    assert isinstance(out, Command) and out.goto == "propose"
    assert out.update["attempt"] == 3 and out.update["flags"] == ["targets_from_interests"]
    done = await graph.apply_decision({"roster": [], "decision": {"action": "reject", "teacher_id": "t", "reason": "no"}})
    assert done == {"outcome": "reject"}
