"""a regeneration can name the rubric to draft against (the teacher picks the competency);
a decision says whether it was taken in bulk (agreement counts only decisions on a draft's screen)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("decisions", sa.Column("rubric_id", sa.String(100), nullable=True))
    op.create_check_constraint("rubric_only_to_regenerate", "decisions",
                               "rubric_id IS NULL OR action = 'regenerate'")
    op.add_column("decisions", sa.Column("bulk", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("decisions", "bulk")
    op.drop_constraint("rubric_only_to_regenerate", "decisions")
    op.drop_column("decisions", "rubric_id")
