"""Clients, credentials, audit log (append-only), idempotency keys, outbox and inbox.

Revision ID: 0001
Revises:
"""
from alembic import op

from jsp_common.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    -- only the retention purge (python -m gateway purge-audit) deletes, and only entries past retention
    IF TG_OP = 'DELETE' AND coalesce(current_setting('jsp.audit_purge', true), '') = 'on' THEN
        IF OLD.at < now() - make_interval(days => current_setting('jsp.audit_retention_days')::int) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
"""


def upgrade() -> None:
    from gateway.adapters.tables import metadata

    bind = op.get_bind()
    metadata.create_all(bind, checkfirst=True)
    create_messaging_tables(op)
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    from gateway.adapters.tables import metadata

    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    metadata.drop_all(op.get_bind(), checkfirst=True)
    drop_messaging_tables(op)
