"""Event type -> use case, for the clues service's consumer groups (wired in ``bootstrap``).

* intake (``settings.intake_group``): 12345 work orders and clues from the other channels (a message that
  cannot be taken in gets a rejection receipt on its channel's topic: ``domain.receipts``).
* replica (``settings.replica_group``): the registry's directory, for matching a clue's business.
"""

from __future__ import annotations

from jsp_common import replica, topics
from jsp_common.consumer import BatchHandler, HandlerContext
from jsp_common.events.clues import ClueSubmitted, WorkOrderSubmitted
from jsp_common.events.registry import EntityChanged

from .adapters import directory
from .adapters.tables import entities
from .deps import Deps
from .usecases.intake import Submission, intake_many

INTAKE_TOPICS = (topics.HOTLINE_WORK_ORDERS, topics.CLUE_SUBMISSIONS)
REPLICA_TOPICS = replica.TOPICS


def _submission(ctx: HandlerContext) -> Submission:
    d = ctx.data
    if isinstance(d, WorkOrderSubmitted):
        return Submission(ctx, "hotline", d.work_order_no, d, d.caller_name, d.caller_phone, ctx.envelope.id)
    assert isinstance(d, ClueSubmitted)
    return Submission(ctx, d.channel, d.channel_ref, d, d.reporter_name, d.reporter_phone, ctx.envelope.id)


def intake_handlers(deps: Deps) -> dict[str, BatchHandler]:
    """Work orders and clues of the other channels, taken in set-wise, a poll's consecutive ones at a time."""
    async def submissions(ctxs: list[HandlerContext]) -> None:
        if ctxs:
            await intake_many(deps, ctxs[0].session, [_submission(ctx) for ctx in ctxs])

    return {WorkOrderSubmitted.event_type: submissions, ClueSubmitted.event_type: submissions}


def replica_extras(record: EntityChanged) -> dict:
    """This service's own replica columns: each name's bigrams, for matching a complaint's business."""
    return directory.name_columns(record.name, record.city_code)


def replica_handlers() -> dict[str, BatchHandler]:
    """The registry's directory into this service's replica, with each name's bigrams for matching."""
    return replica.batch_handlers(entities, extras=replica_extras)
