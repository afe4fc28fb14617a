"""The project workflow: one LangGraph thread per request ("projects:<id>"), checkpointed in
Postgres, stopping at the teacher's review like feedback does.

    load_request → redact → choose_targets → propose → verify → save_draft → teacher_review
                                               ▲                                  │
                                               └────── regenerate ◄── apply_decision → END

Nodes that write use their own transaction, deterministic ids and insert-once semantics:
LangGraph re-runs a node from its top when it resumes."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from beacon.approval import repository as drafts
from beacon.approval.decisions import stable_id
from beacon.approval.models import Draft
from beacon.config import Settings
from beacon.db.engine import Database
from beacon.errors import NotFound
from beacon.feedback.redact import Redaction, people_of, redact, roster_people
from beacon.llm.client import ModelUnavailable, Usage
from beacon.llm.embeddings import Embedder
from beacon.offload import in_pool
from beacon.projects import repository as projects
from beacon.projects import service
from beacon.projects.designer import (
    Brief,
    OfflineDesigner,
    design_offline,
    interest_phrases,
    offline_prompt_hash,
)
from beacon.projects.schemas import (
    ProjectContent,
    ProjectDecision,
    ProjectReviewPayload,
    Proposal,
    Target,
)
from beacon.projects.targets import aimed
from beacon.projects.tasks import projects_lock
from beacon.projects.verify import check_projects
from beacon.rubrics.schemas import RubricDefinition
from beacon.school import repository as school
from beacon.text import scrub

# A thread's id is its job's lock: one job waiting and one running per thread.
thread_id = projects_lock


# The thread's state, in the groups its nodes fill (keys stay flat: checkpoints store them so).
class Given(TypedDict, total=False):
    """What the job was given, and what a teacher's regeneration changes."""

    request_id: str
    attempt: int
    instructions: str | None


class Loaded(TypedDict, total=False):
    """``load_request``: the request and its student."""

    student_id: str
    grade: int
    roster: list[dict]
    interests: list[str]  # the student's words
    weeks: int | None
    working: str
    materials: str


class Redacted(TypedDict, total=False):
    """``redact``: the interests as a provider sees them."""

    redacted: list[str]
    replacements: dict


class Targeted(TypedDict, total=False):
    """``choose_targets``: the competencies to grow (from the mastery record) and their rubrics."""

    targets: list[dict]
    rubrics: dict[str, dict]
    versions: dict[str, int]


class Designed(TypedDict, total=False):
    """``propose``, ``verify``, ``save_draft``: the ideas and what they cost."""

    proposals: list[dict]
    model: str
    usage: dict
    content: dict
    flags: list[str]
    draft_id: str


class Decided(TypedDict, total=False):
    """``teacher_review``, ``apply_decision``: the teacher's decision and what came of it."""

    decision: dict | None
    outcome: str


class ProjectState(Given, Loaded, Redacted, Targeted, Designed, Decided, total=False):
    pass


@dataclass
class ProjectDeps:
    """A run's context (LangGraph's ``context_schema``): what the nodes need besides the state."""

    settings: Settings
    db: Database
    embedder: Embedder
    designer: object  # OfflineDesigner or LLMDesigner


def _brief(state: ProjectState) -> Brief:
    return Brief(
        interests=state["redacted"], targets=[Target.model_validate(t) for t in state["targets"]],
        rubrics={k: RubricDefinition.model_validate(v) for k, v in state["rubrics"].items()},
        weeks=state.get("weeks"), working=state.get("working", "either"),
        materials=state.get("materials", ""), seed=f"{state['request_id']}:{state.get('attempt', 0)}",
        instructions=state.get("instructions"),
    )


# --- Nodes: each a function of the state and the run's context (``ProjectDeps``) -------------

async def load_request(state: ProjectState, runtime: Runtime[ProjectDeps]) -> Loaded:
    deps = runtime.context
    request_id = uuid.UUID(state["request_id"])
    async with deps.db.transaction() as session:
        request = await projects.get_request(session, request_id)
        if request is None:
            raise NotFound(f"no project request {request_id}")
        profile = await school.profile(session, request.student_id)
        roster = await school.people_around(session, request.student_id)
        if request.status == "queued":
            request.status = "designing"
        return {
            "attempt": state.get("attempt", 0),
            "student_id": str(request.student_id),
            "grade": profile.grade if profile else 8,
            "roster": roster_people(roster, request.student_id),
            "interests": interest_phrases(request.interests, list(request.tags)),
            "weeks": request.weeks, "working": request.working, "materials": request.materials,
        }

