"""feedback examples (teacher voice) and the Procrastinate job queue schema

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:09:46.225688
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Procrastinate's own schema, from the installed (pinned) version, so jobs can be deferred
    # in the same transaction as the rows they are about.
    from procrastinate.schema import SchemaManager

    bind = op.get_bind()
    if not bind.execute(sa.text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar():
        op.execute(SchemaManager.get_schema())
    op.create_table('feedback_examples',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('competency_id', sa.String(length=80), nullable=False),
    sa.Column('criterion_key', sa.String(length=80), nullable=True),
    sa.Column('draft_id', sa.Uuid(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('embed_model', sa.String(length=200), nullable=False),
    sa.Column('embedding', pgvector.sqlalchemy.vector.VECTOR(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['competency_id'], ['competencies.id'], name=op.f('fk_feedback_examples_competency_id_competencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['draft_id'], ['drafts.id'], name=op.f('fk_feedback_examples_draft_id_drafts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['users.id'], name=op.f('fk_feedback_examples_teacher_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_examples'))
    )
    op.create_index('ix_feedback_examples_teacher_competency', 'feedback_examples', ['teacher_id', 'competency_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_feedback_examples_teacher_competency', table_name='feedback_examples')
    op.drop_table('feedback_examples')
    # Procrastinate's schema stays: other applications may share it, and it holds no Beacon rows.
