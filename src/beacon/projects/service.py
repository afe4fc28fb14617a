"""Project requests: storing them (with their design job), choosing what a student most needs
to grow (from their mastery record: ``targets.py``), deciding on proposals, and starting an
approved project as the student's assignment."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.approval import repository as drafts
from beacon.db import audit
from beacon.errors import InvalidInput, NotFound
from beacon.jobs import defer_in
from beacon.mastery import repository as ratings
from beacon.mastery import service as mastery
from beacon.projects import repository
from beacon.projects.models import ProjectRequest
from beacon.projects.schemas import ProjectAsk, ProjectContent, ProjectDecision, Target
from beacon.projects.targets import (
    MAX_TARGETS,
    Footing,
    competency_target,
    record_targets,
)
from beacon.projects.tasks import DESIGN_TASK, QUEUE, projects_lock
from beacon.rubrics import repository as rubrics
from beacon.rubrics.schemas import RubricDefinition
from beacon.rubrics.service import match
from beacon.school import repository as school
from beacon.school.models import Assignment, AssignmentCompetency
from beacon.school.repository import classes_of_student


async def request_projects(session: AsyncSession, student_id: uuid.UUID, ask: ProjectAsk) -> ProjectRequest:
    """Store the request and queue its design job in the same transaction: both or neither."""
    if ask.competency_ids:
        known = await rubrics.competencies_exist(session, ask.competency_ids)
        unknown = [c for c in ask.competency_ids if c not in known]
        if unknown:
            raise NotFound(f"no competency {', '.join(map(repr, unknown))} (see `beacon rubrics list`)")

    request = ProjectRequest(student_id=student_id, interests=ask.interests, tags=ask.tags, weeks=ask.weeks,
                             working=ask.working, materials=ask.materials, competency_ids=ask.competency_ids,
                             class_ids=await classes_of_student(session, student_id))
    await repository.add(session, request)
    await defer_in(session, DESIGN_TASK, projects_lock(request.id), queue=QUEUE, request_id=str(request.id))
    return request


async def _footings(session: AsyncSession, student_id: uuid.UUID, settings, versions: dict,
                    today: date) -> dict[str, Footing]:
    """The student's mastery record by their school's method, with the ratings behind each
    criterion (to work out what one more piece of evidence would do)."""
    student = await school.get_user(session, student_id)
    choice = await mastery.school_choice(session, student) if student else {}
    record = await mastery.records_of(session, [student_id], settings, school_choice=choice, today=today)
    points = mastery.points_by_competency(await ratings.current_ratings(session, student_id), settings)
    return {cid: Footing(standing.status, mastery.method_for(settings, versions[cid].definition, choice),
                         dict(points.get(cid, {})))
            for cid, standing in record[student_id].competencies.items() if cid in versions}


async def choose_targets(session: AsyncSession, request: ProjectRequest, embedder,
                         settings) -> tuple[list[Target], dict, list[str]]:
    """What the projects should grow: the competencies asked for; else those not yet met on the
    student's mastery record; else those their teachers' assignments target; else those the
    interests match. A competency already met is aimed at only when asked for (or when the
    interests match nothing else). Returns targets, the rubric versions used, and flags."""
    versions = {v.competency_id: v for v in await rubrics.current_versions(session)}
    today = datetime.now(UTC).date()
    footings = await _footings(session, request.student_id, settings, versions, today)
    met = {c for c, f in footings.items() if f.status.status == "met"}

    def definition(competency_id: str) -> tuple[RubricDefinition, int]:
        version = versions[competency_id]
        return RubricDefinition.model_validate(version.definition), version.version

    def target(competency_id: str, reason: str) -> Target:
        return competency_target(competency_id, *definition(competency_id), footings.get(competency_id), today, reason)

    flags: list[str] = []
    if request.competency_ids:
        targets = [target(c, "your teacher or you chose it for this project") for c in request.competency_ids if c in versions]
    elif unmet := [c for c in footings if c not in met]:
        targets = record_targets(footings, {c: definition(c) for c in unmet}, today)
    elif taught := [c for c in await repository.targeted_by_teachers(session, request.student_id)
                    if c in versions and c not in met]:
        targets = [target(c, "your teacher's assignments target it, and your record has no evidence of it yet")
                   for c in taught[:MAX_TARGETS]]
    else:
        matches = await match(session, " ".join([request.interests, *request.tags]), embedder, limit=2 + len(met))
        chosen = [m.id for m in matches if m.id not in met][:2] or [m.id for m in matches[:2]]
        why = ("it connects to your interests, and all your record shows so far is met" if met
               else "it connects to your interests; your record has no evidence yet to say what to grow")
        targets = [target(c, why) for c in chosen]
        flags.append("targets_from_interests")
    return targets, {t.competency_id: versions[t.competency_id] for t in targets}, flags


def approved_content(content: ProjectContent, decision: ProjectDecision) -> ProjectContent:
    """What an approval releases: the edited content if any, else the chosen proposals."""
    base = decision.edited_content or content
    if decision.proposals is None:
        return base
    chosen = sorted(set(decision.proposals))
    if not chosen or any(i < 0 or i >= len(base.proposals) for i in chosen):
        raise InvalidInput(f"choose proposals by number, from 1 to {len(base.proposals)}")
    return base.model_copy(update={"proposals": [base.proposals[i] for i in chosen]})


def released_content(draft, decision: ProjectDecision) -> tuple[dict | None, dict | None]:
    """(what the student will read, the edit if any) for a decision on a project draft, built
    from the draft row the teacher reviewed."""
    if draft.kind != "project":
        raise InvalidInput(f"draft {draft.id} is feedback, not project ideas")
    if decision.action != "approve":
        if decision.proposals is not None:
            raise InvalidInput("choosing proposals goes with the approve action")
        return None, None
    content = ProjectContent.model_validate(draft.content)
    approved = approved_content(content, decision)
    return approved.model_dump(), (approved.model_dump() if approved != content else None)


async def start_project(session: AsyncSession, student_id: uuid.UUID, release_id: uuid.UUID, index: int) -> Assignment:
    """An approved proposal becomes the student's own assignment, linked to its competencies, so
    what they hand in for it is drafted against those rubrics."""
    release = await drafts.release_for_student(session, release_id, student_id)
    if release is None or release.content.get("kind") != "project":
        raise NotFound(f"no project ideas {release_id}")
    content = ProjectContent.model_validate(release.content)
    if not 0 <= index < len(content.proposals):
        raise InvalidInput(f"choose a project from 1 to {len(content.proposals)}")
    proposal = content.proposals[index]
    for existing in await repository.started_from(session, release.id):
        if existing.title == proposal.title:
            return existing  # started already: starting twice changes nothing
    class_id = await repository.shared_class(session, student_id, release.teacher_id)
    if class_id is None:
        raise InvalidInput("you are no longer in a class with the teacher who approved this project")
    milestones = "\n".join(f"{n}. {m.title}: {m.evidence}" for n, m in enumerate(proposal.milestones, start=1))
    assignment = Assignment(
        class_id=class_id, student_id=student_id, source_release_id=release.id, created_by=release.teacher_id,
        title=proposal.title[:300],
        instructions=f"{proposal.driving_question}\n\nMilestones:\n{milestones}\n\nFinal product: {proposal.final_product}",
    )
    await repository.add(session, assignment)
    for target in proposal.competencies:
        session.add(AssignmentCompetency(assignment_id=assignment.id, competency_id=target.competency_id))
    await session.flush()
    await audit.add_audit(session, actor_id=student_id, action="project.started", subject_type="assignment",
                            subject_id=str(assignment.id), data={"release_id": str(release.id), "proposal": index})
    return assignment
