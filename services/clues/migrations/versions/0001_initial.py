"""Clues, transitions, extensions, routing rules, deadline policies, case transfers, registry replica;
the starter routing rules and deadline policies.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import csv
from importlib.resources import files

from alembic import op

from jsp_common.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ("clues", "clue_transitions", "clue_extensions", "routing_rules", "deadline_policies",
           "case_transfers", "replica_entities")


def _rows(name: str) -> list[dict]:
    with files("clues").joinpath("data", name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def upgrade() -> None:
    # The first revision creates the schema as first released (later revisions must be explicit).
    from clues.adapters.tables import metadata

    create_messaging_tables(op)
    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[t] for t in _TABLES], checkfirst=True)
    rules = metadata.tables["routing_rules"]
    op.bulk_insert(rules, [
        {"keyword": r["keyword"], "domain": r["domain"], "lead_agency": r["lead_agency"],
         "co_agencies": [a for a in r["co_agencies"].split(";") if a], "priority": int(r["priority"])}
        for r in _rows("routing_rules.csv")
    ])
    op.bulk_insert(metadata.tables["deadline_policies"], [
        {"channel": r["channel"], "urgency": r["urgency"], "workdays": int(r["workdays"])}
        for r in _rows("deadline_policies.csv")
    ])


def downgrade() -> None:
    for t in reversed(_TABLES):
        op.drop_table(t)
    drop_messaging_tables(op)
