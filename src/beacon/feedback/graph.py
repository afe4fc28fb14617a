"""The feedback workflow: one LangGraph thread per submission ("feedback:<id>"), or per competency
of work handed in for several ("feedback:<id>:<competency id>", see ``competencies.py``),
checkpointed in Postgres, stopping at the teacher's review.

    load_context → redact → retrieve → assess → draft → verify → save_draft → teacher_review
                               ▲          ▲                                      │
                               │          └──── regenerate ◄──────── apply_decision → END
                               └──── regenerate with the rubric the teacher picked ◄┘

Every node that writes to the database does it in its own transaction with deterministic ids
and insert-once semantics, because LangGraph re-runs a node from its top when it resumes."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from beacon.approval import repository as drafts
from beacon.approval.decisions import stable_id
from beacon.approval.models import Draft, FeedbackExample
from beacon.config import Settings
from beacon.db.engine import Database
from beacon.errors import NotFound
from beacon.feedback import competencies as per_competency
from beacon.feedback import repository as submissions
from beacon.feedback.drafters import (
    Drafter,
    DraftingContext,
    OfflineModel,
    in_language,
    requested_language,
)
from beacon.feedback.redact import (
    Redaction,
    mentions_a_person,
    people_of,
    redact,
    redact_work,
    roster_people,
)
from beacon.feedback.schemas import (
    DraftContent,
    ProposedAssessment,
    ProposedFeedback,
    Provenance,
    ReviewPayload,
    TeacherDecision,
)
from beacon.feedback.tasks import feedback_lock
from beacon.feedback.verify import verify
from beacon.llm.client import ModelUnavailable, Usage
from beacon.llm.embeddings import Embedder
from beacon.offload import cpu
from beacon.rubrics import repository as rubrics
from beacon.rubrics.schemas import RubricDefinition
from beacon.rubrics.service import match
from beacon.school import repository as school
from beacon.text import scrub

log = logging.getLogger("beacon.feedback")


# A thread's id is its job's lock: one job waiting and one running per thread.
thread_id = feedback_lock


# The thread's state, in the groups its nodes fill (keys stay flat: checkpoints store them so).
class Given(TypedDict, total=False):
    """What the job was given, and what a teacher's regeneration changes."""

    submission_id: str
    # Work for several competencies: the one this thread drafts against (None: one thread for all).
    competency_id: str | None
    rubric_id: str | None  # forced by the caller (`beacon draft --rubric`) or picked by the teacher
    attempt: int  # 0 for the first draft, +1 per regeneration
    instructions: str | None


class Loaded(TypedDict, total=False):
    """``load_context``: the submission and who it is for."""

    student_id: str
    teacher_id: str | None
    grade: int
    language: str
    assignment_competencies: list[str]
    previous_levels: dict[str, int] | None
    roster: list[dict]
    work: str


class Redacted(TypedDict, total=False):
    """``redact``: the work as a model may see it, and how to map it back."""

    redacted: str
    replacements: dict
    spans: list
    injections: list


class Retrieved(TypedDict, total=False):
    """``retrieve``: the rubric, why it was chosen, and this teacher's approved comments."""

    rubric_version_id: int
    rubric: dict
    rubric_version: int
    retrieval: list[dict]
    work_vector: list[float]
    examples: list[str]
    bank: dict[str, str]


class Drafted(TypedDict, total=False):
    """``assess``, ``draft``, ``verify``, ``save_draft``: the draft and what it cost."""

    assessment: dict
    feedback: dict
    model: str
    offline: bool
    usage: dict
    prompt_hash: str
    content: dict
    flags: list[str]
    problems: list[str]
    repaired: bool
    draft_id: str


class Decided(TypedDict, total=False):
    """``teacher_review``, ``apply_decision``: the teacher's decision and what came of it."""

    decision: dict | None
    outcome: str


class FeedbackState(Given, Loaded, Redacted, Retrieved, Drafted, Decided, total=False):
    pass


@dataclass
class FeedbackDeps:
    """A run's context (LangGraph's ``context_schema``): what the nodes need besides the state."""

    settings: Settings
    db: Database
    embedder: Embedder
    drafter: Drafter


def _redaction(state: FeedbackState) -> Redaction:
    return Redaction(state["redacted"], state["replacements"], [tuple(s) for s in state["spans"]])


