"""Project proposals from a real HTTP provider boundary (respx): the happy path, invalid output
repaired, unsafe and invented output verified away with one repair round, outages falling back
or leaving the request queued, and no roster name or email in any request body."""

from __future__ import annotations

import json

import pytest
import respx
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import text

from beacon.llm.client import ModelUnavailable
from beacon.projects.designer import designer_for
from beacon.projects.graph import ProjectDeps
from beacon.projects.models import ProjectRequest
from beacon.projects.schemas import ProjectAsk
from beacon.projects.service import request_projects
from beacon.projects.workflow import ProjectWorkflow
from beacon.runtime import Workflows, open_feedback, run_jobs
from tests.fakes import FakeProvider

MODEL, BASE, URL = "openai/gpt-4o-mini", "https://llm.test/v1", "https://llm.test/v1/chat/completions"
INTERESTS = "skateboarding, filming with Priya Natarajan (priya.n@student.example.org), physics"


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def workflow_for(runtime, **settings) -> ProjectWorkflow:
    configured = runtime.settings.model_copy(update={"model": MODEL, "model_api_base": BASE, "model_retries": 1, **settings})
    return ProjectWorkflow(ProjectDeps(configured, runtime.db, runtime.embedder, designer_for(configured)), InMemorySaver())


async def _request(runtime, classroom, **kw) -> ProjectRequest:
    async with runtime.db.transaction() as session:
        return await request_projects(session, classroom.student_id,
                                      ProjectAsk(interests=INTERESTS, competency_ids=["scientific-investigation"], **kw))


async def test_happy_path_keeps_names_and_emails_away_from_the_provider(runtime, classroom):
    request = await _request(runtime, classroom)
    fake = FakeProvider()
    with respx.mock(using="httpx", assert_all_called=True) as mock:
        mock.post(URL).mock(side_effect=fake.openai)
        payload = await workflow_for(runtime).run_to_review(request.id)
    assert payload.model == MODEL and "offline_model" not in payload.flags
    assert payload.prompt_tokens > 0 and len(payload.content.proposals) == 3
    assert {c.competency_id for p in payload.content.proposals for c in p.competencies} == {"scientific-investigation"}
    assert len(fake.bodies) == 1
    for secret in ("Priya", "Natarajan", "priya.n@student.example.org", "Maya", "Okafor"):
        assert secret not in fake.bodies[0]
    prompt = json.loads(fake.bodies[0])["messages"][-1]["content"]
    assert "<student_interests>" in prompt and "[CLASSMATE_1]" in prompt
    assert "from the student's mastery record" in prompt and "aim for:" in prompt
    # What each idea would move on the record is Beacon's to say, not the model's.
    for proposal in payload.content.proposals:
        [grows] = proposal.competencies
        assert grows.aims and [a.criterion_id for a in grows.aims] == [c for c in grows.criteria if c in
                                                                        {a.criterion_id for a in payload.content.targets[0].aims}]
    # Shown to the teacher in the student's own words again.
    assert any("Priya" in p.title or "Priya" in p.why_it_fits for p in payload.content.proposals)


async def test_invalid_output_is_repaired(runtime, classroom):
    request = await _request(runtime, classroom)
    fake = FakeProvider(faults=["invalid"])
    with respx.mock(using="httpx") as mock:
        mock.post(URL).mock(side_effect=fake.openai)
        payload = await workflow_for(runtime).run_to_review(request.id)
    assert len(payload.content.proposals) == 3 and len(fake.bodies) == 2


@pytest.mark.parametrize(("mode", "flag"), [("unsafe", "unsafe_dropped:"), ("similar", "too_similar:"),
                                            ("invented", "invented_competency:underwater-basket-weaving")])
async def test_bad_proposals_get_one_repair_round_and_stay_flagged(runtime, classroom, mode, flag):
    request = await _request(runtime, classroom)
    fake = FakeProvider(project_modes=[mode, "good"])
    with respx.mock(using="httpx") as mock:
        mock.post(URL).mock(side_effect=fake.openai)
        payload = await workflow_for(runtime).run_to_review(request.id)
    assert len(fake.bodies) == 2 and "Fix these problems" in fake.bodies[1]
    assert "repaired" in payload.flags and len(payload.content.proposals) == 3  # the repaired answer is kept
    assert not any(f.startswith(flag) for f in payload.flags)  # ... and it no longer has the problem
    # Without a good second answer, the problem stays visible to the teacher.
    again = await _request(runtime, classroom)
    stubborn = FakeProvider(project_modes=[mode, mode])
    with respx.mock(using="httpx") as mock:
        mock.post(URL).mock(side_effect=stubborn.openai)
        kept = await workflow_for(runtime).run_to_review(again.id)
    assert any(f.startswith(flag) for f in kept.flags)
    assert "garage roof" not in kept.content.model_dump_json()


async def test_outage_falls_back_to_offline_when_configured(runtime, classroom):
    request = await _request(runtime, classroom)
    with respx.mock(using="httpx") as mock:
        mock.post(URL).mock(side_effect=FakeProvider(faults=[500] * 10).openai)
        payload = await workflow_for(runtime, fallback_models=["offline"]).run_to_review(request.id)
    assert payload.model == "offline" and "model_fallback:offline" in payload.flags


async def test_outage_leaves_the_request_queued_and_nothing_lost(runtime, classroom):
    request = await _request(runtime, classroom)
    with respx.mock(using="httpx") as mock:
        mock.post(URL).mock(side_effect=FakeProvider(faults=[503] * 20).openai)
        with pytest.raises(ModelUnavailable):
            await workflow_for(runtime).run_to_review(request.id)
    # Through the job queue: the job is retried later and the request stays as the student wrote it.
    async with open_feedback(runtime, InMemorySaver()) as feedback:
        configured = runtime.settings.model_copy(update={"model": MODEL, "model_api_base": BASE, "model_retries": 0})
        projects = ProjectWorkflow(ProjectDeps(configured, runtime.db, runtime.embedder, designer_for(configured)),
                                   InMemorySaver())
        with respx.mock(using="httpx") as mock:
            mock.post(URL).mock(side_effect=FakeProvider(faults=[503] * 20).openai)
            await run_jobs(runtime, Workflows(feedback, projects), wait=False)
    async with runtime.db.transaction() as session:
        stored = await session.get(ProjectRequest, request.id)
        assert (stored.status, stored.interests) == ("queued", INTERESTS)
        job = (await session.execute(text(
            "SELECT status, attempts FROM procrastinate_jobs WHERE queueing_lock = :l"),
            {"l": f"projects:{request.id}"})).one()
    assert job == ("todo", 1)
