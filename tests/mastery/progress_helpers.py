"""Evidence for "My progress" tests, through the real paths: released feedback (a draft the
offline model wrote, approved by the teacher with the levels the test names) and demonstrations
a teacher logs."""

from __future__ import annotations

import contextlib
import uuid
from datetime import date

from beacon.approval.models import Draft
from beacon.feedback.offline import OfflineDrafter
from beacon.feedback.schemas import DraftContent, TeacherDecision
from beacon.feedback.service import submit
from beacon.feedback.verify import verify
from beacon.mastery import service as mastery
from beacon.mastery.schemas import NewRatings
from beacon.review import service as review
from beacon.rubrics import repository as rubrics
from beacon.rubrics.schemas import RubricDefinition
from beacon.school.models import User
from tests.classroom import ESSAY
from tests.fixtures.rubrics import CONTINUUM, rubric


async def release(runtime, teacher_id: uuid.UUID, student_id: uuid.UUID, *, competency: str = "argument-writing",
                  title: str = "Wind turbines", levels: dict[str, int] | None = None, body: str = ESSAY,
                  assignment_id: uuid.UUID | None = None) -> uuid.UUID:
    """Feedback on a piece of work, approved (with ``levels`` where given): its release's id."""
    async with runtime.db.transaction() as session:
        version = await rubrics.current_version(session, competency)
        rubric = RubricDefinition.model_validate(version.definition)
        drafter = OfflineDrafter()
        assessment = drafter.assess(body, rubric, 8)
        content = verify(work=body, rubric=rubric, rubric_version=version.version, assessment=assessment,
                         feedback=drafter.write(rubric, assessment, grade=8, work=body), language="en",
                         injections=[]).content
        work = await submit(session, student_id=student_id, title=title, body=body, assignment_id=assignment_id)
        draft = Draft(kind="feedback", student_id=student_id, submission_id=work.id, rubric_version_id=version.id,
                      content=content.model_dump(mode="json"), flags=["offline_model"], model="offline",
                      prompt_hash="0" * 64)
        session.add(draft)
    edited = None
    if levels:
        data = content.model_dump(mode="json")
        for c in data["criteria"]:
            c["level"] = levels.get(c["criterion_id"], c["level"])
        edited = DraftContent.model_validate(data)
    done = await review.decide(runtime.db, draft.id, TeacherDecision(
        action="approve", teacher_id=str(teacher_id), edited_content=edited))
    return done.release.id


async def log(runtime, teacher_id: uuid.UUID, student_id: uuid.UUID, competency: str, levels: dict[str, int | None],
              on: date, *, source: str = "teacher", note: str | None = None, artifact_url: str | None = None) -> None:
    async with runtime.db.transaction() as session:
        teacher = await session.get(User, teacher_id)
        await mastery.log_ratings(session, teacher, NewRatings(
            student_ids=[student_id], competency_id=competency, work_date=on, source=source, note=note or "",
            artifact_url=artifact_url, ratings=[{"criterion_id": c, "level": lv} for c, lv in levels.items()]))


@contextlib.asynccontextmanager
async def continuum_current(runtime):
    """The 12-level fixture rubric as a current competency while inside (log_ratings and the
    record read current versions only), retired after so no other test's library sees it."""
    from tests.web.test_review_scales import _store

    definition = rubric(CONTINUUM)
    version_id = await _store(runtime, definition)
    async with runtime.db.transaction() as session:
        await rubrics.make_current(session, CONTINUUM, version_id)
    try:
        yield definition
    finally:
        async with runtime.db.transaction() as session:
            await rubrics.make_current(session, CONTINUUM, None)