async def redact_names(state: ProjectState) -> Redacted:
    # Interests can name friends ("filming with Priya"): names never reach a provider.
    redaction = redact("\n".join(state["interests"]), people_of(state["roster"]))
    return {"redacted": redaction.text.split("\n") if state["interests"] else [],
            "replacements": redaction.replacements}

async def choose_targets(state: ProjectState, runtime: Runtime[ProjectDeps]) -> Targeted:
    deps = runtime.context
    async with deps.db.transaction() as session:
        request = await projects.get_request(session, uuid.UUID(state["request_id"]))
        targets, versions, flags = await service.choose_targets(session, request, deps.embedder, deps.settings)
    return {"targets": [t.model_dump() for t in targets],
            "rubrics": {c: v.definition for c, v in versions.items()},
            "versions": {c: v.version for c, v in versions.items()}, "flags": flags}

async def propose(state: ProjectState, runtime: Runtime[ProjectDeps]) -> Designed:
    deps = runtime.context
    brief = _brief(state)
    flags = list(state.get("flags", []))
    try:
        if isinstance(deps.designer, OfflineDesigner):
            proposals, usage, model = await _offline(brief)
        else:
            try:
                async with asyncio.timeout(deps.settings.draft_deadline_s):
                    proposals, usage, model = await deps.designer.design(brief, grade=state["grade"])
            except TimeoutError:
                raise ModelUnavailable("the design ran past its deadline", reason="deadline") from None
    except ModelUnavailable as fault:
        if "offline" not in deps.settings.fallback_models:
            raise  # the job stays queued and is retried later: nothing is lost
        proposals, usage, model = await _offline(brief)
        fault.usage.add(usage)
        usage = fault.usage  # the failed calls' cost stays on the record
        flags += ["model_fallback:offline", f"model_fault:{fault.reason}"]
    return {"proposals": [p.model_dump() for p in proposals], "usage": vars(usage), "model": model,
            "flags": flags}

async def _offline(brief: Brief):
    started = time.perf_counter()
    proposals = await in_pool(design_offline, brief)  # CPU: beside the event loop, not on it
    return proposals, Usage.local_call(started), "offline"

def _check(state: ProjectState, proposals: list[Proposal]):
    return check_projects(proposals, interests=state["redacted"],
                          rubrics={k: RubricDefinition.model_validate(v) for k, v in state["rubrics"].items()},
                          versions=state["versions"])

async def verify(state: ProjectState, runtime: Runtime[ProjectDeps]) -> Designed:
    deps = runtime.context
    proposals = [Proposal.model_validate(p) for p in state["proposals"]]
    result = _check(state, proposals)
    usage = Usage(**state["usage"])
    flags = list(state.get("flags", []))
    if result.needs_repair and state["model"] != "offline":
        # One repair round with the model, then keep what holds and flag the rest.
        try:
            fixed, more, _ = await deps.designer.design(_brief(state), grade=state["grade"], problems=result.problems)
            usage.add(more)
            retry = _check(state, fixed)
            if len(retry.proposals) >= len(result.proposals):
                result = retry
            flags.append("repaired")
        except ModelUnavailable:
            pass
    flags += result.flags
    if state["model"] == "offline":
        flags.append("offline_model")
    restore = _restorer(state["replacements"])
    targets = [Target.model_validate(t) for t in state["targets"]]
    content = ProjectContent(
        interests=state["interests"],
        targets=targets,
        # Each idea says what it gives evidence for and how far that moves the student (the record's numbers).
        proposals=[aimed(_restored(p, restore), targets) for p in result.proposals],
    )
    return {"content": content.model_dump(), "usage": vars(usage),
            "flags": sorted(set(flags), key=flags.index)}