def _context(state: FeedbackState) -> DraftingContext:
    return DraftingContext(
        work=state["redacted"],
        rubric=RubricDefinition.model_validate(state["rubric"]),
        grade=state["grade"],
        language=state["language"],
        previous_levels=state.get("previous_levels"),
        examples=state.get("examples", []),
        bank=state.get("bank", {}),
        instructions=state.get("instructions"),
    )


# --- Nodes: each a function of the state and the run's context (``FeedbackDeps``) -------------

async def load_context(state: FeedbackState, runtime: Runtime[FeedbackDeps]) -> Loaded:
    async with runtime.context.db.transaction() as session:
        submission = await submissions.get(session, uuid.UUID(state["submission_id"]))
        if submission is None:
            raise NotFound(f"no submission {state['submission_id']}")
        profile = await school.profile(session, submission.student_id)
        roster = await school.people_around(session, submission.student_id)
        competencies = (
            await school.assignment_competencies(session, submission.assignment_id)
            if submission.assignment_id else []
        )
        previous_levels = None
        if submission.revision_of_id:
            # Per competency, the earlier work's release on the same one (another's criteria differ).
            earlier = await drafts.latest_release_for_submission(session, submission.revision_of_id,
                                                                 competency_id=state.get("competency_id"))
            if earlier is not None:
                previous_levels = {c["criterion_id"]: c["level"] for c in earlier.content.get("criteria", [])}
        if submission.status == "queued":
            submission.status = "drafting"
        teacher = next((u for u, role in roster if role == "teacher"), None)
        return {
            "attempt": state.get("attempt", 0),
            "student_id": str(submission.student_id),
            "teacher_id": str(teacher.id) if teacher else None,
            "grade": profile.grade if profile else 8,
            "language": profile.preferred_language if profile else "en",
            "assignment_competencies": competencies,
            "previous_levels": previous_levels,
            "roster": roster_people(roster, submission.student_id),
            "work": submission.body,
        }

async def redact_names(state: FeedbackState) -> Redacted:
    # CPU work on up to 200,000 characters: off the event loop the web app shares.
    redaction, injections = await cpu(redact_work, state["work"], people_of(state["roster"]),
                                      size=len(state["work"]))
    return {
        "redacted": redaction.text,
        "replacements": redaction.replacements,
        "spans": [list(s) for s in redaction.spans],
        "injections": [list(i) for i in injections],
    }

async def retrieve(state: FeedbackState, runtime: Runtime[FeedbackDeps]) -> Retrieved:
    deps = runtime.context
    [vector] = await deps.embedder.embed([state["redacted"]])
    async with deps.db.transaction() as session:
        if state.get("rubric_id"):
            version = await rubrics.current_version(session, state["rubric_id"])
            if version is None:
                raise NotFound(f"no rubric with id {state['rubric_id']!r}")
            retrieval = [{"id": version.competency_id, "forced": True}]
        else:
            matches = await match(
                session, state["redacted"], deps.embedder,
                competency_ids=state.get("assignment_competencies") or None, limit=3, vector=vector,
            )
            version = await rubrics.version_by_id(session, matches[0].rubric_version_id)
            retrieval = [
                {"id": m.id, "rubric_version": m.rubric_version, "score": m.score, "confidence": m.confidence,
                 "unsure": m.unsure, "moves": m.moves, "criteria": [c.criterion_id for c in m.criteria],
                 "why": m.why}
                for m in matches
            ]
        examples, bank = [], {}
        if state.get("teacher_id"):
            found = await drafts.similar_examples(
                session, uuid.UUID(state["teacher_id"]), version.competency_id, deps.embedder.name, vector
            )
            names = await _school_names(session, state) if found else []
            for example in found:
                if mentions_a_person(example.comment, names):
                    continue  # about someone: never shown to a model or another student
                examples.append(example.comment)
                if example.criterion_key:
                    bank.setdefault(example.criterion_key, example.comment.split("Try this:")[-1].strip())
    return {
        "work_vector": [round(float(x), 6) for x in vector],
        "rubric_version_id": version.id,
        "rubric_version": version.version,
        "rubric": version.definition,
        "retrieval": retrieval,
        "examples": examples,
        "bank": bank,
    }

