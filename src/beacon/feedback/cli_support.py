"""`beacon draft`: a submission from the command line, through the real job queue."""

from __future__ import annotations

import uuid

from beacon.errors import BeaconError, NotFound
from beacon.feedback import repository as submissions
from beacon.feedback.schemas import ReviewPayload
from beacon.feedback.service import submit_for_feedback
from beacon.school import repository as school


class StillQueued(BeaconError):
    exit_code = 6


async def resolve_student(session, student: str | None):
    if student is None:
        from beacon.demo.service import load_samples, setup_school

        seeds, _ = load_samples()
        return next(iter((await setup_school(session, seeds)).values()))
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


async def draft_from_cli(runtime, workflow, text: str, *, name: str, student: str | None, rubric: str | None) -> dict:
    from beacon.runtime import run_jobs

    async with runtime.db.transaction() as session:
        author = await resolve_student(session, student)
        if rubric is not None:
            from beacon.rubrics.service import get_rubric

            await get_rubric(session, rubric)  # an unknown id fails here, before anything is stored
        submission = await submit_for_feedback(
            session, student_id=author.id, title=name, body=text, source_filename=name, rubric_id=rubric
        )
    await run_jobs(runtime, workflow, wait=False)
    payload = await workflow.pending_review(submission.id)
    if payload is None:
        async with runtime.db.transaction() as session:
            status = (await submissions.get(session, submission.id)).status
        raise StillQueued(
            f"no draft yet: submission {submission.id} is saved ({status}); "
            + ("a worker (`beacon worker`) will retry it" if status != "failed" else "drafting failed; see the worker log")
        )
    return draft_summary(payload)
