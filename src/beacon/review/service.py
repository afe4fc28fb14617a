"""Teacher decisions on drafts. Scope is checked here (and again by the schema): a teacher may
decide only on drafts of students they teach; anything else is "not found". How a decision is
taken (one winner, the release from the reviewed row) is in ``decisions.py``."""

from __future__ import annotations

import uuid

import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.approval import decisions
from beacon.approval import repository as drafts
from beacon.approval.models import Draft
from beacon.db import audit
from beacon.errors import Conflict, InvalidInput, NotFound
from beacon.feedback import competencies as per_competency
from beacon.feedback import tasks as feedback
from beacon.feedback.models import Submission
from beacon.feedback.schemas import DraftContent, TeacherDecision
from beacon.jobs import defer_in
from beacon.mastery import service as mastery
from beacon.notifications import service as notifications
from beacon.projects import repository as project_requests
from beacon.projects import service as project_ideas
from beacon.projects import tasks as projects
from beacon.projects.schemas import ProjectDecision
from beacon.review import repository
from beacon.rubrics import repository as rubric_versions
from beacon.rubrics.schemas import RubricDefinition
from beacon.school import repository as school


async def draft_for_teacher(session: AsyncSession, draft_id: uuid.UUID, teacher_id: uuid.UUID) -> Draft:
    draft = await repository.draft_taught_by(session, draft_id, teacher_id)  # one query: scope included
    if draft is None:
        raise NotFound(f"no draft {draft_id}")
    return draft


def check_decision(decision) -> None:
    """What every decision needs, whatever was drafted: a reason to reject, instructions to
    regenerate, and edits only with an approval. (Whether the draft still waits is checked under
    its row lock, in ``lock_pending``.)"""
    if decision.action == "reject" and not (decision.reason or "").strip():
        raise InvalidInput("a rejection needs a reason")
    if decision.action == "regenerate" and not (decision.instructions or "").strip():
        raise InvalidInput("a regeneration needs instructions (e.g. 'shorter', 'focus on evidence')")
    if decision.edited_content is not None and decision.action != "approve":
        raise InvalidInput("edits are approved with the approve action")


async def lock_pending(session: AsyncSession, draft_id: uuid.UUID, teacher_id: uuid.UUID,
                       seen_hash: str | None = None) -> Draft:
    """The draft, locked for this transaction, if this teacher may decide it and it still waits
    for review as they saw it. NotFound outside scope; Conflict if someone decided first."""
    draft = await repository.draft_taught_by(session, draft_id, teacher_id, for_update=True)
    if draft is None:
        raise NotFound(f"no draft {draft_id}")
    if draft.status != "pending_review":
        raise Conflict(await decisions.what_happened(session, draft))
    if seen_hash and seen_hash != decisions.content_hash(draft.content):
        raise Conflict("this draft changed since you opened it: review it again before deciding")
    return draft


async def decide(db, draft_id: uuid.UUID, decision: TeacherDecision, *, seen_hash: str | None = None) -> decisions.Taken:
    """A teacher's decision on a feedback draft (see ``decide_draft``)."""
    return await decide_draft(db, draft_id, teacher_id=uuid.UUID(decision.teacher_id), action=decision.action,
                              edited_content=decision.edited_content, reason=decision.reason,
                              instructions=decision.instructions, rubric_id=decision.rubric_id, seen_hash=seen_hash)


def _feedback_release(draft: Draft, decision: TeacherDecision) -> tuple[dict | None, dict | None]:
    """(what the student will read, the edit if any), from the draft row the teacher reviewed."""
    if decision.action != "approve":
        return None, None
    if decision.edited_content is None:
        return DraftContent.model_validate(draft.content).model_dump(), None
    proposed = {c["criterion_id"] for c in draft.content["criteria"]}
    if {c.criterion_id for c in decision.edited_content.criteria} != proposed:
        raise InvalidInput("an edit may change levels and text, not which criteria are assessed")
    edited = decision.edited_content.model_dump()
    return edited, edited


async def _on_the_rubrics_scale(session: AsyncSession, draft: Draft, edited: DraftContent | None) -> None:
    """A teacher's levels are levels of the draft's own rubric (1 to 12 fits some rubric, not
    every one), each with that rubric's label: the page sends only the number."""
    if edited is None or draft.rubric_version_id is None:
        return
    version = await rubric_versions.version_by_id(session, draft.rubric_version_id)
    rubric = RubricDefinition.model_validate(version.definition)
    for criterion in edited.criteria:
        if not rubric.on_scale(criterion.level):
            raise InvalidInput(f"{criterion.title}: level {criterion.level} is not on this rubric; "
                               f"its levels are 1 to {rubric.top_level}")
        criterion.level_label = rubric.level_label(criterion.level)