def _time_left(deps: FeedbackDeps, spent: Usage) -> float:
    """Seconds left of the draft's deadline after the model time already ``spent``."""
    return max(0.1, deps.settings.draft_deadline_s - spent.latency_ms / 1000)


async def _with_fallback(deps: FeedbackDeps, call, state: FeedbackState, *, after_assess: bool = False):
    """Ask the configured model within what is left of the draft's deadline; when it cannot
    answer, the offline model (if configured as a fallback) or a retry of the job later.
    Returns the answer and the flags to add; a fallback answer carries the failed calls' cost."""
    if after_assess and "model_fallback:offline" in state.get("flags", ()):
        # This draft already fell back: the failing model is not asked again (twice the wait).
        return await call(OfflineModel()), []
    left_s = _time_left(deps, Usage(**state.get("usage", {})) if after_assess else Usage())
    try:
        try:
            async with asyncio.timeout(left_s):
                return await call(deps.drafter), []
        except TimeoutError:
            waited = Usage(calls=1, latency_ms=int(left_s * 1000))
            raise ModelUnavailable("the draft ran past its deadline", reason="deadline", usage=waited) from None
    except ModelUnavailable as fault:
        log.warning("model %s unavailable for submission %s (%s): %s", deps.drafter.name,
                    state.get("submission_id"), fault.reason, fault)
        if "offline" not in deps.settings.fallback_models:
            raise  # the job stays queued and is retried later: nothing is lost
        value, usage, model = await call(OfflineModel())
        fault.usage.add(usage)
        return (value, fault.usage, model), ["model_fallback:offline", f"model_fault:{fault.reason}"]

async def assess(state: FeedbackState, runtime: Runtime[FeedbackDeps]) -> Drafted:
    deps = runtime.context
    ctx = _context(state)
    (assessment, usage, model), flags = await _with_fallback(deps, lambda d: d.assess(ctx), state)
    return {
        "assessment": assessment.model_dump(),
        "usage": vars(usage),
        "model": model,
        "offline": model == "offline",
        "flags": flags,
        "problems": [],
        "repaired": False,
    }

async def draft(state: FeedbackState, runtime: Runtime[FeedbackDeps]) -> Drafted:
    deps = runtime.context
    ctx = _context(state)
    assessment = ProposedAssessment.model_validate(state["assessment"])
    (feedback, usage, model), flags = await _with_fallback(deps, lambda d: d.write(ctx, assessment), state, after_assess=True)
    total = Usage(**state.get("usage", {}))
    total.add(usage)
    return {"feedback": feedback.model_dump(), "usage": vars(total),
            "flags": [*state.get("flags", []), *flags]}

def _verify_args(deps: FeedbackDeps, state: FeedbackState, assessment: dict, feedback: dict) -> dict:
    return dict(
        work=state["redacted"], rubric=RubricDefinition.model_validate(state["rubric"]),
        rubric_version=state["rubric_version"],
        assessment=ProposedAssessment.model_validate(assessment),
        feedback=ProposedFeedback.model_validate(feedback),
        language=requested_language(state["language"], state.get("instructions")),
        injections=state.get("injections", []),
        score_language_allowed=deps.settings.score_language,
    )

