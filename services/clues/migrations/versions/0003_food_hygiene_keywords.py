"""Starter routing rules for kitchen hygiene complaints (后厨, 卫生条件, 腹泻 → market regulation), added to
databases seeded before them. A keyword the database already has (the office may have changed or disabled
it) is left as it is.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision, down_revision, branch_labels, depends_on = "0003", "0002", None, None


def upgrade() -> None:
    op.execute(
        "INSERT INTO routing_rules (keyword, domain, lead_agency, co_agencies, priority) "
        "SELECT v.keyword, v.domain, v.lead_agency, v.co_agencies, v.priority FROM (VALUES "
        "('腹泻', 'food', 'samr', ARRAY['nhc'], 3), ('后厨', 'food', 'samr', ARRAY[]::text[], 2), "
        "('卫生条件', 'food', 'samr', ARRAY[]::text[], 1)) AS v(keyword, domain, lead_agency, co_agencies, priority) "
        "WHERE NOT EXISTS (SELECT FROM routing_rules r WHERE r.keyword = v.keyword)")


def downgrade() -> None:
    """Rules are data the office owns from here on: they stay."""
