"""The read model as first released (frozen here: later changes to ``dashboard.adapters.tables`` need a
revision of their own), and the messaging tables (inbox; the outbox, though the dashboard publishes nothing,
because the shared runtime's relay reads it).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from jsp_common.migrations import (create_messaging_tables, drop_messaging_tables, outbox_per_transaction,
                                   run_script)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE adjudication_cases (
    case_id TEXT NOT NULL,
    uscc TEXT NOT NULL,
    name TEXT DEFAULT '' NOT NULL,
    reason TEXT DEFAULT '' NOT NULL,
    candidates TEXT[] DEFAULT '{}' NOT NULL,
    detail TEXT,
    disputed_by TEXT,
    requested_at TIMESTAMP WITH TIME ZONE,
    decided_at TIMESTAMP WITH TIME ZONE,
    decided_by TEXT,
    departments TEXT[] DEFAULT '{}' NOT NULL,
    PRIMARY KEY (case_id)
);
CREATE INDEX adjudication_open ON adjudication_cases (requested_at) WHERE decided_at IS NULL;
CREATE TABLE clue_alerts (
    event_id TEXT NOT NULL,
    clue_id TEXT NOT NULL,
    department TEXT NOT NULL,
    role TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    workdays INTEGER NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (event_id)
);
CREATE INDEX clue_alerts_clue ON clue_alerts (clue_id);
CREATE INDEX clue_alerts_department ON clue_alerts (department, kind);
CREATE TABLE clue_transitions (
    event_id TEXT NOT NULL,
    clue_id TEXT NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_department TEXT,
    lead_department TEXT,
    deadline TIMESTAMP WITH TIME ZONE,
    details JSONB DEFAULT '{}' NOT NULL,
    PRIMARY KEY (event_id)
);
CREATE INDEX clue_transitions_clue ON clue_transitions (clue_id, at);
CREATE TABLE clues (
    clue_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    channel_ref TEXT NOT NULL,
    state TEXT NOT NULL,
    domain TEXT,
    division_code TEXT,
    city_code TEXT,
    uscc TEXT,
    lead_department TEXT,
    co_departments TEXT[] DEFAULT '{}' NOT NULL,
    deadline TIMESTAMP WITH TIME ZONE,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    returns INTEGER DEFAULT '0' NOT NULL,
    redispatches INTEGER DEFAULT '0' NOT NULL,
    PRIMARY KEY (clue_id)
);
CREATE INDEX clues_co ON clues USING gin (co_departments);
CREATE INDEX clues_deadline ON clues (deadline);
CREATE INDEX clues_lead ON clues (lead_department, state);
CREATE INDEX clues_received ON clues (received_at);
CREATE INDEX clues_state ON clues (state);
CREATE INDEX clues_uscc ON clues (uscc);
CREATE TABLE entities (
    uscc TEXT NOT NULL,
    name TEXT NOT NULL,
    division_code TEXT NOT NULL,
    city_code TEXT,
    status TEXT NOT NULL,
    departments TEXT[] DEFAULT '{}' NOT NULL,
    assignment_state TEXT NOT NULL,
    record_version BIGINT NOT NULL,
    first_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_changed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (uscc)
);
CREATE INDEX entities_city ON entities (city_code);
CREATE INDEX entities_departments ON entities USING gin (departments);
CREATE INDEX entities_first_seen ON entities (first_seen_at);
CREATE TABLE entity_tally (
    city_code TEXT NOT NULL,
    department TEXT NOT NULL,
    week DATE NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (city_code, department, week)
);
CREATE TABLE inspection_results (
    task_id TEXT NOT NULL,
    uscc TEXT NOT NULL,
    entity_name TEXT NOT NULL,
    matter_code TEXT NOT NULL,
    lead_department TEXT NOT NULL,
    departments TEXT[] NOT NULL,
    inspected_on DATE NOT NULL,
    problems_found BOOLEAN NOT NULL,
    published_at TIMESTAMP WITH TIME ZONE NOT NULL,
    items JSONB NOT NULL,
    PRIMARY KEY (task_id, uscc)
);
CREATE INDEX inspection_results_departments ON inspection_results USING gin (departments);
CREATE INDEX inspection_results_published ON inspection_results (published_at);
CREATE TABLE notifications (
    notification_id TEXT NOT NULL,
    department TEXT NOT NULL,
    uscc TEXT NOT NULL,
    entity_name TEXT DEFAULT '' NOT NULL,
    city_code TEXT,
    kind TEXT DEFAULT '' NOT NULL,
    cause TEXT DEFAULT '' NOT NULL,
    issued_at TIMESTAMP WITH TIME ZONE,
    acknowledge_by TIMESTAMP WITH TIME ZONE,
    acknowledged_at TIMESTAMP WITH TIME ZONE,
    acknowledged_by TEXT,
    reminder_count INTEGER DEFAULT '0' NOT NULL,
    last_reminded_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (notification_id)
);
CREATE INDEX notifications_issued ON notifications (issued_at);
CREATE INDEX notifications_pending ON notifications (department, acknowledge_by) WHERE acknowledged_at IS NULL;
CREATE INDEX notifications_uscc ON notifications (uscc);
"""

