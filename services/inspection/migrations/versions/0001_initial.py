"""Matters, batches and documents, inspectors, credit classes, the registry replica, plans, joint tasks,
draws, targets and results.

The schema as first released, frozen here: later changes to ``inspection.adapters.tables`` need a revision
of their own (tests/migrations checks the chain against the tables the code declares).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from jsp_common import replica
from jsp_common.migrations import create_messaging_tables, drop_messaging_tables, run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The replica's own columns beside the standard ones (jsp_common.replica creates those).
REPLICA_EXTRA = """
ALTER TABLE replica_entities ADD COLUMN domains TEXT[] DEFAULT '{}' NOT NULL;
CREATE INDEX replica_entities_industry ON replica_entities (industry_code);
"""

SCHEMA = """
CREATE TABLE credit_classes (
    uscc TEXT NOT NULL,
    credit_class TEXT NOT NULL,
    record_version INTEGER NOT NULL,
    changed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (uscc));
CREATE TABLE inspectors (
    id TEXT NOT NULL,
    department TEXT NOT NULL,
    name TEXT NOT NULL,
    certificate_no TEXT NOT NULL,
    certificate_valid_until DATE,
    fields TEXT[] DEFAULT '{}' NOT NULL,
    division_code TEXT,
    active BOOLEAN DEFAULT true NOT NULL,
    conflicts TEXT[] DEFAULT '{}' NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT inspectors_certificate UNIQUE (department, certificate_no));
CREATE TABLE matter_batches (
    id SERIAL NOT NULL,
    division_code TEXT NOT NULL,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    published_at TIMESTAMP WITH TIME ZONE NOT NULL,
    published_by TEXT NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT matter_batches_number UNIQUE (division_code, number));
CREATE TABLE matter_documents (
    id SERIAL NOT NULL,
    matter_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    body JSONB NOT NULL,
    filed_by TEXT NOT NULL,
    filed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (id));
CREATE INDEX matter_documents_current ON matter_documents (matter_code, kind, id);
CREATE TABLE plans (
    id TEXT NOT NULL,
    department TEXT NOT NULL,
    matter_code TEXT NOT NULL,
    matter_version INTEGER NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    frequency INTEGER NOT NULL,
    filter JSONB NOT NULL,
    ratios JSONB NOT NULL,
    items TEXT[] NOT NULL,
    population_at_creation INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (id));
CREATE INDEX plans_department ON plans (department);
CREATE TABLE results (
    task_id TEXT NOT NULL,
    uscc TEXT NOT NULL,
    item_code TEXT NOT NULL,
    department TEXT NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT DEFAULT '' NOT NULL,
    inspected_on DATE NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (task_id, uscc, item_code));
CREATE INDEX results_entity_item ON results (uscc, item_code, inspected_on);
CREATE TABLE tasks (
    id TEXT NOT NULL,
    matter_code TEXT NOT NULL,
    matter_version INTEGER NOT NULL,
    lead_department TEXT NOT NULL,
    departments TEXT[] NOT NULL,
    plan_ids TEXT[] NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (id));
CREATE INDEX tasks_departments ON tasks USING gin (departments);
CREATE TABLE draws (
    id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    seed TEXT NOT NULL,
    seed_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    record JSONB,
    announced_at TIMESTAMP WITH TIME ZONE NOT NULL,
    closed_at TIMESTAMP WITH TIME ZONE,
    actor TEXT NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(task_id) REFERENCES tasks (id));
CREATE UNIQUE INDEX draws_one_live_per_task ON draws (task_id) WHERE status IN ('announced', 'performed');
CREATE INDEX draws_task ON draws (task_id);
CREATE TABLE matters (
    code TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    domain TEXT NOT NULL,
    division_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    lead_department TEXT NOT NULL,
    cooperating_departments TEXT[] DEFAULT '{}' NOT NULL,
    legal_basis TEXT NOT NULL,
    items JSONB NOT NULL,
    batch_id INTEGER NOT NULL,
    effective_from DATE NOT NULL,
    promoted_from TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (code, version),
    FOREIGN KEY(batch_id) REFERENCES matter_batches (id));
CREATE INDEX matters_division ON matters (division_code);
CREATE TABLE targets (
    task_id TEXT NOT NULL,
    uscc TEXT NOT NULL,
    draw_id TEXT NOT NULL,
    entity_name TEXT NOT NULL,
    address TEXT,
    parts JSONB NOT NULL,
    departments TEXT[] NOT NULL,
    inspectors TEXT[] NOT NULL,
    year INTEGER NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    inspected_on DATE,
    due_on DATE,
    recorded_at TIMESTAMP WITH TIME ZONE,
    published_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (task_id, uscc),
    FOREIGN KEY(task_id) REFERENCES tasks (id),
    FOREIGN KEY(draw_id) REFERENCES draws (id));
CREATE INDEX targets_entity_year ON targets (uscc, year);
CREATE INDEX targets_inspectors ON targets USING gin (inspectors);
CREATE INDEX targets_published ON targets (published_at);
CREATE INDEX targets_unpublished ON targets (due_on) WHERE published_at IS NULL AND due_on IS NOT NULL;
"""
_TABLES = ('credit_classes', 'inspectors', 'matter_batches', 'matter_documents', 'plans', 'results', 'tasks', 'draws', 'matters', 'targets')


def upgrade() -> None:
    create_messaging_tables(op)
    replica.create_entity_table(op)
    run_script(op, REPLICA_EXTRA)
    run_script(op, SCHEMA)


def downgrade() -> None:
    for t in reversed(_TABLES):
        op.drop_table(t)
    op.drop_table("replica_entities")
    drop_messaging_tables(op)
