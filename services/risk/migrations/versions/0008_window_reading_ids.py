"""Device windows: the readings each open window counted, by a digest of their event ids, so that a reading sent
again under its id (a platform's resend) counts once. Windows open before start with none.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision, down_revision, branch_labels, depends_on = "0008", "0007", None, None


def upgrade() -> None:
    op.add_column("device_windows", sa.Column("seen", ARRAY(sa.BigInteger()), nullable=False,
                                              server_default=sa.text("'{}'")))


def downgrade() -> None:
    op.drop_column("device_windows", "seen")
