"""Work handed in for an assignment (or a started project) with several competencies is drafted
against each of them: one thread per competency ("feedback:<submission id>:<competency id>"),
each with its own drafts, decisions and release. Work for one competency, or none, keeps its one
thread ("feedback:<submission id>") and everything stays as it was.

A thread's drafts have deterministic ids (``stable_id(key, "draft", attempt)``), so which
competency a draft is for, and where each competency stands, is read from the draft rows: the
rows are the truth, here as everywhere."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.approval.decisions import ITEM_STATUS, stable_id
from beacon.approval.models import Draft
from beacon.feedback.models import Submission
from beacon.feedback.tasks import work_key
from beacon.school import repository as school

DECIDED = {"approved": ITEM_STATUS["approve"], "rejected": ITEM_STATUS["reject"]}


async def competencies_to_draft(session: AsyncSession, submission: Submission) -> list[str]:
    """The competencies this work is drafted against one by one: its assignment's, when there are
    several (in a stable order); none otherwise (one thread, as before)."""
    if submission.assignment_id is None:
        return []
    found = sorted(await school.assignment_competencies(session, submission.assignment_id))
    return found if len(found) > 1 else []


def draft_id(submission_id: str | uuid.UUID, competency_id: str | None, attempt: int) -> uuid.UUID:
    """A thread's draft of this attempt (0 first, +1 per regeneration)."""
    return stable_id(work_key(submission_id, competency_id), "draft", attempt)


async def drafts_per_competency(session: AsyncSession, submission: Submission) -> dict[str, list[Draft]]:
    """Each competency's drafts, first to latest (an empty list: not drafted yet); {} for work
    drafted in one thread."""
    competencies = await competencies_to_draft(session, submission)
    if not competencies:
        return {}
    # Fresh rows: another transaction may have just decided a sibling draft (see ``settle``).
    rows = await session.scalars(select(Draft).where(Draft.submission_id == submission.id)
                                 .execution_options(populate_existing=True))
    by_id = {d.id: d for d in rows.all()}
    found: dict[str, list[Draft]] = {}
    for competency in competencies:
        attempts: list[Draft] = []
        while (row := by_id.get(draft_id(submission.id, competency, len(attempts)))) is not None:
            attempts.append(row)
        found[competency] = attempts
    return found


async def competency_of(session: AsyncSession, draft: Draft) -> str | None:
    """The competency whose thread made this feedback draft (a redraft against another rubric the
    teacher picked included: it stays in that thread); None for work drafted in one thread."""
    if draft.submission_id is None:
        return None
    submission = await session.get(Submission, draft.submission_id)
    for competency, attempts in (await drafts_per_competency(session, submission)).items():
        if any(a.id == draft.id for a in attempts):
            return competency
    return None


def undecided(per_competency: dict[str, list[Draft]]) -> list[str]:
    """Competencies with no draft waiting or decided: being drafted (or regenerated), or failed."""
    return [c for c, attempts in per_competency.items()
            if not attempts or attempts[-1].status == "superseded"]


def work_status(current: str, per_competency: dict[str, list[Draft]]) -> str:
    """Where work drafted per competency stands: released or returned once every competency is
    decided (released if any was approved); failed while a failed competency is not tried again;
    in review while any draft waits; else still being drafted."""
    latest = [attempts[-1].status if attempts else None for attempts in per_competency.values()]
    if latest and all(s in DECIDED for s in latest):
        return DECIDED["approved"] if "approved" in latest else DECIDED["rejected"]
    if current == "failed" and undecided(per_competency):
        return "failed"  # someone must try again: the failed-work list shows it
    if "pending_review" in latest:
        return "pending_review"
    return current if current in ("queued", "drafting") else "queued"


async def locked(session: AsyncSession, submission_id: uuid.UUID) -> Submission | None:
    """The submission row, locked to the end of the transaction: decisions on sibling drafts and
    their threads' saves take turns to set its status, so the last one sees all the others."""
    return await session.scalar(select(Submission).where(Submission.id == submission_id)
                                .with_for_update().execution_options(populate_existing=True))


async def settle(session: AsyncSession, submission_id: uuid.UUID, *, current: str | None = None) -> Submission:
    """Set the status of work drafted per competency from its draft rows (``current``: take this
    as the status before, e.g. "queued" when it is tried again)."""
    submission = await locked(session, submission_id)
    submission.status = work_status(current or submission.status, await drafts_per_competency(session, submission))
    return submission
