"""Event type -> use case, for the clues service's consumer groups (wired in ``bootstrap``).

* intake (``settings.intake_group``): 12345 work orders and clues from the other channels, each outside channel's
  from its own topic and as that channel's (``domain.channels``: a clue naming another channel is refused); a
  message that cannot be taken in gets a rejection receipt on its sender's topic (``domain.receipts``).
* replica (``settings.replica_group``): the registry's directory, for matching a clue's business.
"""

from __future__ import annotations

from jsp_common import replica, topics
from jsp_common.consumer import BatchHandler, HandlerContext
from jsp_common.events.clues import ClueSubmitted, WorkOrderSubmitted
from jsp_common.events.registry import EntityChanged
from jsp_common.receipts import reject

from .adapters import directory
from .adapters.tables import entities
from .deps import Deps
from .domain.channels import misnamed, sender_of
from .domain.receipts import submission_rejected
from .usecases.intake import Submission, intake_many

INTAKE_TOPICS = (topics.HOTLINE_WORK_ORDERS, topics.CLUE_SUBMISSIONS, *topics.CHANNEL_SUBMISSIONS.values())
REPLICA_TOPICS = replica.TOPICS


def _submission(ctx: HandlerContext) -> Submission:
    d = ctx.data
    if isinstance(d, WorkOrderSubmitted):
        return Submission(ctx, "hotline", d.work_order_no, d, d.caller_name, d.caller_phone, ctx.envelope.id)
    assert isinstance(d, ClueSubmitted)
    channel = sender_of(ctx.delivery.topic) or d.channel  # checked by misnamed: the topic's channel
    return Submission(ctx, channel, d.channel_ref, d, d.reporter_name, d.reporter_phone, ctx.envelope.id)


def intake_handlers(deps: Deps) -> dict[str, BatchHandler]:
    """Work orders and clues of the other channels, taken in set-wise, a poll's consecutive ones at a time; a clue
    naming a channel its topic does not carry is refused (receipt to the topic's channel, dead-letter topic)."""
    async def submissions(ctxs: list[HandlerContext]) -> None:
        taken = []
        for ctx in ctxs:
            d = ctx.data
            if isinstance(d, ClueSubmitted) and (reason := misnamed(ctx.delivery.topic, d.channel)) is not None:
                await reject(ctx, submission_rejected, reason, [{"field": "channel", "reason": reason}])
            else:
                taken.append(_submission(ctx))
        if taken:
            await intake_many(deps, ctxs[0].session, taken)

    return {WorkOrderSubmitted.event_type: submissions, ClueSubmitted.event_type: submissions}


def replica_extras(record: EntityChanged) -> dict:
    """This service's own replica columns: each name's bigrams, for matching a complaint's business."""
    return directory.name_columns(record.name, record.city_code)


def replica_handlers() -> dict[str, BatchHandler]:
    """The registry's directory into this service's replica, with each name's bigrams for matching."""
    return replica.batch_handlers(entities, extras=replica_extras)