TALLY = (  # each executed on its own: the function body holds semicolons
    """CREATE FUNCTION entities_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO entity_tally (city_code, department, week, n)
        SELECT coalesce(r.city_code, ''), d, date_trunc('week', r.first_seen_at AT TIME ZONE 'Asia/Shanghai')::date,
               count(*)
        FROM new_rows r, unnest(array_append(r.departments, '')) AS d GROUP BY 1, 2, 3
        ON CONFLICT (city_code, department, week) DO UPDATE SET n = entity_tally.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO entity_tally (city_code, department, week, n)
        SELECT coalesce(r.city_code, ''), d, date_trunc('week', r.first_seen_at AT TIME ZONE 'Asia/Shanghai')::date,
               -count(*)
        FROM old_rows r, unnest(array_append(r.departments, '')) AS d GROUP BY 1, 2, 3
        ON CONFLICT (city_code, department, week) DO UPDATE SET n = entity_tally.n + excluded.n;
    ELSE
        INSERT INTO entity_tally (city_code, department, week, n)
        SELECT city, department, week, sum(delta) FROM (
            SELECT coalesce(r.city_code, '') AS city, d AS department,
                   date_trunc('week', r.first_seen_at AT TIME ZONE 'Asia/Shanghai')::date AS week, -1 AS delta
            FROM old_rows r, unnest(array_append(r.departments, '')) AS d
            UNION ALL
            SELECT coalesce(r.city_code, ''), d, date_trunc('week', r.first_seen_at AT TIME ZONE 'Asia/Shanghai')::date, 1
            FROM new_rows r, unnest(array_append(r.departments, '')) AS d
        ) AS changes GROUP BY city, department, week HAVING sum(delta) <> 0
        ON CONFLICT (city_code, department, week) DO UPDATE SET n = entity_tally.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER entities_tally_insert AFTER INSERT ON entities REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entities_tally()""",
    """CREATE TRIGGER entities_tally_update AFTER UPDATE ON entities REFERENCING OLD TABLE AS old_rows
    NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION entities_tally()""",
    """CREATE TRIGGER entities_tally_delete AFTER DELETE ON entities REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entities_tally()""",
)

_TABLES = ("adjudication_cases", "clue_alerts", "clue_transitions", "clues", "entities", "entity_tally",
           "inspection_results", "notifications")


def upgrade() -> None:
    create_messaging_tables(op)
    outbox_per_transaction(op)
    run_script(op, SCHEMA)
    for statement in TALLY:
        op.execute(statement)


def downgrade() -> None:
    for t in _TABLES:
        op.drop_table(t)
    op.execute("DROP FUNCTION entities_tally()")
    drop_messaging_tables(op)
