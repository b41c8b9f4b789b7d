"""Event type -> thin adapter into a use case, per consumer group."""

from __future__ import annotations

from jsp_common.consumer import BatchHandler, HandlerContext
from jsp_common.topics import MARKET_ENTITY_EVENTS

from .deps import Deps
from .usecases import intake


def intake_handlers(deps: Deps) -> dict[str, BatchHandler]:
    """``registry.intake``: the bureau's registration events (and the same events ingested by the gateway),
    applied set-wise, a poll's consecutive events at a time."""
    async def market_events(ctxs: list[HandlerContext]) -> None:
        await intake.apply_market_events(deps, ctxs)

    return {event_type: market_events for event_type in MARKET_ENTITY_EVENTS}
