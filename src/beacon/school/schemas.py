"""Rosters as data (the demo school is one)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StudentSeed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    first_name: str
    last_name: str
    email: str
    grade: int = Field(ge=0, le=13)
    interests: list[str] = Field(default_factory=list)
    preferred_language: str = "en"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


