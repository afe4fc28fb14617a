"""Rosters as data (the demo school is one) and what an admin sends to manage people and classes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from beacon.text import Ident, Line


class StudentSeed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    first_name: Line
    last_name: Line
    email: Line
    grade: int = Field(ge=0, le=13)
    interests: list[Line] = Field(default_factory=list, max_length=20)
    preferred_language: Ident = "en"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"




ROLE = Literal["teacher", "student", "coach", "admin", "guardian"]
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"  # an address's shape; whether it exists is the mail server's to say


class NewPerson(BaseModel):
    """An account an admin creates. Students need a grade (it sets feedback's reading level). A
    guardian's language is their own (the interface and reports a family reads)."""

    full_name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL)
    role: ROLE
    password: str | None = Field(default=None, min_length=8, max_length=200)
    grade: int | None = Field(default=None, ge=0, le=13)
    interests: list[Line] = Field(default_factory=list, max_length=20)
    preferred_language: str = Field(default="en", min_length=2, max_length=16)

    @model_validator(mode="after")
    def _student_has_grade(self) -> NewPerson:
        if self.role == "student" and self.grade is None:
            raise ValueError("a student needs a grade (0-13)")
        return self


class NewClass(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    subject: str | None = Field(default=None, max_length=100)


class Membership(BaseModel):
    role_in_class: Literal["teacher", "student"]


class NewAssignment(BaseModel):
    """An assignment a teacher sets for one of their classes, and the competencies it gives
    evidence of (they narrow rubric retrieval for the work handed in for it)."""

    class_id: Ident
    title: str = Field(min_length=1, max_length=300)
    instructions: str = Field(default="", max_length=5000)
    competency_ids: list[Ident] = Field(min_length=1, max_length=5)
