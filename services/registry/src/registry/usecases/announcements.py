"""Every adjudication case on the office's topic (registry.adjudication.v1), opened and closed: what of a case is
not published yet (its request, its withdrawal), issued in order. The intake, the office's decision and
re-assessment publish a case's changes in their own transaction; the bulk import opens and withdraws cases
set-wise, and the replicate job publishes those afterwards, a batch per transaction."""

from __future__ import annotations

from jsp_common import clock, topics
from jsp_common.events.registry import AdjudicationRequested, AdjudicationWithdrawn
from jsp_common.outbox import SessionTx
from jsp_common.outbox import Transaction as Tx

from ..adapters import adjudication as cases
from ..deps import Deps


async def announce(tx: Tx, case, *, name: str | None) -> None:
    """Issue what the office's topic has not said of ``case`` (a row of ``adapters.adjudication``, its
    ``announced`` as it was): the request of a case no rule matched that the import opened, then its withdrawal.
    A disputed case was announced by its dispute, a decided one by its decision."""
    if case.announced is None and case.reason == "no_rule_matched":
        await tx.emit(topics.REGISTRY_ADJUDICATION, AdjudicationRequested(
            case_id=case.id, uscc=case.uscc, name=name or "", reason=case.reason,
            candidate_departments=list(case.candidate_departments), detail=case.detail,
            requested_at=case.opened_at), key=case.uscc)
    if case.status == "withdrawn" and case.announced != "withdrawn":
        await tx.emit(topics.REGISTRY_ADJUDICATION, AdjudicationWithdrawn(
            case_id=case.id, uscc=case.uscc, name=name, reason=case.note or "no longer needed",
            withdrawn_by=case.decided_by or "registry", withdrawn_at=case.decided_at or clock.now()), key=case.uscc)


async def announce_pending(deps: Deps) -> int:
    """Periodic: publish the cases the bulk import opened or withdrew (their ``announced`` behind their status)."""
    async with deps.db.transaction() as session:
        batch = await cases.unannounced(session, limit=deps.settings.replicate_batch)
        if not batch:
            return 0
        tx = SessionTx(session, deps.source)
        for case in batch:
            await announce(tx.caused_by("registry.case-announcement", case.id, case.status, case.announced),
                           case, name=case.name)
        await cases.mark_announced(session, [c.id for c in batch])
        return len(batch)
