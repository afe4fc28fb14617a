"""What the API sends and takes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class NotificationView(BaseModel):
    id: str
    kind: str
    subject: str
    link: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, row) -> NotificationView:
        return cls(id=str(row.id), kind=row.kind, subject=row.subject, link=row.link, created_at=row.created_at,
                   read_at=row.read_at)


class EmailPreferences(BaseModel):
    """Email on or off per kind; a kind left out keeps its setting."""

    model_config = ConfigDict(extra="forbid")

    feedback_released: bool | None = None
    ideas_approved: bool | None = None
    report_published: bool | None = None

    def chosen(self) -> dict[str, bool]:
        return {kind: on for kind, on in self.model_dump().items() if on is not None}


class Preferences(BaseModel):
    email: EmailPreferences