async def verify_draft(state: FeedbackState, runtime: Runtime[FeedbackDeps]) -> Drafted:
    deps = runtime.context
    result = await cpu(verify, **_verify_args(deps, state, state["assessment"], state["feedback"]), size=len(state["work"]))
    assessment, feedback, usage = state["assessment"], state["feedback"], Usage(**state["usage"])
    repaired = False
    fell_back = "model_fallback:offline" in state.get("flags", ())
    if result.needs_repair and not deps.drafter.offline and state.get("model") != "offline" and not fell_back:
        # One repair round with the model, then accept what holds and flag the rest.
        ctx = _context(state)
        try:
            async with asyncio.timeout(_time_left(deps, usage)):
                fixed_assessment, u1, _ = await deps.drafter.assess(ctx, problems=result.problems)
                fixed_feedback, u2, _ = await deps.drafter.write(ctx, fixed_assessment, problems=result.problems)
            usage.add(u1)
            usage.add(u2)
            retry = await cpu(verify, **_verify_args(deps, state, fixed_assessment.model_dump(),
                                                     fixed_feedback.model_dump()), size=len(state["work"]))
            if len(retry.problems) <= len(result.problems):
                result, assessment, feedback = retry, fixed_assessment.model_dump(), fixed_feedback.model_dump()
            repaired = True
        except (ModelUnavailable, TimeoutError):
            pass  # keep the first draft and its flags
    redaction = _redaction(state)
    content = result.content.model_copy(deep=True)
    for criterion in content.criteria:  # evidence offsets point into the student's own text
        for evidence in criterion.evidence:
            evidence.start, evidence.end = redaction.to_original(evidence.start, evidence.end)
            evidence.quote = state["work"][evidence.start:evidence.end]
    for name in ("strengths", "next_steps", "improvements"):
        setattr(content, name, [redaction.restore(s) for s in getattr(content, name)])
    content.question = redaction.restore(content.question)
    content.feedback = redaction.restore(content.feedback)
    flags = [*state.get("flags", []), *result.flags]
    if state.get("offline") or state.get("model") == "offline":
        flags.append("offline_model")
        if content.language != "en":
            rubric = RubricDefinition.model_validate(state["rubric"])
            if in_language(rubric, content.language) is rubric:
                flags.append("rubric_text_in_english")  # no translation of this rubric: its words stay English
    if repaired or usage.repairs:  # a repair round on the draft, or on a JSON answer
        flags.append("repaired")
    return {
        "assessment": assessment, "feedback": feedback, "usage": vars(usage),
        "content": content.model_dump(), "flags": sorted(set(flags), key=flags.index),
        "repaired": repaired,
    }

async def save_draft(state: FeedbackState, runtime: Runtime[FeedbackDeps]) -> Drafted:
    deps = runtime.context
    competency, attempt = state.get("competency_id"), state.get("attempt", 0)
    draft_id = per_competency.draft_id(state["submission_id"], competency, attempt)
    usage = state["usage"]
    async with deps.db.transaction() as session:
        if competency is not None:
            # The work's row before the insert: two competencies' saves would otherwise deadlock
            # (each insert holds a key share on the row, then each wants it to set the status).
            await per_competency.locked(session, uuid.UUID(state["submission_id"]))
        await drafts.insert_once(
            session, Draft,
            id=draft_id, kind="feedback", student_id=uuid.UUID(state["student_id"]),
            submission_id=uuid.UUID(state["submission_id"]),
            rubric_version_id=state["rubric_version_id"],
            regenerated_from_id=(
                per_competency.draft_id(state["submission_id"], competency, attempt - 1) if attempt else None
            ),
            content=scrub(state["content"]), flags=state["flags"],
            model=state["model"], prompt_hash=deps.drafter.prompt_hash if state["model"] != "offline" else OfflineModel.prompt_hash,
            retrieval=state["retrieval"],
            prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"],
            cost_usd=usage["cost_usd"], latency_ms=usage["latency_ms"],
        )
        # A re-run after a crash (between this commit and the run's checkpoint) drafts anew,
        # but the row a teacher may already be reading stays: the thread takes the row.
        row = await drafts.get_draft(session, draft_id)
        if row.status == "pending_review":
            submission_id = uuid.UUID(state["submission_id"])
            if competency is None:
                await drafts.supersede_pending(session, submission_id, keep=draft_id)
                submission = await submissions.get(session, submission_id)
                submission.status = "pending_review"
            else:  # only this competency's earlier drafts: its siblings wait for their own decisions
                await drafts.supersede_pending(session, submission_id, keep=draft_id, among=[
                    per_competency.draft_id(submission_id, competency, k) for k in range(attempt)])
                await per_competency.settle(session, submission_id)
    return {"draft_id": str(draft_id), "content": row.content, "flags": row.flags, "model": row.model,
            "usage": {**usage, "prompt_tokens": row.prompt_tokens, "completion_tokens": row.completion_tokens,
                      "cost_usd": float(row.cost_usd), "latency_ms": row.latency_ms}}

async def teacher_review(state: FeedbackState, runtime: Runtime[FeedbackDeps]) -> Decided:
    deps = runtime.context
    # No side effects before interrupt(): this node runs again from its top on resume.
    payload = review_payload(state, deps)
    decision = interrupt(payload.model_dump(mode="json"))
    return {"decision": TeacherDecision.model_validate(decision).model_dump(mode="json")}

