"""Event type -> use case, for the clues service's consumer groups (wired in ``bootstrap``).

* intake (``settings.intake_group``): 12345 work orders and clues from the other channels (a message that
  cannot be taken in gets a rejection receipt on its channel's topic: ``domain.receipts``).
* replica (``settings.replica_group``): the registry's directory, for matching a clue's business.
"""

from __future__ import annotations

from jsp_common import replica, topics
from jsp_common.consumer import BatchHandler, Handler, HandlerContext
from jsp_common.events.clues import ClueSubmitted, WorkOrderSubmitted

from .adapters.tables import entities
from .deps import Deps
from .domain.text import search_grams
from .usecases.intake import intake

INTAKE_TOPICS = (topics.HOTLINE_WORK_ORDERS, topics.CLUE_SUBMISSIONS)
REPLICA_TOPICS = replica.TOPICS


def intake_handlers(deps: Deps) -> dict[str, Handler]:
    async def work_order(ctx: HandlerContext) -> None:
        d: WorkOrderSubmitted = ctx.data  # type: ignore[assignment]
        await intake(deps, ctx, channel="hotline", channel_ref=d.work_order_no, fields=d,
                     caller_name=d.caller_name, caller_phone=d.caller_phone, source_event_id=ctx.envelope.id)

    async def submitted(ctx: HandlerContext) -> None:
        d: ClueSubmitted = ctx.data  # type: ignore[assignment]
        await intake(deps, ctx, channel=d.channel, channel_ref=d.channel_ref, fields=d,
                     caller_name=d.reporter_name, caller_phone=d.reporter_phone, source_event_id=ctx.envelope.id)

    return {WorkOrderSubmitted.event_type: work_order, ClueSubmitted.event_type: submitted}


def replica_handlers() -> dict[str, BatchHandler]:
    """The registry's directory into this service's replica, with each name's bigrams for matching."""
    return replica.batch_handlers(entities, extras=lambda record: {"name_grams": search_grams(record.name)})
