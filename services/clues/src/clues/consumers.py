"""Event type → handler, for the clues service's consumer groups."""

from __future__ import annotations

from jsp_common import replica
from jsp_common.consumer import HandlerContext, PoisonContext
from jsp_common.events.clues import ClueSubmitted, WorkOrderSubmitted

from . import handlers
from .adapters.tables import entities
from .domain.text import search_grams
from .handlers import Deps

INTAKE_GROUP = "clues.intake"
REPLICA_GROUP = "clues.replica"
INTAKE_TOPICS = ("hotline.work-orders.v1", "clues.submissions.v1")
REPLICA_TOPICS = replica.TOPICS


def intake_handlers(deps: Deps):
    async def work_order(ctx: HandlerContext) -> None:
        d: WorkOrderSubmitted = ctx.data  # type: ignore[assignment]
        await handlers.intake(deps, ctx, channel="hotline", channel_ref=d.work_order_no,
                              fields=d, caller_name=d.caller_name, caller_phone=d.caller_phone,
                              source_event_id=ctx.envelope.id)

    async def submitted(ctx: HandlerContext) -> None:
        d: ClueSubmitted = ctx.data  # type: ignore[assignment]
        await handlers.intake(deps, ctx, channel=d.channel, channel_ref=d.channel_ref,
                              fields=d, caller_name=d.reporter_name, caller_phone=d.reporter_phone,
                              source_event_id=ctx.envelope.id)

    return {"hotline.work-order.submitted.v1": work_order, "clues.clue.submitted.v1": submitted}


async def reject_poison(ctx: PoisonContext) -> None:
    """A message that cannot be taken in (not JSON, not an envelope, schema-invalid, unknown type) gets a
    rejection receipt with field-level reasons before it goes to the dead-letter topic."""
    env = ctx.envelope
    topic, receipt, key = handlers.rejection(ctx.delivery.topic, ctx.delivery.key_str, env.data if env else None,
                                             ctx.reason, ctx.details, env.id if env else None)
    await ctx.emit(topic, receipt, key=key)


def replica_handlers(deps: Deps):
    """The registry's directory into this service's replica, with each name's bigrams for matching."""
    return replica.batch_handlers(entities, extras=lambda record: {"name_grams": search_grams(record.name)})
