"""Event type -> use case, per consumer group of the risk service."""

from __future__ import annotations

from jsp_common import clock, replica, topics
from jsp_common.consumer import BatchHandler, HandlerContext

from .adapters.tables import entities
from .deps import Deps
from .usecases import indicators, monitoring, responsibility

REPLICA_TOPICS = replica.TOPICS
INDICATOR_TOPICS = (topics.CLUE_LIFECYCLE, topics.INSPECTION_RESULTS, topics.ABNORMAL_OPERATIONS)
MONITORING_TOPICS = (topics.DEVICE_READINGS,)


def replica_handlers() -> dict[str, BatchHandler]:
    """The directory replica; then the open alerts of a poll's entities name their responsible departments as
    the registry now has them (a department that becomes responsible sees and answers the alert, and is told)."""
    def then_alerts(write: BatchHandler) -> BatchHandler:
        async def apply(contexts: list[HandlerContext]) -> None:
            await write(contexts)
            await responsibility.follow(contexts, clock.now())
        return apply
    return {event_type: then_alerts(write) for event_type, write in replica.batch_handlers(entities).items()}


def indicator_handlers(deps: Deps) -> dict[str, BatchHandler]:
    """Clue and inspection events of a poll, together: one observation insert and one re-scoring for all."""
    async def apply(contexts: list[HandlerContext]) -> None:
        await indicators.apply(deps, contexts)

    return {event_type: apply for event_type in (*indicators.READERS, *indicators.REMOVALS)}


INDICATOR_WANTED = indicators.WANTED  # the events of those types the group has a use for


def monitoring_handlers(deps: Deps) -> dict[str, BatchHandler]:
    async def readings(contexts: list[HandlerContext]) -> None:
        await monitoring.readings(deps, contexts)

    return {"monitoring.device.reading-recorded.v1": readings}
