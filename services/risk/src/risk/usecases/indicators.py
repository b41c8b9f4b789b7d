"""What the platform already publishes, as observations: clues taken in and verified (clues.lifecycle.v1),
inspection results (inspection.results.v1)."""

from __future__ import annotations

from jsp_common import clock
from jsp_common.events.clues import ClueTransitioned, Finding
from jsp_common.events.inspection import InspectionResultPublished, ItemOutcome
from jsp_common.outbox import Transaction as Tx

from ..deps import Deps
from ..domain.model import Source
from . import scoring

FOUND_TRUE = (Finding.SUBSTANTIATED.value, Finding.PARTLY.value)
FAILED_OUTCOMES = (ItemOutcome.CORRECTION_ORDERED, ItemOutcome.REFERRED_FOR_CASE, ItemOutcome.NOT_COOPERATING)


async def _rows(deps: Deps, tx: Tx, source: Source, uscc: str, ref: str, at) -> list[dict]:
    _, model = await deps.model.get(tx.session)
    return [{"uscc": uscc, "indicator": i.code, "ref": ref, "at": at} for i in model.indicators_of(source)]


async def clue_transitioned(deps: Deps, tx: Tx, e: ClueTransitioned) -> None:
    """A clue about a known business: taken in (``receive``) or found (partly) true (``handle``)."""
    if not e.uscc:
        return
    if e.action == "receive":
        rows = await _rows(deps, tx, Source.CLUE_RECEIVED, e.uscc, e.clue_id, e.at)
    elif e.action == "handle" and e.details.get("finding") in FOUND_TRUE:
        rows = await _rows(deps, tx, Source.CLUE_SUBSTANTIATED, e.uscc, e.clue_id, e.at)
    else:
        return
    departments = [d for d in [e.lead_department, *e.co_departments] if d]
    await scoring.observe(deps, tx, rows, departments={e.uscc: departments}, now=clock.now())


async def inspection_result(deps: Deps, tx: Tx, e: InspectionResultPublished) -> None:
    """Each failed item of a published inspection result, and a business not found at its address."""
    rows: list[dict] = []
    for item in e.items:
        ref = f"{e.task_id}:{e.uscc}:{item.item_code}"
        if item.outcome in FAILED_OUTCOMES:
            rows += await _rows(deps, tx, Source.INSPECTION_ITEM_FAILED, e.uscc, ref, e.published_at)
        elif item.outcome == ItemOutcome.NOT_FOUND_AT_ADDRESS:
            rows += await _rows(deps, tx, Source.INSPECTION_NOT_FOUND, e.uscc, ref, e.published_at)
    if rows:
        await scoring.observe(deps, tx, rows, departments={e.uscc: list(e.departments)}, now=clock.now())