async def apply_decision(state: FeedbackState, runtime: Runtime[FeedbackDeps]) -> Decided | Command:
    """The decision, its release and the statuses were written when the teacher decided
    (``approval/decisions.py``); the thread only follows: keep the teacher's voice from what
    was released, or draft again."""
    deps = runtime.context
    decision = TeacherDecision.model_validate(state["decision"])
    draft_id = uuid.UUID(state["draft_id"])
    if decision.action == "regenerate":
        # The teacher's words go to the model too: names and contact details out first.
        instructions = redact(decision.instructions or "", people_of(state["roster"])).text
        update = {"attempt": state.get("attempt", 0) + 1, "instructions": instructions, "decision": None}
        if decision.rubric_id:  # the teacher picked the competency: retrieve that rubric, then draft
            return Command(goto="retrieve", update={**update, "rubric_id": decision.rubric_id})
        # Instructions may concern the levels ("stricter on evidence"): assess again, then write.
        return Command(goto="assess", update=update)
    if decision.action == "approve":
        async with deps.db.transaction() as session:
            release = await drafts.release_of(session, draft_id)
            if release is not None:
                await _remember_voice(deps, session, state, release.teacher_id, draft_id,
                                      DraftContent.model_validate(release.content))
    return {"outcome": decision.action}

async def _school_names(session, state) -> list[str]:
    student = await school.get_user(session, uuid.UUID(state["student_id"]))
    return await school.names_in_school(session, student.school_id) if student else []

async def _remember_voice(deps: FeedbackDeps, session, state, teacher_id, draft_id, content: DraftContent) -> None:
    """Approved next steps become examples of this teacher's voice for similar work later."""
    vector = state.get("work_vector") or (await deps.embedder.embed([state["redacted"]]))[0]
    titles = {c["id"]: c["title"] for c in state["rubric"]["criteria"]}
    names = await _school_names(session, state)
    rows = []
    for i, step in enumerate(content.next_steps):
        if mentions_a_person(step, names):
            continue  # a comment that names a person is this student's alone
        key = next((cid for cid, title in titles.items() if step.startswith(title)), None)
        rows.append({"id": stable_id(draft_id, "example", i), "teacher_id": teacher_id,
                     "competency_id": state["rubric"]["id"], "criterion_key": key, "draft_id": draft_id,
                     "comment": step, "embed_model": deps.embedder.name, "embedding": vector})
    await drafts.insert_many_once(session, FeedbackExample, rows)


def build_graph(checkpointer=None):
    """The graph; its dependencies come with each run (``context=FeedbackDeps``, see ``FeedbackWorkflow``)."""
    graph = StateGraph(FeedbackState, context_schema=FeedbackDeps)
    for name, node in [
        ("load_context", load_context), ("redact", redact_names), ("retrieve", retrieve),
        ("assess", assess), ("draft", draft), ("verify", verify_draft), ("save_draft", save_draft),
        ("teacher_review", teacher_review),
    ]:
        graph.add_node(name, node)
    graph.add_node("apply_decision", apply_decision, destinations=("retrieve", "assess", END))
    graph.add_edge(START, "load_context")
    for a, b in [("load_context", "redact"), ("redact", "retrieve"), ("retrieve", "assess"),
                 ("assess", "draft"), ("draft", "verify"), ("verify", "save_draft"),
                 ("save_draft", "teacher_review"), ("teacher_review", "apply_decision")]:
        graph.add_edge(a, b)
    graph.add_edge("apply_decision", END)
    return graph.compile(checkpointer=checkpointer)


def review_payload(state: FeedbackState, deps: FeedbackDeps) -> ReviewPayload:
    usage = state["usage"]
    return ReviewPayload(
        draft_id=state["draft_id"],
        submission_id=state["submission_id"],
        student_id=state["student_id"],
        content=DraftContent.model_validate(state["content"]),
        flags=state["flags"],
        provenance=Provenance(
            model=state["model"], offline=state["model"] == "offline",
            prompt_hash=OfflineModel.prompt_hash if state["model"] == "offline" else deps.drafter.prompt_hash,
            rubric_version_id=state["rubric_version_id"], retrieval=state["retrieval"],
            prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"],
            cost_usd=usage["cost_usd"], latency_ms=usage["latency_ms"],
        ),
    )

