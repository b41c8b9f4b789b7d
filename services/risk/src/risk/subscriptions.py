"""Event type -> use case, per consumer group of the risk service."""

from __future__ import annotations

from jsp_common import replica, topics
from jsp_common.consumer import BatchHandler, Handler, HandlerContext

from .adapters.tables import entities
from .deps import Deps
from .usecases import indicators, monitoring

REPLICA_TOPICS = replica.TOPICS
INDICATOR_TOPICS = (topics.CLUE_LIFECYCLE, topics.INSPECTION_RESULTS)
MONITORING_TOPICS = (topics.DEVICE_READINGS,)


def replica_handlers() -> dict[str, BatchHandler]:
    return replica.batch_handlers(entities)


def indicator_handlers(deps: Deps) -> dict[str, Handler]:
    async def clue_transitioned(ctx: HandlerContext) -> None:
        await indicators.clue_transitioned(deps, ctx, ctx.data)  # type: ignore[arg-type]

    async def inspection_result(ctx: HandlerContext) -> None:
        await indicators.inspection_result(deps, ctx, ctx.data)  # type: ignore[arg-type]

    return {"clues.clue.transitioned.v1": clue_transitioned, "inspection.result.published.v1": inspection_result}


def monitoring_handlers(deps: Deps) -> dict[str, BatchHandler]:
    async def readings(contexts: list[HandlerContext]) -> None:
        await monitoring.readings(deps, contexts)

    return {"monitoring.device.reading-recorded.v1": readings}
