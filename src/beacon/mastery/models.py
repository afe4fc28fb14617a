"""The mastery record's rows: ratings. A rating is one level on one criterion of one competency
version, for one student, dated by the work it was given on. Ratings are append-only (a trigger
refuses UPDATE and DELETE); a correction is a new rating that supersedes the earlier one."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import func
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from beacon.db.base import Base, created_at, uuid_pk

# draft: an approved release's level; teacher: a demonstration logged by hand; override: the
# teacher completes a criterion's evidence requirement; missed: the task asked for the criterion
# and the work did not address it; baseline: where the student started (growth counts from it).
RATING_SOURCES = ("draft", "teacher", "override", "missed", "baseline")


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint(f"source IN {RATING_SOURCES}", name="known_source"),
        CheckConstraint("level >= 0", name="level_not_negative"),
        # Only an approved draft's release carries a draft's ratings.
        CheckConstraint("source <> 'draft' OR release_id IS NOT NULL", name="draft_ratings_come_from_a_release"),
        Index("ix_ratings_student_competency", "student_id", "competency_id", "criterion_id", "work_date"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    competency_id: Mapped[str] = mapped_column(String(100))
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id", ondelete="RESTRICT"))
    criterion_id: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer)
    work_date: Mapped[date] = mapped_column(Date)  # when the work was done, not when it was rated
    source: Mapped[str] = mapped_column(String(16))
    release_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("releases.id", ondelete="RESTRICT"))
    evidence: Mapped[list] = mapped_column(JSONB, server_default="[]", default=list)  # the quoted spans
    note: Mapped[str | None] = mapped_column(Text)
    artifact_url: Mapped[str | None] = mapped_column(String(2000))
    rated_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ratings.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = created_at()


class SupportDismissal(Base):
    """A teacher dismissed a needs-support flag, with a note. The flag stays hidden while its
    cause (the rating, release or draft behind it) is the same; a new cause brings it back."""

    __tablename__ = "support_dismissals"
    __table_args__ = (Index("ix_support_dismissals_student", "student_id", "competency_id", "kind", "cause"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    competency_id: Mapped[str] = mapped_column(String(100))  # "" for a flag about all the student's work
    kind: Mapped[str] = mapped_column(String(40))
    cause: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text)
    dismissed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = created_at()


class StoredStanding(Base):
    """A student's standing on one competency as last calculated, so a class grid or a school's
    overview reads one row per student and competency, not every rating. A cache with a rule:
    a trigger on ``ratings`` bumps ``generation`` in the inserting transaction, and a row counts
    only while ``computed`` equals it and ``inputs`` equals what the calculation would use now
    (the rubric version, the method, the settings, the day for a power law). Anything else is
    recalculated from the ratings on read. Flags that depend on the moment or on classmates
    (quiet, not revised, dismissed) are applied on read, never stored."""

    __tablename__ = "standings"

    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    competency_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, server_default="1")
    computed: Mapped[int] = mapped_column(Integer, server_default="0")
    inputs: Mapped[str] = mapped_column(String(300), server_default="")
    status: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    last_work: Mapped[date | None] = mapped_column(Date)
    # The latest rating (its date is ``last_work``): what "quiet" and "not revised" look at on read.
    latest_id: Mapped[str | None] = mapped_column(String(36))
    latest_level: Mapped[float | None] = mapped_column(Float)
    latest_release: Mapped[str | None] = mapped_column(String(36))
    # Stuck, drop, flat: whole (``concerns``), and as "kind cause" for a school's overview to count
    # without decoding JSON.
    concerns: Mapped[list] = mapped_column(JSONB, server_default="[]", default=list)
    flags: Mapped[list[str]] = mapped_column(ARRAY(String(200)), server_default="{}", default=list)
    detail: Mapped[dict] = mapped_column(JSONB, server_default="{}", default=dict)  # the rest of the standing


GOAL_MAX_CHARS = 500
REFLECTION_MAX_CHARS = 2000


class Goal(Base):
    """A student's own aim on a competency, in their words ("I can answer a counterargument").
    At most one is open per student and competency (a partial unique index): changing it closes
    the old one (``withdrawn_at``) and opens a new one, so the rows are the goal's history."""

    __tablename__ = "goals"
    __table_args__ = (
        CheckConstraint(f"char_length(text) BETWEEN 1 AND {GOAL_MAX_CHARS}", name="text_length"),
        CheckConstraint("target_level IS NULL OR target_level >= 1", name="target_level_positive"),
        CheckConstraint("achieved_at IS NULL OR withdrawn_at IS NULL", name="closed_once"),
        Index("uq_goals_one_open", "student_id", "competency_id", unique=True,
              postgresql_where=sql_text("achieved_at IS NULL AND withdrawn_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    competency_id: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    target_level: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()
    achieved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Reflection(Base):
    """The student's answer to a release's revision question: one per release, editable until
    the student hands in a revision of that work (then it is what the teacher reads beside the
    new draft, and stays so). Each write is audited with its text, so an edit loses nothing."""

    __tablename__ = "reflections"
    __table_args__ = (
        CheckConstraint(f"char_length(text) BETWEEN 1 AND {REFLECTION_MAX_CHARS}", name="text_length"),
        UniqueConstraint("release_id", name="uq_reflections_release_id"),
        Index("ix_reflections_student_id", "student_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    release_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PortfolioLink(Base):
    """A read-only link a student made to their progress, for anyone they give it to. Only the
    token's SHA-256 is kept (the link is shown once), so a copy of the table opens nothing. A
    revoked link answers 404, as one that never existed."""

    __tablename__ = "portfolio_links"
    __table_args__ = (
        CheckConstraint("char_length(token_hash) = 64", name="token_hash_is_sha256"),
        UniqueConstraint("token_hash", name="uq_portfolio_links_token_hash"),
        Index("ix_portfolio_links_student_id", "student_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class PublishedReport(Base):
    """A student's mastery report for a period as a class's teacher published it: ``data`` is the
    report as computed then (mastery/report.report_json, per reading language), so what a family
    opens later keeps its numbers whatever is rated after. One per student, class and period: a
    republish replaces the data and moves ``published_at``."""

    __tablename__ = "published_reports"
    __table_args__ = (
        CheckConstraint("period_start <= period_end", name="period_runs_forward"),
        UniqueConstraint("student_id", "class_id", "period_start", "period_end", name="uq_published_reports_period"),
        Index("ix_published_reports_student", "student_id", "published_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    data: Mapped[dict] = mapped_column(JSONB)
