"""Alerts the cool-down held back, raised once it has ended (periodic job under leadership).

An assessment within ``cooldown_hours`` of the last alert at its level, with a score no higher, raises no alert
(``domain.alerts.decide``: ``Suppressed``); its standing keeps the level held back and when the cool-down ends.
Nothing else may look at the entity again (a full re-scoring acts only when a level moves), so this job does: once
the cool-down has ended, an entity whose level is still the one held back is re-scored and its alert decided as for
any new fact (``scoring.rescore``: raised, or held back again under a longer cool-down of a newer model). An entity
whose level moved meanwhile was decided when it moved: only its mark is cleared. What it issues takes ids derived
from the entity and the end of the cool-down (``SessionTx.caused_by``), so a run again on a restored database
issues the ids it first issued.
"""

from __future__ import annotations

from datetime import datetime

from jsp_common import clock
from jsp_common.outbox import SessionTx

from ..adapters import repository as repo
from ..deps import Deps
from . import scoring

BATCH = 500


async def raise_held_back(deps: Deps, now: datetime | None = None) -> int:
    """One round (its own transaction): returns how many entities were re-scored for their held-back alert."""
    now = now or clock.now()
    async with deps.db.transaction() as session:
        scan = SessionTx(session, deps.source)
        held = [s for s in await repo.held_back_due(session, now, BATCH) if s["level"] == s["alert_held_level"]]
        if held:
            issued_by = {s["uscc"]: scan.caused_by("risk.cooldown", s["uscc"], s["alert_held_until"].isoformat())
                         for s in held}
            await scoring.rescore(deps, scan, list(issued_by), now=now, issued_by=issued_by)
    return len(held)
