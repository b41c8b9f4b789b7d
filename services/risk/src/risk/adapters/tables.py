"""The risk service's own tables (its database only)."""

from sqlalchemy import (Boolean, Column, Date, DateTime, Float, Index, Integer, MetaData, PrimaryKeyConstraint,
                        Table, Text, UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT, JSONB

from jsp_common import replica
from jsp_common.schedule_feed import counted_schedules_table

metadata = MetaData()

# This service's replica of the registry's directory (registry.entities.v1): names, places, departments.
entities = replica.entity_table(metadata)

# Versions of the risk model (indicators, levels, plans, metrics, credit rules); the highest is in force.
model_versions = Table(
    "model_versions", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("document", JSONB, nullable=False),
    Column("note", Text, nullable=False, server_default=text("''")),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Counted facts about entities, one per source fact (a clue's verification, an inspection item, a device window).
observations = Table(
    "observations", metadata,
    Column("id", BIGINT, primary_key=True, autoincrement=True),
    Column("uscc", Text, nullable=False),
    Column("indicator", Text, nullable=False),
    Column("ref", Text, nullable=False),        # the source fact, so a replayed event counts once
    Column("at", DateTime(timezone=True), nullable=False),
    Column("amount", Float, nullable=False, server_default=text("1")),
    UniqueConstraint("indicator", "ref", name="observations_ref"),
    Index("observations_entity", "uscc", "at"),
)

# Listings in the abnormal-operation directory (经营异常名录) and their removals, by the bureau's listing id: the entity
# each belongs to (a listing or removal naming another entity is refused), when listed (null: its removal came first)
# and when removed (a listing removed before it arrived is not counted).
abnormal_listings = Table(
    "abnormal_listings", metadata,
    Column("listing_id", Text, primary_key=True),
    Column("uscc", Text, nullable=False),
    Column("listed_on", Date),
    Column("removed_on", Date),
)

# Each entity's current standing: score, level, what it is made of, credit class and its inputs.
standings = Table(
    "standings", metadata,
    Column("uscc", Text, primary_key=True),
    Column("score", Float, nullable=False, server_default=text("0")),
    Column("level", Text),
    Column("counts", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("contributions", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("model_version", Integer, nullable=False, server_default=text("0")),
    Column("departments", ARRAY(Text), nullable=False, server_default=text("'{}'")),  # named by events
    Column("scored_at", DateTime(timezone=True)),
    Column("computed_class", Text),
    Column("class_reasons", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("credit_class", Text),               # in force: computed, or the office's correction
    Column("class_version", Integer, nullable=False, server_default=text("0")),
    Column("corrected_class", Text),
    Column("correction_reason", Text),
    Column("corrected_by", Text),
    Column("corrected_at", DateTime(timezone=True)),
    Column("class_changed_at", DateTime(timezone=True)),
    # the level whose alert the cool-down held back, and when the cool-down ends (then it is raised if it holds)
    Column("alert_held_level", Text),
    Column("alert_held_until", DateTime(timezone=True)),
    Index("standings_level", "level"),
    Index("standings_alert_held", "alert_held_until", postgresql_where=text("alert_held_until IS NOT NULL")),
)

# Every class an entity had, with its inputs (score, counts, rules, model version) or the office's reason.
class_history = Table(
    "class_history", metadata,
    Column("uscc", Text, nullable=False),
    Column("class_version", Integer, nullable=False),
    Column("credit_class", Text, nullable=False),
    Column("previous_class", Text),
    Column("corrected_by_office", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("inputs", JSONB, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("uscc", "class_version"),
)

alerts = Table(
    "alerts", metadata,
    Column("id", Text, primary_key=True),
    Column("uscc", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("previous_level", Text),
    Column("state", Text, nullable=False),      # open | acknowledged | responded | closed
    Column("score", Float, nullable=False),      # the latest, as the entity is re-scored at the same level
    Column("raised_score", Float, nullable=False),  # when raised: what the cool-down compares a new score with
    Column("model_version", Integer, nullable=False),
    Column("departments", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("contributions", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("actions", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("escalate", Boolean, nullable=False, server_default=text("false")),
    Column("respond_by", DateTime(timezone=True)),
    # Counted in working days (the plan's number, kept to count again): provisional when counted through a year
    # whose holiday schedule is not published yet, recomputed once it is.
    Column("respond_within_workdays", Integer),
    Column("respond_by_provisional", Boolean, nullable=False, server_default=text("false")),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("responded_at", DateTime(timezone=True)),
    Column("measures", Text),
    Column("escalated_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("close_reason", Text),
    Index("alerts_open", "uscc", unique=True, postgresql_where=text("state <> 'closed'")),
    Index("alerts_entity_level", "uscc", "level", "raised_at"),
    Index("alerts_departments", "departments", postgresql_using="gin"),
    Index("alerts_due", "respond_by", postgresql_where=text(
        "escalate AND escalated_at IS NULL AND state IN ('open', 'acknowledged')")),
    Index("alerts_respond_by_provisional", "raised_at", "id", postgresql_where=text("respond_by_provisional")),
)

# Who did what to an alert (acknowledged, responded, escalated, closed). Only ever inserted.
alert_history = Table(
    "alert_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("department", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("alert_history_alert", "alert_id", "id"),
)

# Monitoring devices registered to entities.
devices = Table(
    "devices", metadata,
    Column("device_id", Text, primary_key=True),
    Column("uscc", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("registered_by", Text, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("devices_entity", "uscc"),
)

# Each device's open window (counters only), written once per poll with the partition's offset below.
device_windows = Table(
    "device_windows", metadata,
    Column("device_id", Text, primary_key=True),
    Column("start", DateTime(timezone=True), nullable=False),
    Column("readings", Integer, nullable=False),
    Column("breaches", Integer, nullable=False),
    Column("worst", Float),
    Column("last_seen", DateTime(timezone=True)),
    Column("last_clue_at", DateTime(timezone=True)),
    Column("silent_since", DateTime(timezone=True)),
    Column("late", Integer, nullable=False, server_default=text("0")),
    # the readings the window counted, by a digest of their event ids: a copy of one (a resend) counts once
    Column("seen", ARRAY(BIGINT), nullable=False, server_default=text("'{}'")),
    Column("due_at", DateTime(timezone=True)),     # when the window ends (null while it has no reading)
    Column("silent_at", DateTime(timezone=True)),  # when the device counts as silent without a message
    Column("partition", Integer),                  # the readings partition its messages come on
    Index("device_windows_due", "due_at"),
    Index("device_windows_silent", "silent_at", postgresql_where=text("silent_since IS NULL")),
)

# The last offset of each partition applied to device_windows, in the same transaction: a redelivered
# reading at or below it is skipped (the readings group keeps no inbox row per reading).
stream_offsets = Table(
    "stream_offsets", metadata,
    Column("consumer_group", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BIGINT, nullable=False),
    Column("watermark", DateTime(timezone=True)),  # the latest measured_at applied: event time on this partition
    PrimaryKeyConstraint("consumer_group", "topic", "partition"),
)

# The daily moment each periodic daily job last ran for (usecases/ageing.py): run once a day across replicas.
job_runs = Table(
    "job_runs", metadata,
    Column("job", Text, primary_key=True),
    Column("ran_for", DateTime(timezone=True), nullable=False),
    Column("ran_at", DateTime(timezone=True), nullable=False),
)

# The holiday schedules the deadlines were last counted with (jsp_common.schedule_feed).
counted_schedules = counted_schedules_table(metadata)
