"""Committed fixtures (a class with a teacher and students, a submission) for the workflow: its nodes run their own transactions, so the
rows they read must really exist (each test makes its own school, so tests stay independent)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from beacon.feedback.service import submit
from beacon.school import service as school
from beacon.school.schemas import StudentSeed

ESSAY = (
    "Our town should build wind turbines on the ridge. I worked on this with Priya Natarajan "
    "(priya.n@student.example.org), who found the numbers. First, wind power is clean: a turbine "
    "makes electricity without burning anything, so the air stays cleaner for everyone. Second, "
    "it saves money, because the town would pay less for power over twenty years. Some people say "
    "the turbines are noisy and hurt birds. However, newer designs are quieter, and the council "
    "could place them away from the lake where most birds nest. For these reasons, the town "
    "should vote yes next spring."
)


@dataclass
class Classroom:
    teacher_id: uuid.UUID
    student_id: uuid.UUID
    classmate_id: uuid.UUID
    other_teacher_id: uuid.UUID


@pytest.fixture
async def classroom(runtime) -> Classroom:
    tag = uuid.uuid4().hex[:8]
    async with runtime.db.transaction() as session:
        sch = await school.ensure_school(session, f"wf-{tag}", "Workflow School")
        teacher = await school.ensure_user(session, sch, f"teacher-{tag}@example.org", "Rosa Alvarez", "teacher")
        other = await school.ensure_user(session, sch, f"other-{tag}@example.org", "Oscar Other", "teacher")
        klass = await school.ensure_class(session, sch, f"Class {tag}")
        await school.enroll(session, klass, teacher, "teacher")
        student = await school.ensure_student(session, sch, klass, StudentSeed(
            first_name="Maya", last_name="Okafor", email=f"maya-{tag}@example.org", grade=8))
        classmate = await school.ensure_student(session, sch, klass, StudentSeed(
            first_name="Priya", last_name="Natarajan", email=f"priya-{tag}@example.org", grade=8))
    return Classroom(teacher.id, student.id, classmate.id, other.id)


@pytest.fixture
async def submission_id(runtime, classroom) -> uuid.UUID:
    async with runtime.db.transaction() as session:
        row = await submit(session, student_id=classroom.student_id, title="Wind turbines", body=ESSAY)
    return row.id
