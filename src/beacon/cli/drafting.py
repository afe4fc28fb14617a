"""`beacon draft`: a submission from the command line, through the real job queue."""

from __future__ import annotations

import uuid

from beacon.errors import BeaconError, NotFound
from beacon.feedback import repository as submissions
from beacon.feedback.schemas import ReviewPayload
from beacon.feedback.service import submit_for_feedback
from beacon.feedback.tasks import QUEUE, feedback_lock
from beacon.school import repository as school


class StillQueued(BeaconError):
    exit_code = 6


async def resolve_student(session, student: str | None):
    if student is None:
        from beacon.demo.service import load_samples, setup_school

        seeds, _ = load_samples()
        return next(iter((await setup_school(session, seeds)).students.values()))
    try:
        user = await school.get_user(session, uuid.UUID(student))
    except ValueError:
        user = await school.user_by_email(session, student)
    if user is None or user.role != "student":
        raise NotFound(f"no student {student!r}")
    return user


def draft_summary(payload: ReviewPayload, status: str = "pending_review") -> dict:
    content, provenance = payload.content, payload.provenance
    return {
        "draft_id": payload.draft_id,
        "submission_id": payload.submission_id,
        "status": status,
        "rubric_id": content.rubric_id,
        "rubric_version": content.rubric_version,
        "criteria": [
            {
                "criterion_id": c.criterion_id,
                "level": c.level,
                "level_label": c.level_label,
                "evidence": [e.model_dump() for e in c.evidence],
                "rationale": c.rationale,
                "confidence": c.confidence,
            }
            for c in content.criteria
        ],
        "feedback": content.feedback,
        "flags": payload.flags,
        "model": provenance.model,
        "offline": provenance.offline,
        "prompt_hash": provenance.prompt_hash,
        "tokens": {"prompt": provenance.prompt_tokens, "completion": provenance.completion_tokens},
        "cost_usd": provenance.cost_usd,
        "latency_ms": provenance.latency_ms,
        "retrieval": provenance.retrieval,
    }


async def draft_from_cli(runtime, workflows, text: str, *, name: str, student: str | None, rubric: str | None) -> dict:
    """Store the work and draft it here, this submission only (the rest of the queue is the
    workers'): its job is moved to a queue of this process's own in the transaction that stores
    it, and run there as any job is (heartbeats, retries, recovery). When no draft can be made
    now, the job goes back to the shared queue and the error says why."""
    from beacon.jobs import move_waiting_job
    from beacon.llm.client import REASONS, ModelUnavailable, check_server
    from beacon.runtime import run_jobs

    own_queue = f"cli-{uuid.uuid4().hex[:12]}"
    async with runtime.db.transaction() as session:
        author = await resolve_student(session, student)
        if rubric is not None:
            from beacon.rubrics.service import get_rubric

            await get_rubric(session, rubric)  # an unknown id fails here, before anything is stored
        submission = await submit_for_feedback(
            session, student_id=author.id, title=name, body=text, source_filename=name, rubric_id=rubric
        )
        lock = feedback_lock(submission.id)
        await move_waiting_job(session, lock, own_queue)
    saved = f"submission {submission.id} is saved and queued; a worker (`beacon worker`) will draft it"
    faults: dict[str, BaseException] = {}
    problem = await check_server(runtime.settings)
    if problem is None:
        await run_jobs(runtime, workflows, wait=False, queue=own_queue, faults=faults)
    async with runtime.db.transaction() as session:
        await move_waiting_job(session, lock, QUEUE)  # a retry waits for the workers
    payload = await workflows.feedback.pending_review(submission.id)
    if payload is not None:
        return draft_summary(payload)
    fault = faults.get(str(submission.id))
    if problem is None and isinstance(fault, ModelUnavailable):
        problem = REASONS.get(fault.reason, str(fault))
    elif problem is None and fault is not None:
        problem = f"{type(fault).__name__}: {fault}"
    async with runtime.db.transaction() as session:
        status = (await submissions.get(session, submission.id)).status
    if status == "failed":
        raise StillQueued(f"no draft: drafting submission {submission.id} failed ({problem or 'see the worker log'})")
    raise StillQueued(f"no draft yet: {problem or 'it is still being drafted'}; {saved}")
