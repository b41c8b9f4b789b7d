"""Risk models, observations, standings and credit classes (with history), alerts (with history), devices,
their windows and the readings stream's offsets, the registry replica; the starter model as version 1.

The schema as first released, frozen here: later changes to ``risk.adapters.tables`` need a revision of
their own (tests/migrations checks the chain against the tables the code declares). Likewise the starter
model (``risk/data/starter_model.json``) is the version first released.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import json
from importlib.resources import files

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from jsp_common import replica
from jsp_common.migrations import create_messaging_tables, drop_messaging_tables, outbox_per_transaction, run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE alert_history (
	id SERIAL NOT NULL,
	alert_id TEXT NOT NULL,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	action TEXT NOT NULL,
	actor TEXT NOT NULL,
	department TEXT,
	details JSONB DEFAULT '{}'::jsonb NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX alert_history_alert ON alert_history (alert_id, id);

CREATE TABLE alerts (
	id TEXT NOT NULL,
	uscc TEXT NOT NULL,
	level TEXT NOT NULL,
	previous_level TEXT,
	state TEXT NOT NULL,
	score FLOAT NOT NULL,
	model_version INTEGER NOT NULL,
	departments TEXT[] DEFAULT '{}' NOT NULL,
	contributions JSONB DEFAULT '[]'::jsonb NOT NULL,
	actions TEXT[] DEFAULT '{}' NOT NULL,
	escalate BOOLEAN DEFAULT false NOT NULL,
	respond_by TIMESTAMP WITH TIME ZONE,
	raised_at TIMESTAMP WITH TIME ZONE NOT NULL,
	acknowledged_at TIMESTAMP WITH TIME ZONE,
	responded_at TIMESTAMP WITH TIME ZONE,
	measures TEXT,
	escalated_at TIMESTAMP WITH TIME ZONE,
	closed_at TIMESTAMP WITH TIME ZONE,
	close_reason TEXT,
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX alerts_open ON alerts (uscc) WHERE state <> 'closed';

CREATE INDEX alerts_due ON alerts (respond_by) WHERE escalate AND escalated_at IS NULL AND state IN ('open', 'acknowledged');

CREATE INDEX alerts_departments ON alerts USING gin (departments);

CREATE INDEX alerts_entity_level ON alerts (uscc, level, raised_at);

CREATE TABLE class_history (
	uscc TEXT NOT NULL,
	class_version INTEGER NOT NULL,
	credit_class TEXT NOT NULL,
	previous_class TEXT,
	corrected_by_office BOOLEAN NOT NULL,
	reason TEXT NOT NULL,
	inputs JSONB NOT NULL,
	actor TEXT NOT NULL,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (uscc, class_version)
);

CREATE TABLE device_windows (
	device_id TEXT NOT NULL,
	start TIMESTAMP WITH TIME ZONE NOT NULL,
	readings INTEGER NOT NULL,
	breaches INTEGER NOT NULL,
	worst FLOAT,
	last_seen TIMESTAMP WITH TIME ZONE,
	last_clue_at TIMESTAMP WITH TIME ZONE,
	silent_since TIMESTAMP WITH TIME ZONE,
	late INTEGER DEFAULT 0 NOT NULL,
	due_at TIMESTAMP WITH TIME ZONE,
	silent_at TIMESTAMP WITH TIME ZONE,
	partition INTEGER,
	PRIMARY KEY (device_id)
);

CREATE INDEX device_windows_due ON device_windows (due_at);

CREATE INDEX device_windows_silent ON device_windows (silent_at) WHERE silent_since IS NULL;

CREATE TABLE devices (
	device_id TEXT NOT NULL,
	uscc TEXT NOT NULL,
	metric TEXT NOT NULL,
	registered_by TEXT NOT NULL,
	registered_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	PRIMARY KEY (device_id)
);

CREATE INDEX devices_entity ON devices (uscc);

CREATE TABLE model_versions (
	version INTEGER NOT NULL,
	document JSONB NOT NULL,
	note TEXT DEFAULT '' NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	PRIMARY KEY (version)
);

CREATE TABLE observations (
	id BIGSERIAL NOT NULL,
	uscc TEXT NOT NULL,
	indicator TEXT NOT NULL,
	ref TEXT NOT NULL,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	amount FLOAT DEFAULT 1 NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT observations_ref UNIQUE (indicator, ref)
);

CREATE INDEX observations_entity ON observations (uscc, at);

CREATE TABLE standings (
	uscc TEXT NOT NULL,
	score FLOAT DEFAULT 0 NOT NULL,
	level TEXT,
	counts JSONB DEFAULT '{}'::jsonb NOT NULL,
	contributions JSONB DEFAULT '[]'::jsonb NOT NULL,
	model_version INTEGER DEFAULT 0 NOT NULL,
	departments TEXT[] DEFAULT '{}' NOT NULL,
	scored_at TIMESTAMP WITH TIME ZONE,
	computed_class TEXT,
	class_reasons JSONB DEFAULT '[]'::jsonb NOT NULL,
	credit_class TEXT,
	class_version INTEGER DEFAULT 0 NOT NULL,
	corrected_class TEXT,
	correction_reason TEXT,
	corrected_by TEXT,
	corrected_at TIMESTAMP WITH TIME ZONE,
	class_changed_at TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (uscc)
);

CREATE INDEX standings_level ON standings (level);

CREATE TABLE stream_offsets (
	consumer_group TEXT NOT NULL,
	topic TEXT NOT NULL,
	partition INTEGER NOT NULL,
	"offset" BIGINT NOT NULL,
	watermark TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (consumer_group, topic, partition)
);
"""

TABLES = ("alert_history", "alerts", "class_history", "device_windows", "devices", "model_versions", "observations",
          "standings", "stream_offsets", "replica_entities")


def upgrade() -> None:
    run_script(op, SCHEMA)
    replica.create_entity_table(op)
    create_messaging_tables(op)
    outbox_per_transaction(op)
    starter = json.loads(files("risk").joinpath("data/starter_model.json").read_text(encoding="utf-8"))
    versions = sa.table("model_versions", sa.column("version", sa.Integer), sa.column("document", JSONB),
                        sa.column("note", sa.Text), sa.column("created_by", sa.Text))
    op.bulk_insert(versions, [{"version": 1, "document": starter, "note": "starter model", "created_by": "seed"}])


def downgrade() -> None:
    for t in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {t}")
    drop_messaging_tables(op)
