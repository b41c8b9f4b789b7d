"""Listings in the abnormal-operation directory and their removals, by listing id: the entity each belongs to (a
listing or removal naming another entity is refused), when listed and when removed (a removal that comes before its
listing is kept, and the listing is then not counted). Filled from the listings counted so far (their observations
under an indicator of the abnormal_operation_listed source, in any model version).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0009", "0008", None, None


def upgrade() -> None:
    op.create_table(
        "abnormal_listings",
        sa.Column("listing_id", sa.Text(), primary_key=True),
        sa.Column("uscc", sa.Text(), nullable=False),
        sa.Column("listed_on", sa.Date()),
        sa.Column("removed_on", sa.Date()),
    )
    op.execute("""
        INSERT INTO abnormal_listings (listing_id, uscc, listed_on)
        SELECT DISTINCT ON (o.ref) substr(o.ref, length('abnormal:') + 1), o.uscc,
               (o.at AT TIME ZONE 'Asia/Shanghai')::date
        FROM observations o
        WHERE o.ref LIKE 'abnormal:%' AND o.indicator IN (
            SELECT i ->> 'code' FROM model_versions m, jsonb_array_elements(m.document -> 'indicators') i
            WHERE i ->> 'source' = 'abnormal_operation_listed')
        ORDER BY o.ref, o.at""")


def downgrade() -> None:
    op.drop_table("abnormal_listings")
