"""The read model (只读视图): what the dashboard knows, built only from the platform's topics.

Every table can be rebuilt from the topics, while the dashboard runs (``python -m dashboard rebuild``). Rows are
keyed by the publisher's own ids, so a replayed event lands on the row it made before.
"""

from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Float, Index, Integer, MetaData, Table, Text, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from ..domain.clues import TIMED_STATES

metadata = MetaData()
# The clues whose handling deadline runs, with the states as literals: the partial index below and the figures'
# query over it name them alike, so the planner uses the index.
TIMED_CLUE = "state IN (" + ", ".join(f"'{s}'" for s in TIMED_STATES) + ")"
TZ = DateTime(timezone=True)

# registry.entities.v1: the current record of every supervised object (only what the pages show). Not a
# jsp_common.replica table: a read-model row keeps the first record's time (first_seen_at, never overwritten),
# the assignment state and the registry's write time, and the tally triggers below run on every UPDATE, so a
# redelivered version must change nothing (strict version guard) where a replica rewrites it.
entities = Table(
    "entities", metadata,
    Column("uscc", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("division_code", Text, nullable=False),
    Column("city_code", Text),
    Column("status", Text, nullable=False),
    Column("departments", ARRAY(Text), nullable=False, server_default="{}"),
    Column("assignment_state", Text, nullable=False),
    Column("record_version", BigInteger, nullable=False),
    Column("first_seen_at", TZ, nullable=False),   # last_changed_at of the first record received
    Column("last_changed_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),      # when the registry wrote the record
    Index("entities_city", "city_code"),
    Index("entities_first_seen", "first_seen_at"),
    Index("entities_departments", "departments", postgresql_using="gin"),
)

# Entities per city, department and week first seen, kept by triggers on ``entities`` (created in the
# migrations, revisions 0001, 0007 and 0017), so the figures over a million entities are sums over a few thousand
# rows. ``department`` '' is every entity (the office's figures); ``city_code`` '' is an entity with no city. Delta
# rows as ``clue_tally``'s (``tallies.py``). Every entity, closed or not: the weeks' registrations (the trend).
entity_tally = Table(
    "entity_tally", metadata,
    Column("city_code", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("week", Date, nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("delta", Boolean, nullable=False),
    Index("entity_tally_key", "department", "city_code", "week"),
    Index("entity_tally_deltas", "department", postgresql_where=text("delta")),
)

# The entities in operation (存续, status active) per city and department, kept by the same triggers (revision
# 0017): the entities supervised (监管对象). A deregistered or revoked business leaves it.
active_entity_tally = Table(
    "active_entity_tally", metadata,
    Column("city_code", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("delta", Boolean, nullable=False),
    Index("active_entity_tally_key", "department", "city_code"),
    Index("active_entity_tally_deltas", "department", postgresql_where=text("delta")),
)

# dept.*.notifications.v1: dual notifications (双告知) and their acknowledgement (签收).
notifications = Table(
    "notifications", metadata,
    Column("notification_id", Text, primary_key=True),
    Column("department", Text, nullable=False),
    Column("uscc", Text, nullable=False),
    Column("entity_name", Text, nullable=False, server_default=""),
    Column("city_code", Text),
    Column("kind", Text, nullable=False, server_default=""),
    Column("cause", Text, nullable=False, server_default=""),
    Column("issued_at", TZ),
    Column("acknowledge_by", TZ),
    # Counted through a year whose holiday schedule is not published yet; registry.notification.due-changed.v1
    # brings the recomputed time (and the earlier one, kept when it had already passed).
    Column("acknowledge_by_provisional", Boolean, nullable=False, server_default=text("false")),
    Column("previous_acknowledge_by", TZ),
    # When the registry recomputed the time last (the change's changed_at): an older event applied again (a dead
    # letter re-driven) does not put back the time it carried.
    Column("due_changed_at", TZ),
    # A later notice to the department about the entity arrived (its responsibility ended, the entity closed, or it
    # was told anew): a new-responsibility notice is moot since (the registry's superseded_at, by the same rule).
    Column("superseded_at", TZ),
    Column("acknowledged_at", TZ),
    Column("acknowledged_by", Text),
    Column("reminder_count", Integer, nullable=False, server_default="0"),
    Column("last_reminded_at", TZ),
    Index("notifications_pending", "department", "acknowledge_by", postgresql_where=text("acknowledged_at IS NULL")),
    Index("notifications_issued", "issued_at"),
    Index("notifications_uscc", "uscc"),
)

# registry.adjudication.v1: the office's queue (研判定性).
adjudication_cases = Table(
    "adjudication_cases", metadata,
    Column("case_id", Text, primary_key=True),
    Column("uscc", Text, nullable=False),
    Column("name", Text, nullable=False, server_default=""),
    Column("reason", Text, nullable=False, server_default=""),
    Column("candidates", ARRAY(Text), nullable=False, server_default="{}"),
    Column("detail", Text),
    Column("disputed_by", Text),   # the department that disputed its assignment
    Column("requested_at", TZ),
    Column("decided_at", TZ),
    Column("decided_by", Text),
    Column("departments", ARRAY(Text), nullable=False, server_default="{}"),
    Column("withdrawn_at", TZ),    # no longer needed (the entity closed, or the rules now assign it)
    Index("adjudication_open", "requested_at", postgresql_where=text("decided_at IS NULL AND withdrawn_at IS NULL")),
)

# clues.lifecycle.v1: every clue's current state, and every transition (the timeline).
clues = Table(
    "clues", metadata,
    Column("clue_id", Text, primary_key=True),
    Column("channel", Text, nullable=False),
    Column("channel_ref", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("domain", Text),
    Column("division_code", Text),
    Column("city_code", Text),
    Column("uscc", Text),
    Column("lead_department", Text),
    Column("co_departments", ARRAY(Text), nullable=False, server_default="{}"),
    Column("deadline", TZ),
    Column("deadline_provisional", Boolean, nullable=False, server_default=text("false")),  # as for notifications
    Column("previous_deadline", TZ),
    Column("received_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Column("returns", Integer, nullable=False, server_default="0"),      # 退回
    Column("redispatches", Integer, nullable=False, server_default="0"),  # dispatched again after a return
    Index("clues_state", "state"),
    Index("clues_lead", "lead_department", "state"),
    Index("clues_co", "co_departments", postgresql_using="gin"),
    Index("clues_deadline", "deadline"),
    Index("clues_received", "received_at"),
    Index("clues_uscc", "uscc"),
    # The clues whose handling deadline runs: the overdue and due-soon figures read these, not every clue.
    Index("clues_timed_deadline", "deadline", postgresql_where=text(TIMED_CLUE)),
)

# Clues per scope, lead department, city, state and week received, how many of them were returned and how many
# re-dispatched (at least once, as the lists behind the figures hold them: revision 0011), kept by triggers on ``clues``
# (created in the migrations, revisions 0006 and 0011) so the figures do not read every clue. ``scope``
# '' is every clue (the office's figures), else a department the clue concerns (lead or co-operating);
# ``lead_department`` and ``city_code`` '' are none. The triggers add each statement's changes as delta rows
# (``delta``: never updated, so concurrent writers wait on no tally row); ``tallies.fold`` folds them into one row
# per key. A key's figures are the sums of its rows.
clue_tally = Table(
    "clue_tally", metadata,
    Column("scope", Text, nullable=False),
    Column("lead_department", Text, nullable=False),
    Column("city_code", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("week", Date, nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("returns", BigInteger, nullable=False),       # clues returned (at least once: revision 0011)
    Column("redispatches", BigInteger, nullable=False),  # clues re-dispatched (likewise)
    Column("delta", Boolean, nullable=False),
    Index("clue_tally_key", "scope", "lead_department", "city_code", "state", "week"),
    Index("clue_tally_deltas", "scope", postgresql_where=text("delta")),
)

clue_transitions = Table(
    "clue_transitions", metadata,
    Column("event_id", Text, primary_key=True),
    Column("clue_id", Text, nullable=False),
    Column("at", TZ, nullable=False),
    Column("action", Text, nullable=False),
    Column("from_state", Text),
    Column("to_state", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_department", Text),
    Column("lead_department", Text),
    Column("deadline", TZ),
    Column("details", JSONB, nullable=False, server_default="{}"),
    Index("clue_transitions_clue", "clue_id", "at"),
)

# dept.*.clues.v1: chasers (催办) and escalations (督办).
clue_alerts = Table(
    "clue_alerts", metadata,
    Column("event_id", Text, primary_key=True),
    Column("clue_id", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("kind", Text, nullable=False),   # chased | escalated
    Column("state", Text, nullable=False),
    # working days left (chased: negative once past the deadline, as chasers are now) or overdue (escalated)
    Column("workdays", Integer, nullable=False),
    Column("at", TZ, nullable=False),
    Index("clue_alerts_clue", "clue_id"),
    Index("clue_alerts_department", "department", "kind"),
)

# inspection.results.v1: published results of joint random inspections (双随机、一公开).
inspection_results = Table(
    "inspection_results", metadata,
    Column("task_id", Text, primary_key=True),
    Column("uscc", Text, primary_key=True),
    Column("entity_name", Text, nullable=False),
    Column("matter_code", Text, nullable=False),
    Column("lead_department", Text, nullable=False),
    Column("departments", ARRAY(Text), nullable=False),
    Column("inspected_on", Date, nullable=False),
    Column("problems_found", Boolean, nullable=False),
    Column("published_at", TZ, nullable=False),
    Column("items", JSONB, nullable=False),
    Index("inspection_results_published", "published_at"),
    Index("inspection_results_departments", "departments", postgresql_using="gin"),
)

# risk.credit-classes.v1: each entity's credit risk class in force (信用风险分类; none: unrated, counts as B).
credit_classes = Table(
    "credit_classes", metadata,
    Column("uscc", Text, primary_key=True),
    Column("credit_class", Text, nullable=False),
    Column("record_version", Integer, nullable=False),
    Column("corrected_by_office", Boolean, nullable=False, server_default=text("false")),
    Column("changed_at", TZ, nullable=False),
    Index("credit_classes_class", "credit_class"),
)

# risk.alerts.v1: risk alerts (风险预警) and what the departments did about them.
risk_alerts = Table(
    "risk_alerts", metadata,
    Column("alert_id", Text, primary_key=True),
    Column("uscc", Text, nullable=False),
    Column("entity_name", Text),
    Column("city_code", Text),
    Column("level", Text, nullable=False),               # blue | yellow | orange | red
    Column("state", Text, nullable=False),               # open | acknowledged | responded | escalated | closed
    Column("departments", ARRAY(Text), nullable=False, server_default="{}"),
    Column("score", Float, nullable=False, server_default="0"),
    Column("raised_at", TZ),
    Column("respond_by", TZ),
    # counted through a year whose holiday schedule is not published yet; risk.alert.respond-by-changed.v1 brings
    # the recomputed time (and the earlier one, kept when it had already passed)
    Column("respond_by_provisional", Boolean, nullable=False, server_default=text("false")),
    Column("previous_respond_by", TZ),
    Column("respond_by_changed_at", TZ),  # as the notifications' due_changed_at
    Column("acknowledged_at", TZ),
    Column("responded_at", TZ),
    Column("escalated_at", TZ),
    Column("closed_at", TZ),
    Index("risk_alerts_unclosed", "level", postgresql_where=text("closed_at IS NULL")),
    Index("risk_alerts_departments", "departments", postgresql_using="gin"),
    Index("risk_alerts_uscc", "uscc"),
)

# dept.*.inspections.v1: the entities joint inspection tasks were drawn to visit (planned), until their
# results are published (inspection_results); past the task's period without a result: overdue. Results
# recorded there set inspected_on and the publication deadline (publish_by, recounted with the schedule).
inspection_targets = Table(
    "inspection_targets", metadata,
    Column("task_id", Text, primary_key=True),
    Column("uscc", Text, primary_key=True),
    Column("draw_id", Text, nullable=False),
    Column("entity_name", Text, nullable=False, server_default=""),
    Column("city_code", Text),
    Column("matter_code", Text, nullable=False),
    Column("lead_department", Text, nullable=False),
    Column("departments", ARRAY(Text), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("assigned_at", TZ, nullable=False),
    Column("inspected_on", Date),
    Column("publish_by", Date),
    Column("publish_by_provisional", Boolean, nullable=False, server_default=text("false")),
    Column("recorded_at", TZ),
    Index("inspection_targets_period_end", "period_end"),
    Index("inspection_targets_publish_by", "publish_by", postgresql_where=text("publish_by IS NOT NULL")),
    Index("inspection_targets_departments", "departments", postgresql_using="gin"),
    Index("inspection_targets_draw", "draw_id"),
    # the few targets whose entity the read model did not have yet (its city comes with the entity's record)
    Index("inspection_targets_no_city", "uscc", postgresql_where=text("city_code IS NULL")),
)

# inspection.draw.abandoned.v1: draws abandoned (or refused), so a department's part of the task arriving after the
# abandonment (another topic, another consumer) writes no targets.
abandoned_draws = Table(
    "abandoned_draws", metadata,
    Column("draw_id", Text, primary_key=True),
    Column("at", TZ, nullable=False),
)

READ_MODEL = (entities, entity_tally, active_entity_tally, notifications, adjudication_cases, clues, clue_tally,
              clue_transitions, clue_alerts, inspection_results, risk_alerts, inspection_targets, abandoned_draws,
              credit_classes)
