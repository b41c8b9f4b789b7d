"""What the platform already publishes, as observations: clues taken in and verified (clues.lifecycle.v1),
inspection results (inspection.results.v1: failed items, not found at the address, and the inspection itself
for the time since the last one), listings in the abnormal-operation directory (market.abnormal-operations.v1;
a removal takes the listing's observation away). A poll's events are recorded and their entities re-scored
together (one statement per step).

Listings and removals are taken only under their entity's USCC as the Kafka key (the topic's key: an entity's
listings and removals on one partition, in order); sent with no key or another, they are dead-lettered with the
reason. They are matched by listing id and entity (``abnormal_listings``): a removal of another entity's listing,
and a listing under an id another entity's listing holds, are dead-lettered with the reason; a removal that comes
before its listing (a replay) is kept, and the listing, when it comes, is not counted."""

from __future__ import annotations

from datetime import datetime, time

from jsp_common import clock
from jsp_common.consumer import HandlerContext, in_rounds, wrong_key
from jsp_common.events.clues import Channel, ClueTransitioned, Finding
from jsp_common.events.inspection import InspectionResultPublished, ItemOutcome
from jsp_common.events.registry import AbnormalOperationListed, AbnormalOperationRemoved

from ..adapters import repository as repo
from ..deps import Deps
from ..domain.model import RiskModel, Source
from . import scoring

FOUND_TRUE = (Finding.SUBSTANTIATED.value, Finding.PARTLY.value)
FAILED_OUTCOMES = (ItemOutcome.CORRECTION_ORDERED, ItemOutcome.REFERRED_FOR_CASE, ItemOutcome.NOT_COOPERATING)
Found = tuple[list[dict], list[str]]  # observation rows, departments named by the event


def _rows(model: RiskModel, source: Source, uscc: str, ref: str, at) -> list[dict]:
    return [{"uscc": uscc, "indicator": i.code, "ref": ref, "at": at} for i in model.indicators_of(source)]


# Clues raised from a fact this service counts already: its own (a device window, a level's plan) and the inspection
# service's (a problem found at an inspection, counted when its result is published).
RAISED_ON_COUNTED_FACTS = (Channel.RISK, Channel.INSPECTION)


def observes(e: ClueTransitioned) -> bool:
    """Whether a clue's step is observed: a clue about a known business taken in (``receive``) or found
    (partly) true (``handle``). A clue raised from a fact counted already (``RAISED_ON_COUNTED_FACTS``: this
    service's own, channel ``risk``, from a device window or a level's plan; the inspection service's, channel
    ``inspection``, from items found failing) is not observed when taken in; found true by a department, it is a
    new fact and counts. The other steps
    (dispatches, acceptances, replies, ...; about half a day's clue events) are passed over by the consumer loop,
    unclaimed (``WANTED``)."""
    return bool(e.uscc) and (e.action == "receive" and e.channel not in RAISED_ON_COUNTED_FACTS
                             or e.action == "handle" and e.details.get("finding") in FOUND_TRUE)


def clue_transitioned(model: RiskModel, e: ClueTransitioned) -> Found:
    """A clue's step that ``observes``: its observations and the clue's departments."""
    if not observes(e):
        return [], []
    source = Source.CLUE_RECEIVED if e.action == "receive" else Source.CLUE_SUBSTANTIATED
    rows = _rows(model, source, e.uscc, e.clue_id, e.at)  # type: ignore[arg-type]
    return rows, [d for d in [e.lead_department, *e.co_departments] if d]


def inspection_result(model: RiskModel, e: InspectionResultPublished) -> Found:
    """Each failed item of a published inspection result, and a business not found at its address."""
    rows: list[dict] = []
    for item in e.items:
        ref = f"{e.task_id}:{e.uscc}:{item.item_code}"
        if item.outcome in FAILED_OUTCOMES:
            rows += _rows(model, Source.INSPECTION_ITEM_FAILED, e.uscc, ref, e.published_at)
        elif item.outcome == ItemOutcome.NOT_FOUND_AT_ADDRESS:
            rows += _rows(model, Source.INSPECTION_NOT_FOUND, e.uscc, ref, e.published_at)
    at = min(datetime.combine(e.inspected_on, time(0), tzinfo=clock.TZ), e.published_at)  # the day it was done
    rows += _rows(model, Source.NOT_INSPECTED, e.uscc, f"{e.task_id}:{e.uscc}", at)
    return rows, list(e.departments)


def abnormal_listed(model: RiskModel, e: AbnormalOperationListed) -> Found:
    """Listed in the abnormal-operation directory: counts from the day of the listing until its removal."""
    at = datetime.combine(e.listed_on, time(0), tzinfo=clock.TZ)
    return _rows(model, Source.ABNORMAL_OPERATION_LISTED, e.uscc, listing_ref(e.listing_id), at), []


