"""initial schema: school, rubric library, submissions, drafts, decisions, releases, audit

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 18:47:27.050411
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table('competencies',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competencies'))
    )
    op.create_table('schools',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schools')),
    sa.UniqueConstraint('slug', name=op.f('uq_schools_slug'))
    )
    op.create_table('classes',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('school_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_classes_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classes')),
    sa.UniqueConstraint('school_id', 'name', name=op.f('uq_classes_school_id_name'))
    )
    op.create_table('rubric_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('competency_id', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('is_current', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('grade_band', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('mastery_threshold', sa.Integer(), nullable=False),
    sa.Column('definition', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('source_file', sa.Text(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('mastery_threshold BETWEEN 1 AND 4', name=op.f('ck_rubric_versions_threshold_range')),
    sa.ForeignKeyConstraint(['competency_id'], ['competencies.id'], name=op.f('fk_rubric_versions_competency_id_competencies'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rubric_versions')),
    sa.UniqueConstraint('competency_id', 'content_hash', name=op.f('uq_rubric_versions_competency_id_content_hash')),
    sa.UniqueConstraint('competency_id', 'version', name=op.f('uq_rubric_versions_competency_id_version'))
    )
    op.create_index('uq_rubric_versions_current', 'rubric_versions', ['competency_id'], unique=True, postgresql_where=sa.text('is_current'))
    op.create_table('users',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('school_id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('teacher', 'student', 'coach', 'admin')", name=op.f('ck_users_role_known')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_users_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('id', 'role', name='uq_users_id_role')
    )
    op.create_index('uq_users_email_lower', 'users', [sa.literal_column("lower(email)")], unique=True)
    op.create_table('assignments',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('class_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('instructions', sa.Text(), server_default='', nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_assignments_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_assignments_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    op.create_index(op.f('ix_assignments_class_id'), 'assignments', ['class_id'], unique=False)
    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=80), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index('ix_audit_events_subject', 'audit_events', ['subject_type', 'subject_id'], unique=False)
    op.create_table('criteria',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('rubric_version_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['rubric_versions.id'], name=op.f('fk_criteria_rubric_version_id_rubric_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_criteria')),
    sa.UniqueConstraint('rubric_version_id', 'key', name=op.f('uq_criteria_rubric_version_id_key'))
    )
    op.create_index(op.f('ix_criteria_rubric_version_id'), 'criteria', ['rubric_version_id'], unique=False)
    op.create_table('enrollments',
    sa.Column('class_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('role_in_class', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role_in_class IN ('teacher', 'student')", name=op.f('ck_enrollments_role_in_class')),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_enrollments_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_enrollments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('class_id', 'user_id', name=op.f('pk_enrollments'))
    )
    op.create_index(op.f('ix_enrollments_user_id'), 'enrollments', ['user_id'], unique=False)
    op.create_table('student_profiles',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('interests', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('preferred_language', sa.String(length=16), server_default='en', nullable=False),
    sa.CheckConstraint('grade BETWEEN 0 AND 13', name=op.f('ck_student_profiles_grade_range')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_student_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_student_profiles'))
    )
    op.create_table('assignment_competencies',
    sa.Column('assignment_id', sa.Uuid(), nullable=False),
    sa.Column('competency_id', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_assignment_competencies_assignment_id_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['competency_id'], ['competencies.id'], name=op.f('fk_assignment_competencies_competency_id_competencies'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('assignment_id', 'competency_id', name=op.f('pk_assignment_competencies'))
    )
    op.create_table('criterion_levels',
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.Column('descriptor', sa.Text(), nullable=False),
    sa.CheckConstraint('level BETWEEN 1 AND 4', name=op.f('ck_criterion_levels_level_range')),
    sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_criterion_levels_criterion_id_criteria'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('criterion_id', 'level', name=op.f('pk_criterion_levels'))
    )
    op.create_table('rubric_passages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('rubric_version_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('emphasis', sa.Text(), server_default='', nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('search', postgresql.TSVECTOR(), sa.Computed("setweight(to_tsvector('english', emphasis), 'A') || setweight(to_tsvector('english', body), 'D')", persisted=True), nullable=False),
    sa.CheckConstraint("kind IN ('competency', 'criterion')", name=op.f('ck_rubric_passages_kind_known')),
    sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_rubric_passages_criterion_id_criteria'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['rubric_versions.id'], name=op.f('fk_rubric_passages_rubric_version_id_rubric_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rubric_passages'))
    )
    op.create_index(op.f('ix_rubric_passages_rubric_version_id'), 'rubric_passages', ['rubric_version_id'], unique=False)
    op.create_index('ix_rubric_passages_search', 'rubric_passages', ['search'], unique=False, postgresql_using='gin')
    op.create_table('submissions',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('assignment_id', sa.Uuid(), nullable=True),
    sa.Column('revision_of_id', sa.Uuid(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('source_filename', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='queued', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'drafting', 'pending_review', 'released', 'returned', 'failed')", name=op.f('ck_submissions_status_known')),
    sa.CheckConstraint('length(body) > 0', name=op.f('ck_submissions_body_not_empty')),
    sa.CheckConstraint('revision_of_id IS NULL OR revision_of_id <> id', name=op.f('ck_submissions_not_own_revision')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_submissions_assignment_id_assignments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['revision_of_id'], ['submissions.id'], name=op.f('fk_submissions_revision_of_id_submissions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_submissions_student_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions'))
    )
    op.create_index(op.f('ix_submissions_assignment_id'), 'submissions', ['assignment_id'], unique=False)
    op.create_index(op.f('ix_submissions_revision_of_id'), 'submissions', ['revision_of_id'], unique=False)
    op.create_index('ix_submissions_student_created', 'submissions', ['student_id', 'created_at'], unique=False)
    op.create_table('drafts',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('submission_id', sa.Uuid(), nullable=True),
    sa.Column('rubric_version_id', sa.Integer(), nullable=True),
    sa.Column('regenerated_from_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='pending_review', nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('flags', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('prompt_hash', sa.String(length=64), nullable=False),
    sa.Column('retrieval', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('prompt_tokens', sa.Integer(), server_default='0', nullable=False),
    sa.Column('completion_tokens', sa.Integer(), server_default='0', nullable=False),
    sa.Column('cost_usd', sa.Numeric(precision=12, scale=6), server_default='0', nullable=False),
    sa.Column('latency_ms', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind <> 'feedback' OR (submission_id IS NOT NULL AND rubric_version_id IS NOT NULL)", name=op.f('ck_drafts_feedback_has_submission_and_rubric')),
    sa.CheckConstraint("kind IN ('feedback', 'project')", name=op.f('ck_drafts_kind_known')),
    sa.CheckConstraint("status IN ('pending_review', 'approved', 'rejected', 'superseded')", name=op.f('ck_drafts_status_known')),
    sa.ForeignKeyConstraint(['regenerated_from_id'], ['drafts.id'], name=op.f('fk_drafts_regenerated_from_id_drafts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['rubric_versions.id'], name=op.f('fk_drafts_rubric_version_id_rubric_versions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_drafts_student_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_drafts_submission_id_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drafts')),
    sa.UniqueConstraint('id', 'student_id', name='uq_drafts_id_student')
    )
    op.create_index('ix_drafts_status_created', 'drafts', ['status', 'created_at'], unique=False)
    op.create_index(op.f('ix_drafts_submission_id'), 'drafts', ['submission_id'], unique=False)
    op.create_table('passage_embeddings',
    sa.Column('passage_id', sa.Integer(), nullable=False),
    sa.Column('embed_model', sa.String(length=200), nullable=False),
    sa.Column('dimensions', sa.Integer(), nullable=False),
    sa.Column('embedding', pgvector.sqlalchemy.vector.VECTOR(), nullable=False),
    sa.ForeignKeyConstraint(['passage_id'], ['rubric_passages.id'], name=op.f('fk_passage_embeddings_passage_id_rubric_passages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('passage_id', 'embed_model', name=op.f('pk_passage_embeddings'))
    )
    op.create_table('decisions',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('draft_id', sa.Uuid(), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('teacher_role', sa.String(length=16), server_default='teacher', nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('edited_content', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('instructions', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("action <> 'reject' OR length(trim(reason)) > 0", name=op.f('ck_decisions_reject_has_reason')),
    sa.CheckConstraint("action IN ('approve', 'reject', 'regenerate')", name=op.f('ck_decisions_action_known')),
    sa.CheckConstraint("teacher_role = 'teacher'", name=op.f('ck_decisions_made_by_teacher')),
    sa.ForeignKeyConstraint(['draft_id'], ['drafts.id'], name=op.f('fk_decisions_draft_id_drafts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['teacher_id', 'teacher_role'], ['users.id', 'users.role'], name=op.f('fk_decisions_teacher_id_teacher_role_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions')),
    sa.UniqueConstraint('id', 'draft_id', 'teacher_id', 'action', name='uq_decisions_release_key')
    )
    op.create_index(op.f('ix_decisions_draft_id'), 'decisions', ['draft_id'], unique=False)
    op.create_index('uq_decisions_final_per_draft', 'decisions', ['draft_id'], unique=True, postgresql_where=sa.text("action IN ('approve', 'reject')"))
    op.create_table('releases',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('draft_id', sa.Uuid(), nullable=False),
    sa.Column('decision_id', sa.Uuid(), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('decision_action', sa.String(length=16), server_default='approve', nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("decision_action = 'approve'", name=op.f('ck_releases_from_approval')),
    sa.ForeignKeyConstraint(['decision_id', 'draft_id', 'teacher_id', 'decision_action'], ['decisions.id', 'decisions.draft_id', 'decisions.teacher_id', 'decisions.action'], name=op.f('fk_releases_decision_id_draft_id_teacher_id_decision_action_decisions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['draft_id', 'student_id'], ['drafts.id', 'drafts.student_id'], name=op.f('fk_releases_draft_id_student_id_drafts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_releases')),
    sa.UniqueConstraint('draft_id', name=op.f('uq_releases_draft_id'))
    )
    op.create_index('ix_releases_student_released', 'releases', ['student_id', 'released_at'], unique=False)
    for statement in GUARDS:
        op.execute(statement)


def downgrade() -> None:
    for statement in UNGUARDS:
        op.execute(statement)
    op.drop_index('ix_releases_student_released', table_name='releases')
    op.drop_table('releases')
    op.drop_index('uq_decisions_final_per_draft', table_name='decisions', postgresql_where=sa.text("action IN ('approve', 'reject')"))
    op.drop_index(op.f('ix_decisions_draft_id'), table_name='decisions')
    op.drop_table('decisions')
    op.drop_table('passage_embeddings')
    op.drop_index(op.f('ix_drafts_submission_id'), table_name='drafts')
    op.drop_index('ix_drafts_status_created', table_name='drafts')
    op.drop_table('drafts')
    op.drop_index('ix_submissions_student_created', table_name='submissions')
    op.drop_index(op.f('ix_submissions_revision_of_id'), table_name='submissions')
    op.drop_index(op.f('ix_submissions_assignment_id'), table_name='submissions')
    op.drop_table('submissions')
    op.drop_index('ix_rubric_passages_search', table_name='rubric_passages', postgresql_using='gin')
    op.drop_index(op.f('ix_rubric_passages_rubric_version_id'), table_name='rubric_passages')
    op.drop_table('rubric_passages')
    op.drop_table('criterion_levels')
    op.drop_table('assignment_competencies')
    op.drop_table('student_profiles')
    op.drop_index(op.f('ix_enrollments_user_id'), table_name='enrollments')
    op.drop_table('enrollments')
    op.drop_index(op.f('ix_criteria_rubric_version_id'), table_name='criteria')
    op.drop_table('criteria')
    op.drop_index('ix_audit_events_subject', table_name='audit_events')
    op.drop_table('audit_events')
    op.drop_index(op.f('ix_assignments_class_id'), table_name='assignments')
    op.drop_table('assignments')
    op.drop_index('uq_users_email_lower', table_name='users')
    op.drop_table('users')
    op.drop_index('uq_rubric_versions_current', table_name='rubric_versions', postgresql_where=sa.text('is_current'))
    op.drop_table('rubric_versions')
    op.drop_table('classes')
    op.drop_table('schools')
    op.drop_table('competencies')


# What the schema itself guarantees, beyond keys and checks:
# - audit events and decisions are append-only;
# - a decision can only be made by a teacher who teaches the draft's student;
# - every decision and every release writes its audit event in the same transaction.
GUARDS = [
    """
    CREATE FUNCTION beacon_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION beacon_refuse_change()
    """,
    """
    CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION beacon_refuse_change()
    """,
    """
    CREATE FUNCTION beacon_decision_in_scope() RETURNS trigger LANGUAGE plpgsql AS $$
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
    """,
    """
    CREATE TRIGGER decisions_in_scope BEFORE INSERT ON decisions
    FOR EACH ROW EXECUTE FUNCTION beacon_decision_in_scope()
    """,
    """
    CREATE FUNCTION beacon_audit_decision() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO audit_events (actor_id, action, subject_type, subject_id, data)
        VALUES (NEW.teacher_id, 'decision.' || NEW.action, 'draft', NEW.draft_id::text,
                jsonb_build_object('decision_id', NEW.id, 'reason', NEW.reason,
                                   'instructions', NEW.instructions,
                                   'edited', NEW.edited_content IS NOT NULL));
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER decisions_audited AFTER INSERT ON decisions
    FOR EACH ROW EXECUTE FUNCTION beacon_audit_decision()
    """,
    """
    CREATE FUNCTION beacon_audit_release() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO audit_events (actor_id, action, subject_type, subject_id, data)
        VALUES (NEW.teacher_id, 'release.created', 'draft', NEW.draft_id::text,
                jsonb_build_object('release_id', NEW.id, 'decision_id', NEW.decision_id,
                                   'student_id', NEW.student_id));
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER releases_audited AFTER INSERT ON releases
    FOR EACH ROW EXECUTE FUNCTION beacon_audit_release()
    """,
]

UNGUARDS = [
    "DROP TRIGGER IF EXISTS releases_audited ON releases",
    "DROP TRIGGER IF EXISTS decisions_audited ON decisions",
    "DROP TRIGGER IF EXISTS decisions_in_scope ON decisions",
    "DROP TRIGGER IF EXISTS decisions_append_only ON decisions",
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP FUNCTION IF EXISTS beacon_audit_release()",
    "DROP FUNCTION IF EXISTS beacon_audit_decision()",
    "DROP FUNCTION IF EXISTS beacon_decision_in_scope()",
    "DROP FUNCTION IF EXISTS beacon_refuse_change()",
]
