"""guardians: a role, linked to students (both roles pinned by the schema); a person's language

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_users_role_known"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_role_known"), "users",
                               "role IN ('teacher', 'student', 'coach', 'admin', 'guardian')")
    op.add_column("users", sa.Column("preferred_language", sa.String(16), nullable=True))
    op.create_table(
        "guardianships",
        sa.Column("guardian_id", sa.Uuid(), primary_key=True),
        sa.Column("student_id", sa.Uuid(), primary_key=True),
        sa.Column("guardian_role", sa.String(16), server_default="guardian", nullable=False),
        sa.Column("student_role", sa.String(16), server_default="student", nullable=False),
        sa.Column("linked_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("guardian_role = 'guardian'", name=op.f("ck_guardianships_links_a_guardian")),
        sa.CheckConstraint("student_role = 'student'", name=op.f("ck_guardianships_to_a_student")),
        sa.ForeignKeyConstraint(["guardian_id", "guardian_role"], ["users.id", "users.role"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["student_id", "student_role"], ["users.id", "users.role"], ondelete="CASCADE"),
    )
    op.create_index(op.f("ix_guardianships_student_id"), "guardianships", ["student_id"])


def downgrade() -> None:
    op.drop_table("guardianships")
    op.drop_column("users", "preferred_language")
    op.execute("DELETE FROM users WHERE role = 'guardian'")
    op.drop_constraint(op.f("ck_users_role_known"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_role_known"), "users", "role IN ('teacher', 'student', 'coach', 'admin')")
