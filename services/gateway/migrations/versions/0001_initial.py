"""Clients, credentials, audit log (append-only), idempotency keys, outbox and inbox.

The schema as first released, frozen here: later changes to ``gateway.adapters.tables`` need a revision
of their own (tests/migrations checks the chain against the tables the code declares).

Revision ID: 0001
Revises:
"""
from alembic import op

from jsp_common.migrations import create_messaging_tables, drop_messaging_tables, run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE audit_log (
    id BIGSERIAL NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    request_id TEXT,
    trace_id TEXT,
    subject TEXT,
    kind TEXT,
    department TEXT,
    roles TEXT[],
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    path TEXT NOT NULL,
    object_id TEXT,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    client_ip TEXT,
    duration_ms INTEGER,
    PRIMARY KEY (id));
CREATE INDEX audit_by_object ON audit_log (object_id, at);
CREATE INDEX audit_by_subject ON audit_log (subject, at);
CREATE INDEX audit_by_time ON audit_log (at);
CREATE TABLE clients (
    client_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    username TEXT,
    roles TEXT[] NOT NULL,
    department TEXT,
    division TEXT,
    status TEXT DEFAULT 'active' NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (client_id),
    UNIQUE (username));
CREATE TABLE idempotency_keys (
    subject TEXT NOT NULL,
    key TEXT NOT NULL,
    route TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response JSONB NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (subject, key));
CREATE INDEX idempotency_by_time ON idempotency_keys (created_at);
CREATE TABLE credentials (
    credential_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    created_by TEXT NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE,
    revoked_at TIMESTAMP WITH TIME ZONE,
    revoked_by TEXT,
    last_used_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (credential_id),
    FOREIGN KEY(client_id) REFERENCES clients (client_id));
CREATE INDEX credentials_by_client ON credentials (client_id);
"""
TABLES = ("credentials", "clients", "idempotency_keys", "audit_log")

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
    run_script(op, SCHEMA)
    create_messaging_tables(op)
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.execute(f"DROP TABLE {', '.join(TABLES)}")
    drop_messaging_tables(op)
