"""stored standings: one row per student and competency, made stale by a trigger on ratings

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "standings",
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("competency_id", sa.String(100), primary_key=True),
        sa.Column("generation", sa.Integer(), server_default="1", nullable=False),
        sa.Column("computed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("inputs", sa.String(300), server_default="", nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("last_work", sa.Date(), nullable=True),
        sa.Column("latest_id", sa.String(36), nullable=True),
        sa.Column("latest_level", sa.Float(), nullable=True),
        sa.Column("latest_release", sa.String(36), nullable=True),
        sa.Column("concerns", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("flags", postgresql.ARRAY(sa.String(200)), server_default="{}", nullable=False),
        sa.Column("detail", postgresql.JSONB(), server_default="{}", nullable=False),
    )
    # In the transaction that writes ratings, whatever path wrote them: their standings stop
    # counting until recalculated. Statement level, so a class-wide entry bumps each row once;
    # ordered, so two writers lock rows in the same order.
    op.execute("""
        CREATE FUNCTION beacon_standings_stale() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO standings (student_id, competency_id)
            SELECT DISTINCT student_id, competency_id FROM new_ratings ORDER BY student_id, competency_id
            ON CONFLICT (student_id, competency_id) DO UPDATE SET generation = standings.generation + 1;
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER ratings_make_standings_stale AFTER INSERT ON ratings
        REFERENCING NEW TABLE AS new_ratings FOR EACH STATEMENT EXECUTE FUNCTION beacon_standings_stale()
    """)
    op.execute("INSERT INTO standings (student_id, competency_id) SELECT DISTINCT student_id, competency_id FROM ratings")


def downgrade() -> None:
    op.execute("DROP TRIGGER ratings_make_standings_stale ON ratings")
    op.execute("DROP FUNCTION beacon_standings_stale()")
    op.drop_table("standings")
