"""the app role writes audit events only through beacon_audit (its actor is the person of a live
session), and finds or revokes sessions only through functions (it cannot list session ids)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:00:00

The privileges themselves (what the app role may do to each table) are granted after every
upgrade by ``beacon.db.roles.grant_app``: role names belong to the deployment, not the schema.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SECURITY DEFINER functions run as the schema's owner: each one pins its search_path so no
# caller can slip in its own objects.
UPGRADE = [
    # The one way the app writes an audit event. With a session: the actor is that session's
    # person (it must be live), and a claimed actor who is anyone else is refused. Without one
    # (a command line, a background job): the actor is Beacon itself, the claim kept as data.
    """
    CREATE FUNCTION beacon_audit(p_session uuid, p_claimed uuid, p_action text, p_subject_type text,
                                 p_subject_id text, p_data jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE
        v_actor uuid;
        v_data jsonb := coalesce(p_data, '{}'::jsonb);
    BEGIN
        IF p_session IS NOT NULL THEN
            SELECT user_id INTO v_actor FROM user_sessions
             WHERE id = p_session AND revoked_at IS NULL AND expires_at > now();
            IF v_actor IS NULL THEN
                RAISE EXCEPTION 'audit event for a session that is not signed in'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF p_claimed IS NOT NULL AND p_claimed <> v_actor THEN
                RAISE EXCEPTION 'audit event in another person''s name'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        ELSIF p_claimed IS NOT NULL THEN
            v_data := v_data || jsonb_build_object('on_behalf_of', p_claimed);
        END IF;
        INSERT INTO audit_events (actor_id, action, subject_type, subject_id, data)
        VALUES (v_actor, p_action, p_subject_type, p_subject_id, v_data);
    END $$
    """,
    # The person of a live session (or NULL): how a request finds who signed in.
    """
    CREATE FUNCTION beacon_session_user(p_session uuid) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT user_id FROM user_sessions
         WHERE id = p_session AND revoked_at IS NULL AND expires_at > now()
    $$
    """,
    # Sign out one session (p_only), or every session of a person but one (p_keep).
    """
    CREATE FUNCTION beacon_revoke_sessions(p_user uuid, p_only uuid, p_keep uuid) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE
        v_count integer;
    BEGIN
        UPDATE user_sessions SET revoked_at = now()
         WHERE user_id = p_user AND revoked_at IS NULL
           AND (p_only IS NULL OR id = p_only) AND (p_keep IS NULL OR id <> p_keep);
        GET DIAGNOSTICS v_count = ROW_COUNT;
        RETURN v_count;
    END $$
    """,
    # Decisions and releases write their audit events by trigger: as the owner, since the app
    # role may not insert audit events itself.
    "ALTER FUNCTION beacon_audit_decision() SECURITY DEFINER SET search_path = public, pg_temp",
    "ALTER FUNCTION beacon_audit_release() SECURITY DEFINER SET search_path = public, pg_temp",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER FUNCTION beacon_audit_release() SECURITY INVOKER RESET search_path")
    op.execute("ALTER FUNCTION beacon_audit_decision() SECURITY INVOKER RESET search_path")
    op.execute("DROP FUNCTION beacon_revoke_sessions(uuid, uuid, uuid)")
    op.execute("DROP FUNCTION beacon_session_user(uuid)")
    op.execute("DROP FUNCTION beacon_audit(uuid, uuid, text, text, text, jsonb)")
