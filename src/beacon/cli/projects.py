"""`beacon projects suggest`: a project request from the command line, through the job queue."""

from __future__ import annotations

from beacon.cli.drafting import StillQueued, resolve_student
from beacon.errors import InvalidInput
from beacon.projects import repository
from beacon.projects.schemas import ProjectAsk, ProjectReviewPayload
from beacon.projects.service import request_projects


def projects_summary(payload: ProjectReviewPayload, status: str = "pending_review") -> dict:
    content = payload.content
    return {
        "draft_id": payload.draft_id,
        "request_id": payload.request_id,
        "status": status,
        "interests": content.interests,
        "targets": [t.model_dump() for t in content.targets],
        "proposals": [
            {**p.model_dump(exclude={"competencies", "milestones"}),
             "competencies": [{"competency_id": c.competency_id, "rubric_version": c.rubric_version,
                               "criteria": c.criteria, "aims": [a.model_dump() for a in c.aims]}
                              for c in p.competencies],
             "milestones": [m.model_dump() for m in p.milestones]}
            for p in content.proposals
        ],
        "flags": payload.flags,
        "model": payload.model,
        "offline": payload.model == "offline",
        "prompt_hash": payload.prompt_hash,
        "tokens": {"prompt": payload.prompt_tokens, "completion": payload.completion_tokens},
        "cost_usd": payload.cost_usd,
        "latency_ms": payload.latency_ms,
    }


async def suggest_from_cli(runtime, workflows, *, interests: str, student: str | None,
                           competencies: list[str], weeks: int | None, working: str) -> dict:
    from pydantic import ValidationError

    from beacon.runtime import run_jobs

    try:
        ask = ProjectAsk(interests=interests, competency_ids=competencies, weeks=weeks, working=working)
    except ValidationError as exc:
        raise InvalidInput("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    async with runtime.db.transaction() as session:
        author = await resolve_student(session, student)
        request = await request_projects(session, author.id, ask)
    await run_jobs(runtime, workflows, wait=False)
    payload = await workflows.projects.pending_review(request.id)
    if payload is None:
        async with runtime.db.transaction() as session:
            status = (await repository.get_request(session, request.id)).status
        raise StillQueued(f"no proposals yet: request {request.id} is saved ({status}); a worker will retry it")
    return projects_summary(payload)
