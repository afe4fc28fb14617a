"""continua of 3 to 12 levels: widen the level and threshold checks from four

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 14:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKS = (("ck_criterion_levels_level_range", "criterion_levels", "level"),
          ("ck_rubric_versions_threshold_range", "rubric_versions", "mastery_threshold"))


def _widen(top: int) -> None:
    for name, table, column in CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, f"{column} BETWEEN 1 AND {top}")


def upgrade() -> None:
    _widen(12)


def downgrade() -> None:
    _widen(4)  # fails while a rubric with more than four levels is stored: delete it first
