"""Linked duplicates given their first clue's departments and domain: until now they kept the ones their first
clue had when they were linked, and a department the office had taken the first clue from still saw them while the
one handling it did not. From here on the dispatch takes them along (``usecases/dispatch``).

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision, down_revision, branch_labels, depends_on = "0007", "0006", None, None


def upgrade() -> None:
    op.execute(
        "UPDATE clues d SET lead_department = f.lead_department, co_departments = f.co_departments, "
        "domain = f.domain, updated_at = now() FROM clues f "
        "WHERE d.duplicate_of = f.id AND d.state = 'linked' AND (d.lead_department, d.co_departments, d.domain) "
        "IS DISTINCT FROM (f.lead_department, f.co_departments, f.domain)")


def downgrade() -> None:
    """The departments the duplicates were linked under are not kept: they stay with their first clues'."""
