"""ratings: the mastery record, append-only; an approved draft's levels are written with its release

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("competency_id", sa.String(100), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), sa.ForeignKey("rubric_versions.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("criterion_id", sa.String(100), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("work_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("release_id", sa.Uuid(), sa.ForeignKey("releases.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("evidence", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("artifact_url", sa.String(2000), nullable=True),
        sa.Column("rated_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("supersedes_id", sa.Uuid(), sa.ForeignKey("ratings.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("source IN ('draft', 'teacher', 'override', 'missed')", name=op.f("ck_ratings_known_source")),
        sa.CheckConstraint("level >= 0", name=op.f("ck_ratings_level_not_negative")),
        sa.CheckConstraint("source <> 'draft' OR release_id IS NOT NULL", name=op.f("ck_ratings_draft_ratings_come_from_a_release")),
    )
    op.create_index("ix_ratings_student_competency", "ratings",
                    ["student_id", "competency_id", "criterion_id", "work_date"])
    # The record is never rewritten: a correction is a new rating that supersedes.
    op.execute("""
        CREATE TRIGGER ratings_append_only BEFORE UPDATE OR DELETE ON ratings
        FOR EACH ROW EXECUTE FUNCTION beacon_refuse_change()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER ratings_append_only ON ratings")
    op.drop_table("ratings")
