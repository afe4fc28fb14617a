"""work belongs to classes: the assignment's class, or the student's classes when handing in

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A decision is in scope when the deciding teacher teaches one of the work's classes and the
# student is still in that class (the same rule as the review queue, review/repository.py).
IN_SCOPE = """
    CREATE OR REPLACE FUNCTION beacon_decision_in_scope() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (
            SELECT 1
            FROM drafts d
            LEFT JOIN submissions w ON w.id = d.submission_id
            LEFT JOIN project_requests r ON r.id = d.project_request_id
            JOIN enrollments t ON t.class_id = ANY(COALESCE(w.class_ids, r.class_ids))
                              AND t.role_in_class = 'teacher' AND t.user_id = NEW.teacher_id
            JOIN enrollments s ON s.class_id = t.class_id AND s.user_id = d.student_id AND s.role_in_class = 'student'
            WHERE d.id = NEW.draft_id
        ) THEN
            RAISE EXCEPTION 'teacher % does not teach the class of draft %', NEW.teacher_id, NEW.draft_id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END $$
"""

PREVIOUS = """
    CREATE OR REPLACE FUNCTION beacon_decision_in_scope() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (
            SELECT 1
            FROM drafts d
            JOIN enrollments s ON s.user_id = d.student_id AND s.role_in_class = 'student'
            JOIN enrollments t ON t.class_id = s.class_id AND t.role_in_class = 'teacher'
            WHERE d.id = NEW.draft_id AND t.user_id = NEW.teacher_id
        ) THEN
            RAISE EXCEPTION 'teacher % does not teach the student of draft %', NEW.teacher_id, NEW.draft_id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END $$
"""


def upgrade() -> None:
    for table in ('submissions', 'project_requests'):
        op.add_column(table, sa.Column('class_ids', postgresql.ARRAY(sa.Uuid()), server_default='{}', nullable=False))
        op.create_index(f'ix_{table}_class_ids', table, ['class_ids'], postgresql_using='gin')
    # Existing work: its assignment's class, else the classes its student is in now.
    op.execute("""
        UPDATE submissions w SET class_ids = ARRAY[a.class_id]
          FROM assignments a WHERE a.id = w.assignment_id
    """)
    for table in ('submissions', 'project_requests'):
        op.execute(f"""
            UPDATE {table} w SET class_ids = COALESCE((
                SELECT array_agg(e.class_id) FROM enrollments e
                 WHERE e.user_id = w.student_id AND e.role_in_class = 'student'), '{{}}')
             WHERE cardinality(w.class_ids) = 0
        """)
    op.execute(IN_SCOPE)


def downgrade() -> None:
    op.execute(PREVIOUS)
    for table in ('submissions', 'project_requests'):
        op.drop_index(f'ix_{table}_class_ids', table_name=table)
        op.drop_column(table, 'class_ids')
