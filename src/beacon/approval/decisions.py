"""Taking a teacher's decision: one transaction, under a lock on the draft's row.

The draft row is the truth about what the teacher reviewed and what became of it; the workflow
thread follows it (``approval/workflow.py`` resumes the thread with the recorded decision, later,
in a job). So:

- exactly one decision wins on a draft: the row is locked (``SELECT ... FOR UPDATE``) and must
  still be ``pending_review``; every other decision gets ``Conflict`` saying what happened;
- a release is built from the draft row as the teacher saw it (plus their edits), never from a
  workflow's state, and a decision may carry the content hash of what the teacher saw: if the row
  differs, the decision is refused and the teacher looks again;
- the decision, its release, the draft's and the work's statuses and the job that continues the
  thread are written together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.approval import repository as drafts
from beacon.approval.models import Decision, Draft, Release
from beacon.school.models import User

_IDS = uuid.UUID("6f1c8f0e-3b0a-4a57-9d2e-0b7f4c6a1e55")  # the workflows' namespace for row ids

# What a decision makes of the draft, and of the work (submission or project request) it is for.
DRAFT_STATUS = {"approve": "approved", "reject": "rejected", "regenerate": "superseded"}
ITEM_STATUS = {"approve": "released", "reject": "returned", "regenerate": "queued"}


def stable_id(*parts: object) -> uuid.UUID:
    """Deterministic row ids: a node or a decision that runs again writes the same rows."""
    return uuid.uuid5(_IDS, ":".join(str(p) for p in parts))


def content_hash(content: dict) -> str:
    """A stable digest of a draft's content as stored (key order and spacing do not matter)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Taken:
    """A decision that was taken: what the teacher is told."""

    decision: Decision
    draft: Draft
    release: Release | None


async def what_happened(session: AsyncSession, draft: Draft) -> str:
    """Why a draft no longer takes a decision, in a sentence a teacher can act on."""
    decision = await recorded(session, draft.id)
    if decision is None:
        return f"this draft is {draft.status.replace('_', ' ')}, not waiting for review"
    name = (await session.get(User, decision.teacher_id)).full_name
    done = {"approve": "approved", "reject": "rejected", "regenerate": "sent back for regeneration"}[decision.action]
    return f"already {done} by {name} at {decision.created_at:%Y-%m-%d %H:%M} UTC"


async def record(session: AsyncSession, draft: Draft, *, teacher_id: uuid.UUID, action: str,
                 released: dict | None = None, edited: dict | None = None, reason: str | None = None,
                 instructions: str | None = None, rubric_id: str | None = None, bulk: bool = False) -> Taken:
    """Write a decision on a locked, pending draft: the decision row, the release (``released``:
    the content the student will read, built from the draft row), and the draft's status. The
    work's status and the continuing job are the caller's (they differ per kind)."""
    decision = Decision(id=stable_id(draft.id, "decision", action), draft_id=draft.id, teacher_id=teacher_id,
                        action=action, edited_content=edited, reason=reason, instructions=instructions,
                        rubric_id=rubric_id, bulk=bulk)
    session.add(decision)
    await session.flush()
    release = None
    if action == "approve":
        release = Release(id=stable_id(draft.id, "release"), draft_id=draft.id, decision_id=decision.id,
                          teacher_id=teacher_id, student_id=draft.student_id, content=released)
        session.add(release)
    draft.status = DRAFT_STATUS[action]
    await session.flush()
    return Taken(decision, draft, release)


async def recorded(session: AsyncSession, draft_id: uuid.UUID) -> Decision | None:
    """The decision that ended a draft's review, if any (a draft takes one)."""
    return await session.scalar(
        select(Decision).where(Decision.draft_id == draft_id).order_by(Decision.created_at.desc()).limit(1)
    )


async def taken_by(session: AsyncSession, draft_id: uuid.UUID, teacher_id: uuid.UUID, action: str) -> Taken | None:
    """The decision on this draft, if it is this teacher's with this action (a retried request
    whose first attempt committed), as ``record`` returned it."""
    decision = await recorded(session, draft_id)
    if decision is None or decision.teacher_id != teacher_id or decision.action != action:
        return None
    draft = await session.get(Draft, draft_id)
    return Taken(decision, draft, await drafts.release_of(session, draft_id))