async def save_draft(state: ProjectState, runtime: Runtime[ProjectDeps]) -> Designed:
    deps = runtime.context
    request_id = uuid.UUID(state["request_id"])
    draft_id = stable_id(request_id, "draft", state.get("attempt", 0))
    usage = state["usage"]
    async with deps.db.transaction() as session:
        await drafts.insert_once(
            session, Draft, id=draft_id, kind="project", student_id=uuid.UUID(state["student_id"]),
            project_request_id=request_id,
            regenerated_from_id=stable_id(request_id, "draft", state["attempt"] - 1) if state.get("attempt") else None,
            content=scrub(state["content"]), flags=state["flags"], model=state["model"],
            prompt_hash=_prompt_hash(deps, state["model"]),
            retrieval=[{"id": t["competency_id"], "reason": t["reason"]} for t in state["targets"]],
            prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"],
            cost_usd=usage["cost_usd"], latency_ms=usage["latency_ms"],
        )
        # As for feedback: after a crash the row a teacher may be reading stays the truth.
        row = await drafts.get_draft(session, draft_id)
        if row.status == "pending_review":
            await projects.supersede_pending(session, request_id, keep=draft_id)
            (await projects.get_request(session, request_id)).status = "pending_review"
    return {"draft_id": str(draft_id), "content": row.content, "flags": row.flags, "model": row.model}

async def teacher_review(state: ProjectState, runtime: Runtime[ProjectDeps]) -> Decided:
    deps = runtime.context
    # No side effects before interrupt(): this node runs again from its top on resume.
    decision = interrupt(review_payload(state, deps).model_dump(mode="json"))
    return {"decision": ProjectDecision.model_validate(decision).model_dump(mode="json")}

async def apply_decision(state: ProjectState) -> Decided | Command:
    """The decision and its release were written when the teacher decided; the thread ends,
    or designs again."""
    decision = ProjectDecision.model_validate(state["decision"])
    if decision.action == "regenerate":
        instructions = redact(decision.instructions or "", people_of(state["roster"])).text  # names out first
        return Command(goto="propose", update={"attempt": state.get("attempt", 0) + 1,
                                               "instructions": instructions, "decision": None,
                                               "flags": [f for f in state["flags"] if f == "targets_from_interests"]})
    return {"outcome": decision.action}


def build_graph(checkpointer=None):
    """The graph; its dependencies come with each run (``context=ProjectDeps``, see ``ProjectWorkflow``)."""
    graph = StateGraph(ProjectState, context_schema=ProjectDeps)
    for name, node in [("load_request", load_request), ("redact", redact_names), ("choose_targets", choose_targets),
                       ("propose", propose), ("verify", verify), ("save_draft", save_draft),
                       ("teacher_review", teacher_review)]:
        graph.add_node(name, node)
    graph.add_node("apply_decision", apply_decision, destinations=("propose", END))
    graph.add_edge(START, "load_request")
    for a, b in [("load_request", "redact"), ("redact", "choose_targets"), ("choose_targets", "propose"),
                 ("propose", "verify"), ("verify", "save_draft"), ("save_draft", "teacher_review"),
                 ("teacher_review", "apply_decision")]:
        graph.add_edge(a, b)
    graph.add_edge("apply_decision", END)
    return graph.compile(checkpointer=checkpointer)


def _prompt_hash(deps: ProjectDeps, model: str) -> str:
    return offline_prompt_hash() if model == "offline" else deps.designer.prompt_hash


def _restorer(replacements: dict):
    return Redaction("", replacements).restore


def _restored(proposal: Proposal, restore) -> Proposal:
    """Names back in every text a teacher and student read."""
    data = proposal.model_dump()
    for key in ("title", "driving_question", "why_it_fits", "final_product", "audience", "safety_note"):
        if data.get(key):
            data[key] = restore(data[key])
    for key in ("interests_used", "scaffolds", "resources", "checkpoints"):
        data[key] = [restore(s) for s in data[key]]
    for milestone in data["milestones"]:
        milestone["title"], milestone["evidence"] = restore(milestone["title"]), restore(milestone["evidence"])
    return Proposal.model_validate(data)


def review_payload(state: ProjectState, deps: ProjectDeps) -> ProjectReviewPayload:
    usage = state["usage"]
    return ProjectReviewPayload(
        draft_id=state["draft_id"], request_id=state["request_id"], student_id=state["student_id"],
        content=ProjectContent.model_validate(state["content"]), flags=state["flags"], model=state["model"],
        prompt_hash=_prompt_hash(deps, state["model"]), prompt_tokens=usage["prompt_tokens"],
        completion_tokens=usage["completion_tokens"], cost_usd=usage["cost_usd"], latency_ms=usage["latency_ms"],
    )
