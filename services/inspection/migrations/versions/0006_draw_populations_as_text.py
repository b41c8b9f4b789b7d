"""Draw populations kept as the text their digest hashes: each stratum's members sorted in byte order and
joined by a newline (one value the database builds, hashes and stores at once), with the stratum's size;
stored out of line uncompressed (a million USCCs compress little, and slowly).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision, down_revision, branch_labels, depends_on = "0006", "0005", None, None


def upgrade() -> None:
    op.add_column("draw_populations", sa.Column("size", sa.Integer(), nullable=True))
    op.execute("UPDATE draw_populations SET size = cardinality(members)")
    op.alter_column("draw_populations", "size", nullable=False)
    op.alter_column("draw_populations", "members", type_=sa.Text(), postgresql_using="array_to_string(members, E'\\n')")
    op.execute("ALTER TABLE draw_populations ALTER COLUMN members SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.alter_column("draw_populations", "members", type_=ARRAY(sa.Text()),
                    postgresql_using="string_to_array(members, E'\\n')")
    op.drop_column("draw_populations", "size")
