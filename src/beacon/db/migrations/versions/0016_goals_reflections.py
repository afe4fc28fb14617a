"""goals, reflections, portfolio links: a student's aim on a competency, their answer to a
release's question, and read-only links to their progress (token stored hashed)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "goals",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("competency_id", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("target_level", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("achieved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("char_length(text) BETWEEN 1 AND 500", name=op.f("ck_goals_text_length")),
        sa.CheckConstraint("target_level IS NULL OR target_level >= 1", name=op.f("ck_goals_target_level_positive")),
        sa.CheckConstraint("achieved_at IS NULL OR withdrawn_at IS NULL", name=op.f("ck_goals_closed_once")),
    )
    # One open goal per student and competency; closed ones stay as its history.
    op.create_index("uq_goals_one_open", "goals", ["student_id", "competency_id"], unique=True,
                    postgresql_where=sa.text("achieved_at IS NULL AND withdrawn_at IS NULL"))
    op.create_table(
        "reflections",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("release_id", sa.Uuid(), sa.ForeignKey("releases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("char_length(text) BETWEEN 1 AND 2000", name=op.f("ck_reflections_text_length")),
        sa.UniqueConstraint("release_id", name="uq_reflections_release_id"),
    )
    op.create_index("ix_reflections_student_id", "reflections", ["student_id"])
    op.create_table(
        "portfolio_links",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.CheckConstraint("char_length(token_hash) = 64", name=op.f("ck_portfolio_links_token_hash_is_sha256")),
        sa.UniqueConstraint("token_hash", name="uq_portfolio_links_token_hash"),
    )
    op.create_index("ix_portfolio_links_student_id", "portfolio_links", ["student_id"])


def downgrade() -> None:
    op.drop_table("portfolio_links")
    op.drop_table("reflections")
    op.drop_index("uq_goals_one_open", table_name="goals")
    op.drop_table("goals")
