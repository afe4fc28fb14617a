"""releases are immutable; a decided draft stays decided; decisions only on waiting drafts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    # What a student was given is never rewritten or taken back.
    """
    CREATE TRIGGER releases_immutable BEFORE UPDATE OR DELETE ON releases
    FOR EACH ROW EXECUTE FUNCTION beacon_refuse_change()
    """,
    # Only a draft waiting for review changes status: approved, rejected or superseded is final.
    """
    CREATE FUNCTION beacon_draft_status_final() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status <> 'pending_review' AND NEW.status IS DISTINCT FROM OLD.status THEN
            RAISE EXCEPTION 'draft % is % and cannot become %', OLD.id, OLD.status, NEW.status
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER drafts_status_final BEFORE UPDATE OF status ON drafts
    FOR EACH ROW EXECUTE FUNCTION beacon_draft_status_final()
    """,
    # A decision is taken on a draft that still waits for one (never on a superseded draft).
    """
    CREATE FUNCTION beacon_decision_on_pending() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (SELECT status FROM drafts WHERE id = NEW.draft_id) <> 'pending_review' THEN
            RAISE EXCEPTION 'draft % is not waiting for review', NEW.draft_id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER decisions_on_pending BEFORE INSERT ON decisions
    FOR EACH ROW EXECUTE FUNCTION beacon_decision_on_pending()
    """,
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER decisions_on_pending ON decisions")
    op.execute("DROP FUNCTION beacon_decision_on_pending()")
    op.execute("DROP TRIGGER drafts_status_final ON drafts")
    op.execute("DROP FUNCTION beacon_draft_status_final()")
    op.execute("DROP TRIGGER releases_immutable ON releases")
