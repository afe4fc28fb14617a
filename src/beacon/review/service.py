"""Teacher decisions on drafts. Scope is checked here (and again by the schema): a teacher may
decide only on drafts of students they teach; anything else is "not found"."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.errors import InvalidInput, NotFound
from beacon.feedback.schemas import TeacherDecision
from beacon.review import repository
from beacon.review.models import Draft


async def draft_for_teacher(session: AsyncSession, draft_id: uuid.UUID, teacher_id: uuid.UUID) -> Draft:
    draft = await repository.draft_taught_by(session, draft_id, teacher_id)  # one query: scope included
    if draft is None:
        raise NotFound(f"no draft {draft_id}")
    return draft


def check_decision(draft: Draft, decision) -> None:
    """What every decision needs, whatever was drafted: a draft still waiting, a reason to
    reject, instructions to regenerate, and edits only with an approval."""
    if draft.status != "pending_review":
        raise InvalidInput(f"draft {draft.id} is {draft.status.replace('_', ' ')}, not waiting for review")
    if decision.action == "reject" and not (decision.reason or "").strip():
        raise InvalidInput("a rejection needs a reason")
    if decision.action == "regenerate" and not (decision.instructions or "").strip():
        raise InvalidInput("a regeneration needs instructions (e.g. 'shorter', 'focus on evidence')")
    if decision.edited_content is not None and decision.action != "approve":
        raise InvalidInput("edits are approved with the approve action")


async def decide(db, workflow, draft_id: uuid.UUID, decision: TeacherDecision):
    """Check the teacher may decide on this feedback draft now, then resume its workflow thread
    with the decision. Returns the next draft's review payload after a regeneration, else None."""
    async with db.transaction() as session:
        draft = await draft_for_teacher(session, draft_id, uuid.UUID(decision.teacher_id))
    return await _decide_feedback(workflow, draft, decision)


async def _decide_feedback(workflow, draft: Draft, decision: TeacherDecision):
    check_decision(draft, decision)
    if decision.edited_content is not None:
        proposed = {c["criterion_id"] for c in draft.content["criteria"]}
        edited = {c.criterion_id for c in decision.edited_content.criteria}
        if edited != proposed:
            raise InvalidInput("an edit may change levels and text, not which criteria are assessed")
    return await workflow.decide_on(draft.submission_id, draft.id, decision)


# Flags that only describe how a draft was made; any other flag means the teacher must open it.
INFORMATIONAL_FLAGS = frozenset({"offline_model", "repaired", "rubric_text_in_english", "targets_from_interests"})


def needs_own_review(draft: Draft) -> bool:
    """Whether a draft must be reviewed on its own screen, never approved in bulk."""
    return any(flag.split(":", 1)[0] not in INFORMATIONAL_FLAGS for flag in draft.flags)


async def bulk_approve(db, workflow, teacher_id: uuid.UUID, draft_ids: list[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Approve each draft as drafted, one decision (and audit event) per draft. Returns, per
    draft, None when approved or the reason it was left for individual review."""
    outcome: dict[uuid.UUID, str | None] = {}
    for draft_id in dict.fromkeys(draft_ids):  # a repeated id is decided once
        try:
            async with db.transaction() as session:
                draft = await draft_for_teacher(session, draft_id, teacher_id)
                if needs_own_review(draft):
                    raise InvalidInput("flagged: review it on its own screen")
            await decide_draft(db, workflow, draft_id, teacher_id=teacher_id, action="approve", draft=draft)
            outcome[draft_id] = None
        except (InvalidInput, NotFound) as exc:
            outcome[draft_id] = str(exc)
    return outcome


async def decide_draft(db, workflow, draft_id: uuid.UUID, *, teacher_id: uuid.UUID, action: str,
                       edited_content=None, reason: str | None = None, instructions: str | None = None,
                       proposals: list[int] | None = None, draft: Draft | None = None):
    """A teacher's decision on any draft: feedback goes to the feedback workflow, project ideas
    to the project workflow (``proposals``: which ones to approve, none meaning all). ``draft``:
    the draft as ``draft_for_teacher`` just returned it to the caller, to not check twice."""
    if draft is None or draft.id != draft_id:
        async with db.transaction() as session:  # scope checked once, in a short transaction
            draft = await draft_for_teacher(session, draft_id, teacher_id)
    if draft.kind == "project":
        from beacon.projects import service as projects
        from beacon.projects.schemas import ProjectDecision

        decision = ProjectDecision(action=action, teacher_id=str(teacher_id), proposals=proposals,
                                   edited_content=edited_content, reason=reason, instructions=instructions)
        return await projects.decide_on(workflow.projects, draft, decision)
    if proposals is not None:
        raise InvalidInput("choosing proposals applies to project ideas, not feedback")
    return await _decide_feedback(workflow, draft, TeacherDecision(
        action=action, teacher_id=str(teacher_id), edited_content=edited_content, reason=reason,
        instructions=instructions))
