"""Clues: the replica's name bigrams also kept keyed by the entity's city (``place_grams``, '410100:餐饮'), and
indexed instead of the bare ones: a name's candidates are looked up in its city's part of the index, not in the
province's (the bare bigrams stay, unindexed, for ranking the candidates). Keys as
``clues.adapters.directory.place_keys`` makes them ('-' for an entity without a city).

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision, down_revision, branch_labels, depends_on = "0005", "0004", None, None


def upgrade() -> None:
    op.execute("ALTER TABLE replica_entities ADD COLUMN place_grams TEXT[] DEFAULT '{}' NOT NULL")
    op.execute("UPDATE replica_entities SET place_grams = "
               "ARRAY(SELECT coalesce(city_code, '-') || ':' || g FROM unnest(name_grams) AS g)")
    op.execute("CREATE INDEX replica_entities_place_grams ON replica_entities USING gin (place_grams)")
    op.execute("DROP INDEX replica_entities_grams")


def downgrade() -> None:
    op.execute("CREATE INDEX replica_entities_grams ON replica_entities USING gin (name_grams)")
    op.execute("DROP INDEX replica_entities_place_grams")
    op.execute("ALTER TABLE replica_entities DROP COLUMN place_grams")
