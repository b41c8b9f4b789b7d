"""When an entity entered the directory (``registered_at``): the ``last_changed_at`` of its first record, never
changed, and said by every record published (``registry.entity.changed.v1``). The topic is compacted: an entity's
first records are gone from it, so a replica built from it (the dashboard's rebuild, a dashboard deployed onto a
running platform) dated an entity changed since its registration by that change.

For the entities before this revision: the earliest of the bureau events applied to them (the first one made the
record), their last change and their row's creation (an imported entity has no events; changed by a later import,
its first line's time is gone, and the import's day bounds it). Every record is then published again with it, its
version unchanged (the replicate job, as after an import), so the topic's latest record of every entity says it.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0013", "0012", None, None


def upgrade() -> None:
    op.add_column("entities", sa.Column("registered_at", sa.DateTime(timezone=True)))
    op.execute("""
        UPDATE entities AS e SET
            registered_at = least(e.last_changed_at, e.created_at, (
                SELECT min(h.occurred_at) FROM entity_history h WHERE h.uscc = e.uscc AND h.outcome = 'applied')),
            published_version = least(e.published_version, e.version - 1)
    """)
    op.alter_column("entities", "registered_at", nullable=False)


def downgrade() -> None:
    op.drop_column("entities", "registered_at")
