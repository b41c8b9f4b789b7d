"""The inspection service's own tables (its database only)."""

from sqlalchemy import (Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, MetaData,
                        PrimaryKeyConstraint, Table, Text, UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from jsp_common import replica
from jsp_common.schedule_feed import counted_schedules_table

metadata = MetaData()

# The object directory: this service's replica of the registry's (registry.entities.v1), plus the domains.
entities = replica.entity_table(
    metadata,
    Column("domains", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Index("replica_entities_industry", "industry_code"),
)

# Each entity's credit class from the risk service (risk.credit-classes.v1); none yet: class B.
credit_classes = Table(
    "credit_classes", metadata,
    Column("uscc", Text, primary_key=True),
    Column("credit_class", Text, nullable=False),
    Column("record_version", Integer, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# The key matters list: one row per version of a matter; a version is never rewritten.
matter_batches = Table(
    "matter_batches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("division_code", Text, nullable=False),       # 410000: the province list; else a city's
    Column("number", Integer, nullable=False),           # 1, 2, ... per list
    Column("title", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("published_by", Text, nullable=False),
    UniqueConstraint("division_code", "number", name="matter_batches_number"),
)

matters = Table(
    "matters", metadata,
    Column("code", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("domain", Text, nullable=False),
    Column("division_code", Text, nullable=False),
    Column("kind", Text, nullable=False),                # key | general
    Column("lead_department", Text, nullable=False),
    Column("cooperating_departments", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("legal_basis", Text, nullable=False),
    Column("items", JSONB, nullable=False),              # [{code, department, title}]
    Column("batch_id", Integer, ForeignKey("matter_batches.id"), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("promoted_from", Text),                       # the city matter a province matter came from
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", Text, nullable=False),
    PrimaryKeyConstraint("code", "version"),
    Index("matters_division", "division_code"),
)

# Per matter: the work plan filed with the office and the public service manual; every filing kept.
matter_documents = Table(
    "matter_documents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("matter_code", Text, nullable=False),
    Column("kind", Text, nullable=False),                # work_plan | manual
    Column("body", JSONB, nullable=False),
    Column("filed_by", Text, nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Index("matter_documents_current", "matter_code", "kind", "id"),
)

# The inspector directory (执法检查人员名录), per department.
inspectors = Table(
    "inspectors", metadata,
    Column("id", Text, primary_key=True),
    Column("department", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("certificate_no", Text, nullable=False),
    Column("certificate_valid_until", Date),
    Column("fields", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("division_code", Text),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("conflicts", ARRAY(Text), nullable=False, server_default=text("'{}'")),  # USCCs (回避)
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("department", "certificate_no", name="inspectors_certificate"),
)

# A department's sampling plan for a matter and a period.
plans = Table(
    "plans", metadata,
    Column("id", Text, primary_key=True),
    Column("department", Text, nullable=False),
    Column("matter_code", Text, nullable=False),
    Column("matter_version", Integer, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("frequency", Integer, nullable=False),        # times a year
    Column("filter", JSONB, nullable=False),
    Column("ratios", JSONB, nullable=False),             # credit class -> decimal text
    Column("items", ARRAY(Text), nullable=False),
    Column("population_at_creation", Integer, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("plans_department", "department"),
)

# A joint task: the lead department merges the plans of one matter and period (汇总取重).
tasks = Table(
    "tasks", metadata,
    Column("id", Text, primary_key=True),
    Column("matter_code", Text, nullable=False),
    Column("matter_version", Integer, nullable=False),
    Column("lead_department", Text, nullable=False),
    Column("departments", ARRAY(Text), nullable=False),
    Column("plan_ids", ARRAY(Text), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("tasks_departments", "departments", postgresql_using="gin"),
)

# Every draw, kept or not: announced (seed hash published) -> performed | refused | abandoned.
draws = Table(
    "draws", metadata,
    Column("id", Text, primary_key=True),
    Column("task_id", Text, ForeignKey("tasks.id"), nullable=False),
    Column("seed", Text, nullable=False),                # revealed once the draw is performed or closed
    Column("seed_hash", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("record", JSONB),                             # the full published record of a performed draw
    Column("announced_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("actor", Text, nullable=False),
    Index("draws_task", "task_id"),
    Index("draws_one_live_per_task", "task_id", unique=True,
          postgresql_where=text("status IN ('announced', 'performed')")),
)

# One row per entity of a performed draw: one visit by one joint team.
targets = Table(
    "targets", metadata,
    Column("task_id", Text, ForeignKey("tasks.id"), nullable=False),
    Column("uscc", Text, nullable=False),
    Column("draw_id", Text, ForeignKey("draws.id"), nullable=False),
    Column("entity_name", Text, nullable=False),
    Column("address", Text),
    Column("parts", JSONB, nullable=False),              # [{department, items}]
    Column("departments", ARRAY(Text), nullable=False),
    Column("inspectors", ARRAY(Text), nullable=False),
    Column("year", Integer, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("inspected_on", Date),
    Column("due_on", Date),                              # publication deadline (working days)
    Column("due_workdays", Integer),                     # ... counted with this many (counted again with them)
    # Counted through a year whose holiday schedule is not published yet: recomputed once it is.
    Column("due_provisional", Boolean, nullable=False, server_default=text("false")),
    Column("recorded_at", DateTime(timezone=True)),
    Column("published_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("task_id", "uscc"),
    Index("targets_entity_year", "uscc", "year"),
    Index("targets_inspectors", "inspectors", postgresql_using="gin"),
    Index("targets_unpublished", "due_on", postgresql_where=text("published_at IS NULL AND due_on IS NOT NULL")),
    Index("targets_published", "published_at"),
    Index("targets_due_provisional", "inspected_on", postgresql_where=text("due_provisional")),
)

# Results per entity and item; an accepted result counts for the other departments on the same items.
results = Table(
    "results", metadata,
    Column("task_id", Text, nullable=False),
    Column("uscc", Text, nullable=False),
    Column("item_code", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("note", Text, nullable=False, server_default=text("''")),
    Column("inspected_on", Date, nullable=False),
    Column("recorded_by", Text, nullable=False),
    PrimaryKeyConstraint("task_id", "uscc", "item_code"),
    Index("results_entity_item", "uscc", "item_code", "inspected_on"),
)

# The population snapshot of a performed (or refused) draw: each stratum's members, sorted in byte order and
# joined by a newline, in UTF-8: the bytes whose SHA-256 is the stratum's digest (written by the database while it
# ranks them: a million members never pass through the service). The draw's record names the population
# (``population`` of a stratum); the public route of that population serves these bytes, read in slices.
draw_populations = Table(
    "draw_populations", metadata,
    Column("draw_id", Text, ForeignKey("draws.id"), nullable=False),
    Column("population", Integer, nullable=False),       # 0, 1, ...: the task's distinct plan filters
    Column("credit_class", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("members", LargeBinary, nullable=False),    # stored out of line uncompressed: read in slices
    PrimaryKeyConstraint("draw_id", "population", "credit_class"),
)

# A closed draw's public record rendered once, as the JSON bytes served (its ``record``): stored out of line
# uncompressed, streamed in slices. Draws closed before it was kept have none (theirs is rendered when asked).
draw_records = Table(
    "draw_records", metadata,
    Column("draw_id", Text, ForeignKey("draws.id"), primary_key=True),
    Column("rendered", LargeBinary, nullable=False),
)

# Targeted inspections a risk alert's response plan asked for (risk.inspection-requests.v1, 定向检查): the
# must-inspect list. Each department asked answers for its part (inspection_request_departments).
inspection_requests = Table(
    "inspection_requests", metadata,
    Column("request_id", Text, primary_key=True),
    Column("alert_id", Text, nullable=False),
    Column("uscc", Text, nullable=False),
    Column("entity_name", Text),
    Column("level", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("departments", ARRAY(Text), nullable=False),
    Column("reason", Text, nullable=False),
    Column("respond_by", DateTime(timezone=True)),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Index("inspection_requests_uscc", "uscc"),
    Index("inspection_requests_departments", "departments", postgresql_using="gin"),
)

# A request's part for one department asked: the next joint draw in which that department has a plan
# covering the entity takes it in (the entity a target with the department's items, outside the random
# sample, on the draw's record); a published result of a visit where that department inspected covers it.
inspection_request_departments = Table(
    "inspection_request_departments", metadata,
    Column("request_id", Text, ForeignKey("inspection_requests.request_id"), nullable=False),
    Column("department", Text, nullable=False),
    Column("task_id", Text),                             # the joint task whose draw took this part in
    Column("covered_at", DateTime(timezone=True)),       # a result of the department's was published since
    PrimaryKeyConstraint("request_id", "department"),
    Index("inspection_request_departments_open", "department",
          postgresql_where=text("covered_at IS NULL AND task_id IS NULL")),
    Index("inspection_request_departments_task", "task_id", postgresql_where=text("covered_at IS NULL")),
)

# The holiday schedules the deadlines were last counted with (jsp_common.schedule_feed).
counted_schedules = counted_schedules_table(metadata)
