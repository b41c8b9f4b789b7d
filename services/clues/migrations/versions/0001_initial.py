"""Clues, transitions, extensions, routing rules, deadline policies, case transfers, registry replica;
the starter routing rules and deadline policies.

The schema as first released, frozen here: later changes to ``clues.adapters.tables`` need a revision of
their own (tests/migrations checks the chain against the tables the code declares). Likewise the starter
data (``clues/data/*.csv``) is the set first released: a later addition is a revision that adds it to
databases seeded before (0003).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import csv
from importlib.resources import files

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from jsp_common.migrations import create_messaging_tables, drop_messaging_tables, run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE clues (
    id TEXT NOT NULL,
    channel TEXT NOT NULL,
    channel_ref TEXT NOT NULL,
    source_event_id TEXT,
    content TEXT NOT NULL,
    category TEXT,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL,
    address TEXT,
    division_code TEXT,
    business_name TEXT,
    uscc TEXT,
    match_method TEXT,
    match_confidence FLOAT,
    domain TEXT,
    urgency TEXT NOT NULL,
    caller_name_enc BYTEA,
    caller_phone_enc BYTEA,
    caller_name_masked TEXT,
    caller_phone_masked TEXT,
    state TEXT NOT NULL,
    lead_department TEXT,
    co_departments TEXT[] DEFAULT '{}' NOT NULL,
    routing_note TEXT,
    round INTEGER DEFAULT 0 NOT NULL,
    arbitrated BOOLEAN DEFAULT false NOT NULL,
    dispatched_at TIMESTAMP WITH TIME ZONE,
    return_deadline TIMESTAMP WITH TIME ZONE,
    deadline TIMESTAMP WITH TIME ZONE,
    chased_at TIMESTAMP WITH TIME ZONE,
    escalated_at TIMESTAMP WITH TIME ZONE,
    duplicate_of TEXT,
    duplicate_similarity FLOAT,
    finding TEXT,
    measures TEXT,
    reply_text TEXT,
    replied_at TIMESTAMP WITH TIME ZONE,
    closed_at TIMESTAMP WITH TIME ZONE,
    satisfaction TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT clues_channel_ref UNIQUE (channel, channel_ref),
    FOREIGN KEY(duplicate_of) REFERENCES clues (id));
CREATE INDEX clues_co ON clues USING gin (co_departments);
CREATE INDEX clues_dup_division ON clues (division_code, received_at);
CREATE INDEX clues_dup_uscc ON clues (uscc, received_at);
CREATE INDEX clues_duplicate_of ON clues (duplicate_of);
CREATE INDEX clues_lead ON clues (lead_department, state);
CREATE INDEX clues_state ON clues (state);
CREATE INDEX clues_timed ON clues (deadline) WHERE state IN ('dispatched','accepted','verifying','handled') AND escalated_at IS NULL;
CREATE TABLE deadline_policies (
    channel TEXT NOT NULL,
    urgency TEXT NOT NULL,
    workdays INTEGER NOT NULL,
    updated_by TEXT DEFAULT 'seed' NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (channel, urgency));
CREATE TABLE replica_entities (
    uscc TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT,
    division_code TEXT,
    city_code TEXT,
    status TEXT,
    responsible_departments TEXT[] DEFAULT '{}' NOT NULL,
    name_grams TEXT[] DEFAULT '{}' NOT NULL,
    version INTEGER DEFAULT 0 NOT NULL,
    changed_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (uscc));
CREATE INDEX replica_entities_city ON replica_entities (city_code);
CREATE INDEX replica_entities_grams ON replica_entities USING gin (name_grams);
CREATE TABLE routing_rules (
    id SERIAL NOT NULL,
    keyword TEXT NOT NULL,
    domain TEXT NOT NULL,
    lead_agency TEXT NOT NULL,
    co_agencies TEXT[] DEFAULT '{}' NOT NULL,
    priority INTEGER DEFAULT 0 NOT NULL,
    enabled BOOLEAN DEFAULT true NOT NULL,
    updated_by TEXT DEFAULT 'seed' NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (id));
CREATE TABLE case_transfers (
    id TEXT NOT NULL,
    clue_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    status TEXT NOT NULL,
    department TEXT NOT NULL,
    police_department TEXT NOT NULL,
    procuratorate_department TEXT,
    documents TEXT[] DEFAULT '{}' NOT NULL,
    team TEXT[] DEFAULT '{}' NOT NULL,
    case_ref TEXT,
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMP WITH TIME ZONE NOT NULL,
    approval_deadline TIMESTAMP WITH TIME ZONE,
    approved_by TEXT,
    approved_at TIMESTAMP WITH TIME ZONE,
    refusal_reason TEXT,
    handover_deadline TIMESTAMP WITH TIME ZONE,
    handed_over_at TIMESTAMP WITH TIME ZONE,
    decision_deadline TIMESTAMP WITH TIME ZONE,
    decision TEXT,
    decision_reason TEXT,
    decided_at TIMESTAMP WITH TIME ZONE,
    overdue TEXT[] DEFAULT '{}' NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(clue_id) REFERENCES clues (id));
CREATE INDEX case_transfers_clue ON case_transfers (clue_id);
CREATE INDEX case_transfers_open ON case_transfers (status) WHERE status IN ('pending_approval','approved','handed_over');
CREATE TABLE clue_extensions (
    id SERIAL NOT NULL,
    clue_id TEXT NOT NULL,
    department TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMP WITH TIME ZONE NOT NULL,
    workdays INTEGER NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_at TIMESTAMP WITH TIME ZONE,
    note TEXT,
    new_deadline TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    FOREIGN KEY(clue_id) REFERENCES clues (id));
CREATE INDEX clue_extensions_clue ON clue_extensions (clue_id);
CREATE TABLE clue_transitions (
    id SERIAL NOT NULL,
    clue_id TEXT NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    actor TEXT NOT NULL,
    actor_department TEXT,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    details JSONB DEFAULT '{}'::jsonb NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(clue_id) REFERENCES clues (id));
CREATE INDEX clue_transitions_clue ON clue_transitions (clue_id, id);
"""
_TABLES = ("clues", "clue_transitions", "clue_extensions", "routing_rules", "deadline_policies",
           "case_transfers", "replica_entities")


def _rows(name: str) -> list[dict]:
    with files("clues").joinpath("data", name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def upgrade() -> None:
    create_messaging_tables(op)
    run_script(op, SCHEMA)
    rules = sa.table("routing_rules", sa.column("keyword"), sa.column("domain"), sa.column("lead_agency"),
                     sa.column("co_agencies", ARRAY(sa.Text)), sa.column("priority", sa.Integer))
    op.bulk_insert(rules, [
        {"keyword": r["keyword"], "domain": r["domain"], "lead_agency": r["lead_agency"],
         "co_agencies": [a for a in r["co_agencies"].split(";") if a], "priority": int(r["priority"])}
        for r in _rows("routing_rules.csv")
    ])
    policies = sa.table("deadline_policies", sa.column("channel"), sa.column("urgency"),
                        sa.column("workdays", sa.Integer))
    op.bulk_insert(policies, [
        {"channel": r["channel"], "urgency": r["urgency"], "workdays": int(r["workdays"])}
        for r in _rows("deadline_policies.csv")
    ])


def downgrade() -> None:
    for t in reversed(_TABLES):
        op.drop_table(t)
    drop_messaging_tables(op)
