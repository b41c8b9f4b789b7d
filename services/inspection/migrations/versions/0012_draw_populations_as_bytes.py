"""Draw populations kept as the bytes their digest hashes (the newline-joined members in UTF-8), stored out of
line uncompressed: the public route serving one population reads it in slices, each a read of that slice only
(a slice of text in a UTF-8 database is read from the value's start: serving a large population that way took
time growing with the square of its size).

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0012", "0011", None, None


def upgrade() -> None:
    op.alter_column("draw_populations", "members", type_=sa.LargeBinary(),
                    postgresql_using="convert_to(members, 'UTF8')")
    op.execute("ALTER TABLE draw_populations ALTER COLUMN members SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.alter_column("draw_populations", "members", type_=sa.Text(), postgresql_using="convert_from(members, 'UTF8')")
    op.execute("ALTER TABLE draw_populations ALTER COLUMN members SET STORAGE EXTERNAL")