def listing_ref(listing_id: str) -> str:
    return f"abnormal:{listing_id}"


def key_refusal(e: AbnormalOperationListed | AbnormalOperationRemoved, key: str | None) -> str | None:
    """Why a listing or removal is refused (dead-lettered with this reason) for its Kafka key ``key``, which must be
    the entity's USCC (the topic's key): sent with no key or another, a listing and its removal land on any
    partitions and are applied out of order or far apart (a listing counting, and alerting, long after its removal
    was sent). None: keyed right."""
    what = "removal" if isinstance(e, AbnormalOperationRemoved) else "listing"
    return wrong_key(key, expected=e.uscc, field="uscc", what=f"{what} {e.listing_id} of entity {e.uscc}",
                     kept_together="an entity's listings and removals")


def listing_refusal(e: AbnormalOperationListed | AbnormalOperationRemoved, holder: str) -> str | None:
    """Why a listing or removal is refused (dead-lettered with this reason), given the entity its listing id
    belongs to; None: it belongs to the event's entity."""
    if holder == e.uscc:
        return None
    if isinstance(e, AbnormalOperationRemoved):
        return (f"listing {e.listing_id} belongs to entity {holder}, not {e.uscc}: a removal names the listing_id and "
                f"the uscc of the listing it ends")
    return (f"listing_id {e.listing_id} is held by a listing of entity {holder}, not {e.uscc}: a listing_id names one "
            f"listing of one entity; send {e.uscc}'s listing under a listing_id of its own")


async def listing_counts(c: HandlerContext) -> bool:
    """Record a listing or removal against its listing (``abnormal_listings``); whether it takes effect: a listing
    counts unless its removal came first; a removal takes the listing's observation away, if it has one. A listing
    id of another entity, or a Kafka key other than the entity's USCC, is refused (dead-lettered) and changes
    nothing."""
    e: AbnormalOperationListed | AbnormalOperationRemoved = c.data  # type: ignore[assignment]
    reason = key_refusal(e, c.delivery.key_str)
    if reason is not None:
        c.dead_letter(reason)  # before the listing is recorded: sent again under the right key, it applies
        return False
    held = await repo.abnormal_listing(c.session, e.listing_id, e.uscc)
    reason = listing_refusal(e, held["uscc"])
    if reason is not None:
        c.dead_letter(reason)
        return False
    if isinstance(e, AbnormalOperationRemoved):
        await repo.mark_abnormal_listing(c.session, e.listing_id, removed_on=e.removed_on)
        return True
    await repo.mark_abnormal_listing(c.session, e.listing_id, listed_on=e.listed_on)
    return held["removed_on"] is None


READERS = {"clues.clue.transitioned.v1": clue_transitioned, "inspection.result.published.v1": inspection_result,
           "market.abnormal-operation.listed.v1": abnormal_listed}
REMOVALS = {"market.abnormal-operation.removed.v1"}
LISTINGS = {"market.abnormal-operation.listed.v1", *REMOVALS}
WANTED = {"clues.clue.transitioned.v1": observes}


async def apply(deps: Deps, contexts: list[HandlerContext]) -> None:
    """A poll's clue and inspection events (batch handler of the indicators group). An entity's alerts and class
    changes are issued through the context of the event that observed it; a poll with several events about one
    entity applies them in rounds (``consumer.in_rounds``), so what each issues does not depend on the poll."""
    session = contexts[0].session
    _, model = await deps.model.get(session)
    now = clock.now()
    for contexts_ in in_rounds(contexts, key=lambda c: c.data.uscc):  # type: ignore[attr-defined]
        rows: list[dict] = []
        departments: dict[str, list[str]] = {}
        removed: list[tuple[str, str]] = []
        issued_by = {c.data.uscc: c for c in contexts_}  # type: ignore[attr-defined]
        for c in contexts_:
            if c.envelope.type in LISTINGS and not await listing_counts(c):
                continue
            if c.envelope.type in REMOVALS:
                removed.append((c.data.uscc, listing_ref(c.data.listing_id)))  # type: ignore[attr-defined]
                continue
            found, named = READERS[c.envelope.type](model, c.data)  # type: ignore[arg-type]
            rows += found
            if found:
                departments.setdefault(found[0]["uscc"], []).extend(named)
        losing: list[str] = []
        if removed:  # the removed listings' entities and the observed ones locked at once, in USCC order
            # by the listing's reference, whatever the model in force counts now: a version without the indicator
            # must not keep the listing for a later one that brings it back
            losing = await repo.remove_observations(session, removed)
            await repo.ensure_standings(session, {u: departments.get(u, []) for u in {*departments, *losing}})
        await scoring.observe(deps, contexts_[0], rows, departments=departments, now=now, issued_by=issued_by)
        if losing:
            await scoring.rescore(deps, contexts_[0], losing, now=now, issued_by=issued_by)
