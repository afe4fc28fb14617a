"""The rubric library as stored: competencies, their immutable versions, criteria, levels,
and the passages (with per-model embeddings) that retrieval searches."""

from __future__ import annotations

from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from beacon.db.base import Base, created_at


class Competency(Base):
    __tablename__ = "competencies"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # the slug, e.g. "argument-writing"
    title: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()


class RubricVersion(Base):
    """One immutable version of a competency's rubric. Drafts point here, never at the
    competency, so editing a descriptor never changes what an old draft was judged against."""

    __tablename__ = "rubric_versions"
    __table_args__ = (
        UniqueConstraint("competency_id", "version"),
        UniqueConstraint("competency_id", "content_hash"),
        Index(
            "uq_rubric_versions_current",
            "competency_id",
            unique=True,
            postgresql_where=text("is_current"),
        ),
        # A rubric has up to 12 levels (rubrics/schemas.MAX_LEVELS).
        CheckConstraint("mastery_threshold BETWEEN 1 AND 12", name="threshold_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    competency_id: Mapped[str] = mapped_column(ForeignKey("competencies.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    is_current: Mapped[bool] = mapped_column(Boolean, server_default="true", default=True)
    title: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(100))
    grade_band: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    mastery_threshold: Mapped[int] = mapped_column(Integer)
    # The whole validated definition, as loaded: what prompts and exports render from.
    definition: Mapped[dict] = mapped_column(JSONB)
    source_file: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = created_at()


class Criterion(Base):
    __tablename__ = "criteria"
    __table_args__ = (UniqueConstraint("rubric_version_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rubric_version_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_versions.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(80))  # the id in the YAML, e.g. "claim"
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)


class CriterionLevel(Base):
    __tablename__ = "criterion_levels"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 12", name="level_range"),)  # MAX_LEVELS

    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("criteria.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(60))
    descriptor: Mapped[str] = mapped_column(Text)


class RubricPassage(Base):
    """A searchable piece of a rubric version: its overview, or one criterion with its levels."""

    __tablename__ = "rubric_passages"
    __table_args__ = (
        CheckConstraint("kind IN ('competency', 'criterion')", name="kind_known"),
        Index("ix_rubric_passages_search", "search", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rubric_version_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_versions.id", ondelete="CASCADE"), index=True
    )
    criterion_id: Mapped[int | None] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # The words student work on this competency tends to contain (keywords, look-fors): they
    # weigh most in full-text search (weight A) and lead the embedded text.
    emphasis: Mapped[str] = mapped_column(Text, server_default="", default="")
    body: Mapped[str] = mapped_column(Text)
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed("setweight(to_tsvector('english', emphasis), 'A') || setweight(to_tsvector('english', body), 'D')", persisted=True),
    )


class PassageEmbedding(Base):
    """A passage's vector under one embedding model. The column has no fixed dimension so any
    model fits; each model gets its own partial HNSW index over ``embedding::vector(dim)``."""

    __tablename__ = "passage_embeddings"

    passage_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_passages.id", ondelete="CASCADE"), primary_key=True
    )
    embed_model: Mapped[str] = mapped_column(String(200), primary_key=True)
    dimensions: Mapped[int] = mapped_column(Integer)
    embedding = mapped_column(Vector(), nullable=False)
