"""project requests, project drafts, started projects as assignments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 20:48:49.410018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('project_requests',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('interests', sa.Text(), nullable=False),
    sa.Column('tags', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('weeks', sa.Integer(), nullable=True),
    sa.Column('working', sa.String(length=8), server_default='either', nullable=False),
    sa.Column('materials', sa.Text(), server_default='', nullable=False),
    sa.Column('competency_ids', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('status', sa.String(length=20), server_default='queued', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'designing', 'pending_review', 'released', 'returned', 'failed')", name=op.f('ck_project_requests_status_known')),
    sa.CheckConstraint("working IN ('solo', 'group', 'either')", name=op.f('ck_project_requests_working_known')),
    sa.CheckConstraint('length(interests) > 0', name=op.f('ck_project_requests_interests_not_empty')),
    sa.CheckConstraint('weeks IS NULL OR weeks BETWEEN 1 AND 20', name=op.f('ck_project_requests_weeks_range')),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_project_requests_student_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_requests'))
    )
    op.create_index('ix_project_requests_student_created', 'project_requests', ['student_id', 'created_at'], unique=False)
    op.add_column('assignments', sa.Column('student_id', sa.Uuid(), nullable=True))
    op.add_column('assignments', sa.Column('source_release_id', sa.Uuid(), nullable=True))
    op.create_index(op.f('ix_assignments_student_id'), 'assignments', ['student_id'], unique=False)
    op.create_foreign_key(op.f('fk_assignments_student_id_users'), 'assignments', 'users', ['student_id'], ['id'], ondelete='CASCADE')
    op.create_foreign_key(op.f('fk_assignments_source_release_id_releases'), 'assignments', 'releases', ['source_release_id'], ['id'], ondelete='SET NULL')
    op.add_column('drafts', sa.Column('project_request_id', sa.Uuid(), nullable=True))
    op.create_index(op.f('ix_drafts_project_request_id'), 'drafts', ['project_request_id'], unique=False)
    op.create_foreign_key(op.f('fk_drafts_project_request_id_project_requests'), 'drafts', 'project_requests', ['project_request_id'], ['id'], ondelete='CASCADE')
    op.create_check_constraint(op.f('ck_drafts_project_has_request'), 'drafts', "kind <> 'project' OR project_request_id IS NOT NULL")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_drafts_project_has_request'), 'drafts', type_='check')
    op.drop_constraint(op.f('fk_drafts_project_request_id_project_requests'), 'drafts', type_='foreignkey')
    op.drop_index(op.f('ix_drafts_project_request_id'), table_name='drafts')
    op.drop_column('drafts', 'project_request_id')
    op.drop_constraint(op.f('fk_assignments_source_release_id_releases'), 'assignments', type_='foreignkey')
    op.drop_constraint(op.f('fk_assignments_student_id_users'), 'assignments', type_='foreignkey')
    op.drop_index(op.f('ix_assignments_student_id'), table_name='assignments')
    op.drop_column('assignments', 'source_release_id')
    op.drop_column('assignments', 'student_id')
    op.drop_index('ix_project_requests_student_created', table_name='project_requests')
    op.drop_table('project_requests')
