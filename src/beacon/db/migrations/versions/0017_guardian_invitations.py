"""guardian invitations: a teacher invites a student's family by email; the link is the signed
id of the row (nothing secret stored), one-time, for a while

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "guardian_invitations",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("school_id", sa.Uuid(), sa.ForeignKey("schools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("invited_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("preferred_language", sa.String(16), server_default="en", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.CheckConstraint("char_length(email) BETWEEN 3 AND 320 AND position('@' in email) > 1",
                           name=op.f("ck_guardian_invitations_email_shape")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_guardian_invitations_expires_after_made")),
        sa.CheckConstraint("accepted_at IS NULL OR revoked_at IS NULL", name=op.f("ck_guardian_invitations_closed_once")),
        sa.CheckConstraint("accepted_by IS NULL OR accepted_at IS NOT NULL",
                           name=op.f("ck_guardian_invitations_accepted_by_when_accepted")),
        sa.CheckConstraint("revoked_by IS NULL OR revoked_at IS NOT NULL",
                           name=op.f("ck_guardian_invitations_revoked_by_when_revoked")),
    )
    op.create_index("ix_guardian_invitations_student_id", "guardian_invitations", ["student_id"])
    # One open invitation per child and address (an expired one is closed when it is sent again).
    op.create_index("uq_guardian_invitations_one_open", "guardian_invitations",
                    ["student_id", sa.text("lower(email)")], unique=True,
                    postgresql_where=sa.text("accepted_at IS NULL AND revoked_at IS NULL"))


def downgrade() -> None:
    op.drop_index("uq_guardian_invitations_one_open", table_name="guardian_invitations")
    op.drop_table("guardian_invitations")
