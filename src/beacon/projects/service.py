"""Project requests: storing them (with their design job), choosing what a student most needs
to grow, deciding on proposals, and starting an approved project as the student's assignment."""

from __future__ import annotations

import uuid
from statistics import mean

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.approval import repository as drafts
from beacon.db import audit
from beacon.errors import InvalidInput, NotFound
from beacon.jobs import defer_in
from beacon.projects import repository
from beacon.projects.library import PHASES, pattern_library
from beacon.projects.models import ProjectRequest
from beacon.projects.schemas import ProjectAsk, ProjectContent, ProjectDecision, Target
from beacon.projects.tasks import DESIGN_TASK, QUEUE, projects_lock
from beacon.rubrics import repository as rubrics
from beacon.rubrics.schemas import RubricDefinition
from beacon.rubrics.service import match
from beacon.school.models import Assignment, AssignmentCompetency
from beacon.school.repository import classes_of_student

MAX_TARGETS = 3
FOCUS_CRITERIA = 3


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


async def competency_profile(session: AsyncSession, student_id: uuid.UUID) -> dict[str, dict[str, int]]:
    """The latest approved level per criterion, per competency, from released feedback."""
    profile: dict[str, dict[str, int]] = {}
    for release in await repository.releases_of_kind(session, student_id, "feedback"):
        levels = profile.setdefault(release.content.get("rubric_id", "?"), {})
        for criterion in release.content.get("criteria", []):
            levels.setdefault(criterion["criterion_id"], criterion["level"])
    return profile


def _ordered_criteria(competency_id: str, rubric: RubricDefinition) -> list[str]:
    """A competency's criteria in the order a project meets them (plan → share)."""
    use = pattern_library().competencies.get(competency_id)
    ordered = [c for phase in PHASES for c in (use.phases.get(phase, []) if use else [])]
    return list(dict.fromkeys([*ordered, *(c.id for c in rubric.criteria)]))


def _target(competency_id: str, rubric: RubricDefinition, version: int, levels: dict[str, int], reason: str) -> Target:
    below = sorted((lv, c) for c, lv in levels.items() if lv < rubric.mastery_threshold and rubric.criterion(c))
    criteria = [c for _, c in below][:FOCUS_CRITERIA] or _ordered_criteria(competency_id, rubric)[:FOCUS_CRITERIA]
    return Target(competency_id=competency_id, title=rubric.title, rubric_version=version, criteria=criteria,
                  reason=reason)


def profile_targets(profile: dict[str, dict[str, int]], rubrics: dict[str, tuple[RubricDefinition, int]]) -> list[Target]:
    """The weakest competencies of a profile (lowest mean level first), each with its weakest
    criteria and the reason in the student's terms."""
    known = sorted((c for c in profile if c in rubrics and profile[c]), key=lambda c: (mean(profile[c].values()), c))
    targets = []
    for competency_id in known[:MAX_TARGETS]:
        rubric, version = rubrics[competency_id]
        levels = profile[competency_id]
        weakest = min(levels, key=lambda c: (levels[c], c))
        criterion = rubric.criterion(weakest)
        name = criterion.title.lower() if criterion else weakest
        if levels[weakest] >= rubric.mastery_threshold:
            reason = f"you have shown mastery here; this stretches your {name} further."
        else:
            reason = f"your last approved feedback put your {name} at {rubric.level_label(levels[weakest]).lower()}."
        targets.append(_target(competency_id, rubric, version, levels, reason))
    return targets


async def choose_targets(session: AsyncSession, request: ProjectRequest, embedder) -> tuple[list[Target], dict, list[str]]:
    """What the projects should grow: the competencies asked for; else the weakest in the
    student's approved feedback; else those their teachers' assignments target; else those the
    interests themselves match. Returns targets, the rubric versions used, and flags."""
    versions = {v.competency_id: v for v in await rubrics.current_versions(session)}

    def definition(competency_id: str) -> tuple[RubricDefinition, int]:
        version = versions[competency_id]
        return RubricDefinition.model_validate(version.definition), version.version

    profile = await competency_profile(session, request.student_id)
    flags: list[str] = []

    def target(competency_id: str, reason: str) -> Target:
        rubric, version = definition(competency_id)
        return _target(competency_id, rubric, version, profile.get(competency_id, {}), reason)

    if request.competency_ids:
        targets = [target(c, "your teacher or you chose it for this project.") for c in request.competency_ids if c in versions]
    elif any(c in versions for c in profile):
        targets = profile_targets(profile, {c: definition(c) for c in profile if c in versions})
    elif taught := [c for c in await repository.targeted_by_teachers(session, request.student_id) if c in versions]:
        targets = [target(c, "your teacher's assignments target it, and there is no feedback on it yet.")
                   for c in taught[:MAX_TARGETS]]
    else:
        matches = await match(session, " ".join([request.interests, *request.tags]), embedder, limit=2)
        targets = [target(m.id, "it connects to your interests; there is no feedback yet to say what to grow.")
                   for m in matches]
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
