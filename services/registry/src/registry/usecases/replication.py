"""The directory's replica for other services (registry.entities.v1, compacted): records written without
their event (the bulk import) are published afterwards, a batch per transaction."""

from __future__ import annotations

from jsp_common import clock, topics
from jsp_common.outbox import SessionTx

from ..adapters import entities as records
from ..deps import Deps
from .responsibility import entity_changed


async def replicate_pending(deps: Deps) -> int:
    """Periodic: publish entity-changed events for records written without one (bulk import)."""
    async with deps.db.transaction() as session:
        batch = await records.unpublished(session, limit=deps.settings.replicate_batch)
        if not batch:
            return 0
        tx, now = SessionTx(session, deps.source), clock.now()
        for record in batch:
            await tx.caused_by("registry.replication", record.uscc, record.version).emit(
                topics.REGISTRY_ENTITIES, entity_changed(record, now), key=record.uscc)
        await records.mark_published(session, [r.uscc for r in batch])
        return len(batch)
