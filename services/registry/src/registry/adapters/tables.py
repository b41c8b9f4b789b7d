"""The registry's own tables (its database only; other services keep replicas from registry.entities.v1)."""

from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Index, Integer, MetaData, Table, Text, false,
                        func, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from jsp_common.schedule_feed import counted_schedules_table

metadata = MetaData()
TextArray = ARRAY(Text)
EMPTY_ARRAY = text("'{}'::text[]")

# The current record of every supervised object.
entities = Table(
    "entities", metadata,
    Column("uscc", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("entity_type", Text, nullable=False),
    Column("legal_representative", Text),
    Column("address", Text, nullable=False),
    Column("division_code", Text, nullable=False),
    Column("city_code", Text),
    Column("industry_code", Text, nullable=False),
    Column("business_scope", Text, nullable=False, server_default=""),
    Column("licences", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("status", Text, nullable=False),
    Column("established_on", Date, nullable=False),
    Column("approved_on", Date),
    Column("closed_on", Date),
    Column("registration_authority", Text),
    Column("departments", TextArray, nullable=False, server_default=EMPTY_ARRAY),
    Column("domains", TextArray, nullable=False, server_default=EMPTY_ARRAY),
    Column("matched_rules", TextArray, nullable=False, server_default=EMPTY_ARRAY),
    Column("assignment_state", Text, nullable=False),       # assigned | adjudication
    Column("assignment_source", Text, nullable=False),      # rules | office | import
    Column("rule_version", Integer),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("published_version", Integer, nullable=False, server_default="0"),
    Column("last_changed_at", DateTime(timezone=True), nullable=False),
    # The bureau events the particulars and the status come from (NULL: last_changed_at, until the entity's next
    # event writes both out; see domain.directory).
    Column("stated_at", DateTime(timezone=True)),
    Column("status_changed_at", DateTime(timezone=True)),
    Column("last_event_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("entities_division", "division_code"),
    Index("entities_city", "city_code"),
    Index("entities_industry", "industry_code"),
    Index("entities_status", "status"),
    Index("entities_departments", "departments", postgresql_using="gin"),
    # name search: names holding every two-character piece of the query (migration 0005's name_bigrams)
    Index("entities_name_bigrams", text("name_bigrams(name)"), postgresql_using="gin"),
    Index("entities_unpublished", "uscc", postgresql_where=text("published_version < version")),
)

# Every change event received for an entity, applied or not (an older change is kept here only).
entity_history = Table(
    "entity_history", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("uscc", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("sender", Text),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("outcome", Text, nullable=False),  # applied | superseded
    Column("data", JSONB, nullable=False),
    Index("entity_history_uscc", "uscc", "occurred_at"),
)

# Dual notifications (双告知), one per department and cause.
notifications = Table(
    "notifications", metadata,
    Column("id", Text, primary_key=True),
    Column("uscc", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("cause", Text, nullable=False),
    Column("matched_rules", TextArray, nullable=False, server_default=EMPTY_ARRAY),
    Column("domains", TextArray, nullable=False, server_default=EMPTY_ARRAY),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("acknowledge_by", DateTime(timezone=True), nullable=False),
    # The working days it was counted with (the ack_workdays setting when issued), to count it again with them.
    Column("acknowledge_within_workdays", Integer),  # None: issued before they were kept (the setting counts)
    # Counted through a year whose holiday schedule is not published yet: recomputed once it is.
    Column("acknowledge_by_provisional", Boolean, nullable=False, server_default=false()),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", Text),
    Column("overdue_since", DateTime(timezone=True)),
    Column("reminder_count", Integer, nullable=False, server_default="0"),
    Column("last_reminded_at", DateTime(timezone=True)),
    Column("next_reminder_at", DateTime(timezone=True)),  # acknowledge_by, then after each reminder
    # A later notification to the department about the entity was issued (of a new-responsibility one only).
    Column("superseded_at", DateTime(timezone=True)),
    Index("notifications_department", "department", "issued_at"),
    Index("notifications_uscc", "uscc"),
    Index("notifications_reminder_due", "next_reminder_at", postgresql_where=text("acknowledged_at IS NULL")),
    Index("notifications_provisional", "issued_at", postgresql_where=text("acknowledge_by_provisional")),
)

# The office's adjudication queue (研判定性).
adjudication_cases = Table(
    "adjudication_cases", metadata,
    Column("id", Text, primary_key=True),
    Column("uscc", Text, nullable=False),
    Column("reason", Text, nullable=False),        # no_rule_matched | disputed
    Column("status", Text, nullable=False),        # open | decided | withdrawn
    Column("candidate_departments", TextArray, nullable=False, server_default=EMPTY_ARRAY),
    Column("detail", Text),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("opened_by", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", Text),
    Column("departments", TextArray),
    Column("note", Text),
    # The status last published on registry.adjudication.v1 (NULL: not even its request yet). The bulk import
    # opens and withdraws cases set-wise without their events: the replicate job publishes them afterwards.
    Column("announced", Text),
    Index("adjudication_open_per_entity", "uscc", unique=True, postgresql_where=text("status = 'open'")),
    Index("adjudication_status", "status", "opened_at"),
    Index("adjudication_unannounced", "id", postgresql_where=text("announced IS DISTINCT FROM status")),
)

# Every decision about who is responsible, with who and when (append-only).
decisions = Table(
    "decisions", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("uscc", Text),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("decisions_uscc", "uscc", "at"),
)

# Versioned responsibility rule sets; the highest version is in force.
rule_sets = Table(
    "rule_sets", metadata,
    Column("version", Integer, primary_key=True),
    Column("rules", JSONB, nullable=False),
    Column("note", Text),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reassess", Text, nullable=False, server_default="none"),  # none | pending | done
)

# The holiday schedules the deadlines were last counted with (jsp_common.schedule_feed).
counted_schedules = counted_schedules_table(metadata)
