"""A draw's public record kept rendered, as the JSON bytes served (``draw_records``), stored out of line
uncompressed beside the record: the public route streams it in slices, each a read of that slice only, where it
parsed the whole record (a hundred megabytes for a joint draw over a million entities) and serialised it again for
every caller. Draws closed before keep no rendered record: theirs is rendered on the fly, as before.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0013", "0012", None, None


def upgrade() -> None:
    op.create_table(
        "draw_records",
        sa.Column("draw_id", sa.Text(), sa.ForeignKey("draws.id"), primary_key=True),
        sa.Column("rendered", sa.LargeBinary(), nullable=False),
    )
    op.execute("ALTER TABLE draw_records ALTER COLUMN rendered SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("draw_records")
