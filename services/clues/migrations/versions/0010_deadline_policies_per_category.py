"""Handling limits per work order category (order type) too: a deadline policy may name the category its clues'
senders give (an inquiry 咨询, a complaint 投诉), and the most specific policy wins. The policies kept so far, the
starter ones and the office's own, become the general ones (category ``*``, every category), so that no clue's
limit changes until the office sets one for a category.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0010", "0009", None, None

PRIMARY_KEY = "deadline_policies_pkey"


def upgrade() -> None:
    op.add_column("deadline_policies", sa.Column("category", sa.Text(), nullable=False,
                                                 server_default=sa.text("'*'")))
    op.drop_constraint(PRIMARY_KEY, "deadline_policies", type_="primary")
    op.create_primary_key(PRIMARY_KEY, "deadline_policies", ["channel", "urgency", "category"])


def downgrade() -> None:
    op.execute("DELETE FROM deadline_policies WHERE category <> '*'")  # only the general ones had a place before
    op.drop_constraint(PRIMARY_KEY, "deadline_policies", type_="primary")
    op.create_primary_key(PRIMARY_KEY, "deadline_policies", ["channel", "urgency"])
    op.drop_column("deadline_policies", "category")
