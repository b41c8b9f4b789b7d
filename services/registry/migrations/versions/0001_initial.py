"""Initial schema: directory, history, notifications, adjudication, decisions, rule sets; messaging tables.

The schema as first released, frozen here: later changes to ``registry.adapters.tables`` need a revision
of their own (tests/migrations checks the chain against the tables the code declares).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
from alembic import op

from jsp_common.migrations import create_messaging_tables, drop_messaging_tables, run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE adjudication_cases (
    id TEXT NOT NULL,
    uscc TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    candidate_departments TEXT[] DEFAULT '{}'::text[] NOT NULL,
    detail TEXT,
    opened_at TIMESTAMP WITH TIME ZONE NOT NULL,
    opened_by TEXT NOT NULL,
    decided_at TIMESTAMP WITH TIME ZONE,
    decided_by TEXT,
    departments TEXT[],
    note TEXT,
    PRIMARY KEY (id));
CREATE UNIQUE INDEX adjudication_open_per_entity ON adjudication_cases (uscc) WHERE status = 'open';
CREATE INDEX adjudication_status ON adjudication_cases (status, opened_at);
CREATE TABLE decisions (
    id BIGSERIAL NOT NULL,
    uscc TEXT,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    details JSONB DEFAULT '{}'::jsonb NOT NULL,
    PRIMARY KEY (id));
CREATE INDEX decisions_uscc ON decisions (uscc, at);
CREATE TABLE entities (
    uscc TEXT NOT NULL,
    name TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    legal_representative TEXT,
    address TEXT NOT NULL,
    division_code TEXT NOT NULL,
    city_code TEXT,
    industry_code TEXT NOT NULL,
    business_scope TEXT DEFAULT '' NOT NULL,
    licences JSONB DEFAULT '[]'::jsonb NOT NULL,
    status TEXT NOT NULL,
    established_on DATE NOT NULL,
    approved_on DATE,
    closed_on DATE,
    registration_authority TEXT,
    departments TEXT[] DEFAULT '{}'::text[] NOT NULL,
    domains TEXT[] DEFAULT '{}'::text[] NOT NULL,
    matched_rules TEXT[] DEFAULT '{}'::text[] NOT NULL,
    assignment_state TEXT NOT NULL,
    assignment_source TEXT NOT NULL,
    rule_version INTEGER,
    version INTEGER DEFAULT '1' NOT NULL,
    published_version INTEGER DEFAULT '0' NOT NULL,
    last_changed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_event_id TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (uscc));
CREATE INDEX entities_city ON entities (city_code);
CREATE INDEX entities_departments ON entities USING gin (departments);
CREATE INDEX entities_division ON entities (division_code);
CREATE INDEX entities_industry ON entities (industry_code);
CREATE INDEX entities_name_trgm ON entities USING gin (name gin_trgm_ops);
CREATE INDEX entities_status ON entities (status);
CREATE INDEX entities_unpublished ON entities (uscc) WHERE published_version < version;
CREATE TABLE entity_history (
    id BIGSERIAL NOT NULL,
    uscc TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    sender TEXT,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    outcome TEXT NOT NULL,
    data JSONB NOT NULL,
    PRIMARY KEY (id));
CREATE INDEX entity_history_uscc ON entity_history (uscc, occurred_at);
CREATE TABLE notifications (
    id TEXT NOT NULL,
    uscc TEXT NOT NULL,
    department TEXT NOT NULL,
    kind TEXT NOT NULL,
    cause TEXT NOT NULL,
    matched_rules TEXT[] DEFAULT '{}'::text[] NOT NULL,
    domains TEXT[] DEFAULT '{}'::text[] NOT NULL,
    issued_at TIMESTAMP WITH TIME ZONE NOT NULL,
    acknowledge_by TIMESTAMP WITH TIME ZONE NOT NULL,
    acknowledged_at TIMESTAMP WITH TIME ZONE,
    acknowledged_by TEXT,
    overdue_since TIMESTAMP WITH TIME ZONE,
    reminder_count INTEGER DEFAULT '0' NOT NULL,
    last_reminded_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id));
CREATE INDEX notifications_department ON notifications (department, issued_at);
CREATE INDEX notifications_unacknowledged ON notifications (acknowledge_by) WHERE acknowledged_at IS NULL;
CREATE INDEX notifications_uscc ON notifications (uscc);
CREATE TABLE rule_sets (
    version SERIAL NOT NULL,
    rules JSONB NOT NULL,
    note TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    reassess TEXT DEFAULT 'none' NOT NULL,
    PRIMARY KEY (version));
"""
TABLES = ("adjudication_cases", "decisions", "entities", "entity_history", "notifications", "rule_sets")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    create_messaging_tables(op)
    run_script(op, SCHEMA)


def downgrade() -> None:
    op.execute(f"DROP TABLE {', '.join(TABLES)}")
    drop_messaging_tables(op)
