"""The clues service's own tables (its database only)."""

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, MetaData,
                        PrimaryKeyConstraint, Table, Text, UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from jsp_common import replica
from jsp_common.schedule_feed import counted_schedules_table

metadata = MetaData()

clues = Table(
    "clues", metadata,
    Column("id", Text, primary_key=True),
    Column("channel", Text, nullable=False),
    Column("channel_ref", Text, nullable=False),
    Column("source_event_id", Text),
    Column("content", Text, nullable=False),
    Column("category", Text),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("address", Text),
    Column("division_code", Text),
    Column("business_name", Text),
    Column("uscc", Text),                      # given by the sender or matched
    Column("match_method", Text),              # uscc | name_place | None
    Column("match_confidence", Float),
    Column("domain", Text),
    Column("urgency", Text, nullable=False),
    # Personal information: encrypted at rest; the masked forms are what departments and events see.
    Column("caller_name_enc", LargeBinary),
    Column("caller_phone_enc", LargeBinary),
    Column("caller_name_masked", Text),
    Column("caller_phone_masked", Text),
    Column("state", Text, nullable=False),
    Column("lead_department", Text),
    Column("co_departments", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("routing_note", Text),
    Column("round", Integer, nullable=False, server_default=text("0")),
    Column("arbitrated", Boolean, nullable=False, server_default=text("false")),
    Column("dispatched_at", DateTime(timezone=True)),
    # The return window (退回): ``return_deadline_workdays`` working days after ``return_deadline_from`` (the
    # dispatch); provisional as the handling deadline is, and recomputed with it while the clue is dispatched.
    Column("return_deadline", DateTime(timezone=True)),
    Column("return_deadline_from", DateTime(timezone=True)),
    Column("return_deadline_workdays", Integer),
    Column("return_deadline_provisional", Boolean, nullable=False, server_default=text("false")),
    Column("deadline", DateTime(timezone=True)),
    # The handling deadline is ``deadline_workdays`` working days after ``deadline_from``; provisional when it
    # was counted through a year whose holiday schedule is not published yet (recomputed once it is).
    Column("deadline_from", DateTime(timezone=True)),
    Column("deadline_workdays", Integer),
    Column("deadline_provisional", Boolean, nullable=False, server_default=text("false")),
    Column("chased_at", DateTime(timezone=True)),
    Column("escalated_at", DateTime(timezone=True)),
    Column("duplicate_of", Text, ForeignKey("clues.id")),
    Column("duplicate_similarity", Float),
    Column("finding", Text),
    Column("measures", Text),
    Column("reply_text", Text),
    Column("replied_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("satisfaction", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("channel", "channel_ref", name="clues_channel_ref"),
    Index("clues_lead", "lead_department", "state"),
    Index("clues_co", "co_departments", postgresql_using="gin"),
    Index("clues_state", "state"),
    Index("clues_timed", "deadline", postgresql_where=text(
        "state IN ('dispatched','accepted','verifying','handled') AND escalated_at IS NULL")),
    Index("clues_dup_uscc", "uscc", "received_at"),
    Index("clues_provisional", "received_at", "id", postgresql_where=text("deadline_provisional")),
    Index("clues_return_provisional", "received_at", "id", postgresql_where=text("return_deadline_provisional")),
    Index("clues_dup_division", "division_code", "received_at"),
    Index("clues_duplicate_of", "duplicate_of"),
)

# Every transition and recorded action: who, when, from, to, what. Only ever inserted.
transitions = Table(
    "clue_transitions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("clue_id", Text, ForeignKey("clues.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_department", Text),
    Column("action", Text, nullable=False),
    Column("from_state", Text),
    Column("to_state", Text, nullable=False),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("clue_transitions_clue", "clue_id", "id"),
)

extensions = Table(
    "clue_extensions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("clue_id", Text, ForeignKey("clues.id"), nullable=False),
    Column("department", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("workdays", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),   # pending | approved | refused | withdrawn
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("note", Text),
    Column("new_deadline", DateTime(timezone=True)),
    Index("clue_extensions_clue", "clue_id"),
)

routing_rules = Table(
    "routing_rules", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("keyword", Text, nullable=False),
    Column("domain", Text, nullable=False),
    Column("lead_agency", Text, nullable=False),
    Column("co_agencies", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("updated_by", Text, nullable=False, server_default=text("'seed'")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

deadline_policies = Table(
    "deadline_policies", metadata,
    Column("channel", Text, nullable=False),   # a channel or "*"
    Column("urgency", Text, nullable=False),
    Column("category", Text, nullable=False, server_default=text("'*'")),  # a clue's category (order type) or "*"
    Column("workdays", Integer, nullable=False),
    Column("updated_by", Text, nullable=False, server_default=text("'seed'")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("channel", "urgency", "category"),
)

case_transfers = Table(
    "case_transfers", metadata,
    Column("id", Text, primary_key=True),
    Column("clue_id", Text, ForeignKey("clues.id"), nullable=False),
    Column("direction", Text, nullable=False),     # to_police | from_police
    Column("status", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("police_department", Text, nullable=False),
    Column("procuratorate_department", Text),
    Column("documents", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("team", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("case_ref", Text),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    # The approval's and the police decision's deadlines are counted in working days, each kept as counted
    # (``domain.deadlines.Deadline.columns``: from, working days, provisional) and recomputed while it runs; the
    # handover's is in hours.
    Column("approval_deadline", DateTime(timezone=True)),
    Column("approval_deadline_from", DateTime(timezone=True)),
    Column("approval_deadline_workdays", Integer),
    Column("approval_deadline_provisional", Boolean, nullable=False, server_default=text("false")),
    Column("approved_by", Text),
    Column("approved_at", DateTime(timezone=True)),
    Column("refusal_reason", Text),
    Column("handover_deadline", DateTime(timezone=True)),
    Column("handed_over_at", DateTime(timezone=True)),
    Column("decision_deadline", DateTime(timezone=True)),
    Column("decision_deadline_from", DateTime(timezone=True)),
    Column("decision_deadline_workdays", Integer),
    Column("decision_deadline_provisional", Boolean, nullable=False, server_default=text("false")),
    Column("decision", Text),
    Column("decision_reason", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("overdue", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Index("case_transfers_clue", "clue_id"),
    Index("case_transfers_open", "status", postgresql_where=text(
        "status IN ('pending_approval','approved','handed_over')")),
)

# This service's own replica of the registry's directory (from registry.entities.v1), with the bigrams of each
# name's core for matching a clue's business by name: as they are (to rank candidates) and keyed by the entity's
# city (to find them; adapters/directory.py). First released without the industry class.
entities = replica.entity_table(
    metadata,
    Column("name_grams", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("place_grams", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Index("replica_entities_place_grams", "place_grams", postgresql_using="gin"),
    industry_code=False)

# The holiday schedules the deadlines were last counted with (jsp_common.schedule_feed).
counted_schedules = counted_schedules_table(metadata)
