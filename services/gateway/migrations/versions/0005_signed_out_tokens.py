"""Tokens signed out before they expire (a person's sign-out): refused by every replica until they would have
expired anyway, kept by a digest of the token.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0005", "0004", None, None


def upgrade() -> None:
    op.create_table(
        "signed_out_tokens",
        sa.Column("token_digest", sa.Text(), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("signed_out_tokens_expires_at", "signed_out_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("signed_out_tokens")