# Flags that only describe how a draft was made; any other flag means the teacher must open it.
INFORMATIONAL_FLAGS = frozenset({"offline_model", "repaired", "rubric_text_in_english", "targets_from_interests",
                                 "needs_teacher_judgement", "not_shown"})


def needs_own_review(draft: Draft) -> bool:
    """Whether a draft must be reviewed on its own screen, never approved in bulk."""
    return any(flag.split(":", 1)[0] not in INFORMATIONAL_FLAGS for flag in draft.flags)


async def bulk_approve(db, teacher_id: uuid.UUID, draft_ids: list[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Approve each draft as drafted, one decision (and audit event) per draft, each in its own
    transaction. Returns, per draft, None when this call approved it or the reason it did not
    (flagged, decided by someone else first, out of scope)."""
    outcome: dict[uuid.UUID, str | None] = {}
    for draft_id in dict.fromkeys(draft_ids):  # a repeated id is decided once
        try:
            await decide_draft(db, draft_id, teacher_id=teacher_id, action="approve", bulk=True)
            outcome[draft_id] = None
        except (InvalidInput, NotFound, Conflict) as exc:
            outcome[draft_id] = str(exc)
    return outcome


async def decide_draft(db, draft_id: uuid.UUID, *, teacher_id: uuid.UUID, action: str, edited_content=None,
                       reason: str | None = None, instructions: str | None = None, rubric_id: str | None = None,
                       proposals: list[int] | None = None, seen_hash: str | None = None,
                       bulk: bool = False) -> decisions.Taken:
    """A teacher's decision on any draft, taken in one transaction under the draft's row lock:
    the decision, the release built from the draft row (``seen_hash``: the content hash of what
    the teacher saw, refused with Conflict if the row differs), the statuses, and the job that
    moves the workflow thread on (a regeneration drafts there, never in this request).
    ``proposals`` picks project ideas to approve (none: all). ``bulk``: refuse flagged drafts."""
    if action not in decisions.DRAFT_STATUS:
        raise InvalidInput("the action is approve, reject or regenerate")
    if rubric_id and action != "regenerate":
        raise InvalidInput("a rubric is chosen with the regenerate action")
    if rubric_id and not (instructions or "").strip():
        instructions = "Draft again against the rubric the teacher chose."
    fields = dict(teacher_id=teacher_id, action=action, edited_content=edited_content, reason=reason,
                  instructions=instructions, rubric_id=rubric_id, proposals=proposals, seen_hash=seen_hash, bulk=bulk)
    try:
        return await _take(db, draft_id, **fields)
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError):
        pass  # a connection that died under us (a database restart): once more, on a fresh one
    try:
        return await _take(db, draft_id, **fields)
    except Conflict:
        # The first try may have committed before its connection died: that is this decision.
        async with db.transaction() as session:
            if (mine := await decisions.taken_by(session, draft_id, teacher_id, action)) is not None:
                return mine
        raise


async def _work(session: AsyncSession, kind: str, item_id: uuid.UUID):
    """The work a draft is for (a submission for "feedback", a project request for "project")."""
    if kind == "feedback":
        return await session.get(Submission, item_id)
    if kind == "project":
        return await project_requests.get_request(session, item_id)
    return None


async def _continue(session: AsyncSession, kind: str, item, competency_id: str | None = None) -> None:
    """Queue the job that moves the work's workflow thread on (one waiting per thread;
    ``competency_id``: that competency's thread, for work drafted per competency)."""
    if kind == "feedback":
        await defer_in(session, feedback.DRAFT_TASK, feedback.feedback_lock(item.id, competency_id),
                       queue=feedback.QUEUE, submission_id=str(item.id),
                       **({"competency_id": competency_id} if competency_id else {}))
    else:
        await defer_in(session, projects.DESIGN_TASK, projects.projects_lock(item.id), queue=projects.QUEUE,
                       request_id=str(item.id))


async def _take(db, draft_id: uuid.UUID, *, teacher_id: uuid.UUID, action: str, edited_content, reason, instructions,
                rubric_id, proposals, seen_hash, bulk) -> decisions.Taken:
    async with db.transaction() as session:
        draft = await lock_pending(session, draft_id, teacher_id, seen_hash)
        if bulk and needs_own_review(draft):
            raise InvalidInput("flagged: review it on its own screen")
        if draft.kind == "project":
            if rubric_id:
                raise InvalidInput("a rubric is chosen for feedback, not for project ideas")
            decision = ProjectDecision(action=action, teacher_id=str(teacher_id), proposals=proposals,
                                       edited_content=edited_content, reason=reason, instructions=instructions)
            check_decision(decision)
            released, edited = project_ideas.released_content(draft, decision)
        else:
            if proposals is not None:
                raise InvalidInput("choosing proposals applies to project ideas, not feedback")
            if rubric_id and await rubric_versions.current_version(session, rubric_id) is None:
                raise InvalidInput(f"no competency {rubric_id!r} in the library")
            decision = TeacherDecision(action=action, teacher_id=str(teacher_id), edited_content=edited_content,
                                       reason=reason, instructions=instructions, rubric_id=rubric_id)
            check_decision(decision)
            await _on_the_rubrics_scale(session, draft, decision.edited_content)
            released, edited = _feedback_release(draft, decision)
        item = await _work(session, draft.kind, draft.submission_id or draft.project_request_id)
        taken = await decisions.record(session, draft, teacher_id=teacher_id, action=action, released=released,
                                       edited=edited, reason=reason, instructions=instructions, rubric_id=rubric_id,
                                       bulk=bulk)
        # Work drafted per competency is decided competency by competency: its status comes from
        # all its drafts (in review while any waits), and only this draft's thread moves on.
        competency = await per_competency.competency_of(session, draft) if draft.kind == "feedback" else None
        if competency is None:
            item.status = decisions.ITEM_STATUS[action]
        else:
            await per_competency.settle(session, item.id)
        if draft.kind == "feedback" and taken.release is not None:
            # Approved evidence enters the record in the release's own transaction: both or neither.
            await mastery.record_release(session, release_id=taken.release.id, student_id=draft.student_id,
                                         teacher_id=teacher_id, rubric_version_id=draft.rubric_version_id,
                                         content=released, work_date=item.created_at.date())
        # The thread follows the decision in a job: approvals and rejections end it (and keep the
        # teacher's voice), a regeneration drafts again. Queued here, so it is never lost.
        await _continue(session, draft.kind, item, competency)
        if taken.release is not None:
            # The student and their family hear of it: in-app now, email in a job, both or neither.
            await notifications.notify_release(session, release_id=taken.release.id, student_id=draft.student_id,
                                               kind=draft.kind, title=item.title if draft.kind == "feedback" else None)
    return taken


async def try_again(session: AsyncSession, user, kind: str, item_id: uuid.UUID):
    """Queue failed work again: a submission ("feedback") or a project request ("project").
    Allowed to a teacher of the student or an admin of their school; anyone else: not found."""
    item = await _work(session, kind, item_id)
    if item is None:
        raise NotFound(f"no work {item_id}")
    student = await school.get_user(session, item.student_id)
    allowed = (user.role == "teacher" and await repository.teaches_work(session, user.id, item)) or (
        user.role == "admin" and student is not None and student.school_id == user.school_id)
    if not allowed:
        raise NotFound(f"no work {item_id}")
    if item.status != "failed":
        raise Conflict(f"this work is {item.status.replace('_', ' ')}: only work that failed is tried again")
    await _queue_again(session, kind, item)
    await audit.add_audit(session, actor_id=user.id, action="work.retried",
                               subject_type="submission" if kind == "feedback" else "project_request",
                               subject_id=str(item_id), data={})
    return item


async def _queue_again(session: AsyncSession, kind: str, item) -> None:
    """Failed work's jobs again: for work drafted per competency, each competency that has no
    draft waiting or decided (the others keep theirs)."""
    per = await per_competency.drafts_per_competency(session, item) if kind == "feedback" else {}
    if not per:
        await _continue(session, kind, item)
        item.status = "queued"
        return
    for competency in per_competency.undecided(per):
        await _continue(session, kind, item, competency)
    await per_competency.settle(session, item.id, current="queued")


async def what_changed(session: AsyncSession, draft: Draft) -> dict | None:
    """For a regenerated feedback draft: what the teacher asked and what the new draft does
    differently from the one it replaces (levels per criterion, the rubric, the feedback)."""
    if draft.kind != "feedback" or draft.regenerated_from_id is None:
        return None
    earlier = await drafts.get_draft(session, draft.regenerated_from_id)
    if earlier is None:
        return None
    asked = await drafts.regenerate_decision(session, earlier.id)
    return {"instructions": asked.instructions if asked else None,
            **compare_drafts(DraftContent.model_validate(earlier.content), DraftContent.model_validate(draft.content))}


def compare_drafts(before: DraftContent, after: DraftContent) -> dict:
    """Level changes per criterion (by title), and whether the rubric or the feedback changed."""
    old = {c.criterion_id: c for c in before.criteria}
    levels = [{"title": c.title, "before": old[c.criterion_id].level, "after": c.level,
               "before_label": old[c.criterion_id].level_label, "after_label": c.level_label}
              for c in after.criteria if c.criterion_id in old and old[c.criterion_id].level != c.level]
    same_rubric = before.rubric_id == after.rubric_id
    return {
        "rubric_changed": not same_rubric, "levels": levels if same_rubric else [],
        "unchanged": sum(1 for c in after.criteria if c.criterion_id in old and old[c.criterion_id].level == c.level),
        "feedback_changed": before.feedback.strip() != after.feedback.strip(),
        "language_changed": before.language != after.language, "language": after.language,
    }
