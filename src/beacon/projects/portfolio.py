"""The started projects in a student's portfolio (issue 15): what the mastery domain's
portfolio (``mastery/portfolio_view.py``) cannot read itself, the projects domain being above
it. A started project is the student's own assignment; what it produced is the work handed in
for it whose feedback a teacher released."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.mastery.portfolio_view import Filters, Portfolio, Produced, StartedProject, portfolio_of
from beacon.projects import repository
from beacon.school.models import User


def _driving_question(instructions: str) -> str:
    """Starting a project writes its driving question first, then the milestones (service.start_project)."""
    return instructions.split("\n\n", 1)[0].strip()


async def started_projects(session: AsyncSession, student_id) -> list[StartedProject]:
    started = await repository.started_by(session, student_id)
    produced: dict = {}
    seen = set()
    for assignment_id, submission_id, title, release_id, released_at in await repository.released_work_for(
            session, student_id, [a.id for a, _ in started]):
        if submission_id in seen:
            continue  # work drafted on several competencies has a release each: it is one piece of work
        seen.add(submission_id)
        produced.setdefault(assignment_id, []).append(Produced(title, released_at.date(), str(release_id)))
    return [StartedProject(str(a.id), a.title, _driving_question(a.instructions), a.created_at.date(), tuple(competencies),
                           tuple(produced.get(a.id, ()))) for a, competencies in started]


async def portfolio(session: AsyncSession, student: User, settings, filters: Filters, *,
                    language: str | None = None) -> Portfolio:
    """The student's whole portfolio: their record's evidence and their started projects."""
    return await portfolio_of(session, student, settings, filters, await started_projects(session, student.id),
                              language=language)
