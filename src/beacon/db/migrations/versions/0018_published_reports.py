"""published reports: a class's mastery reports for a period, frozen as published (what a family
reads later is what was published), and an index for a teacher's released list

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "published_reports",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("class_id", sa.Uuid(), sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("published_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.CheckConstraint("period_start <= period_end", name=op.f("ck_published_reports_period_runs_forward")),
        sa.UniqueConstraint("student_id", "class_id", "period_start", "period_end", name="uq_published_reports_period"),
    )
    # A student's (or family's) list, newest first.
    op.create_index("ix_published_reports_student", "published_reports", ["student_id", "published_at"])
    # /teacher/released: WHERE teacher_id = ? [AND released_at range] ORDER BY released_at DESC, id DESC,
    # paged by (released_at, id) < anchor: one index range scan, no sort.
    op.create_index("ix_releases_teacher_released", "releases", ["teacher_id", "released_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_releases_teacher_released", table_name="releases")
    op.drop_index("ix_published_reports_student", table_name="published_reports")
    op.drop_table("published_reports")
