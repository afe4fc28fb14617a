"""baseline ratings; needs-support flags dismissed with a note (append-only)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_ratings_known_source"), "ratings", type_="check")
    op.create_check_constraint(op.f("ck_ratings_known_source"), "ratings",
                               "source IN ('draft', 'teacher', 'override', 'missed', 'baseline')")
    op.create_table(
        "support_dismissals",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("competency_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("cause", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("dismissed_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_support_dismissals_student", "support_dismissals",
                    ["student_id", "competency_id", "kind", "cause"])
    op.execute("""
        CREATE TRIGGER support_dismissals_append_only BEFORE UPDATE OR DELETE ON support_dismissals
        FOR EACH ROW EXECUTE FUNCTION beacon_refuse_change()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER support_dismissals_append_only ON support_dismissals")
    op.drop_table("support_dismissals")
    op.drop_constraint(op.f("ck_ratings_known_source"), "ratings", type_="check")
    op.create_check_constraint(op.f("ck_ratings_known_source"), "ratings",
                               "source IN ('draft', 'teacher', 'override', 'missed')")
