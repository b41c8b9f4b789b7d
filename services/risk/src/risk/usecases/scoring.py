"""Observations in, entities re-scored: their standings, then their alerts and credit classes.

Called for every poll of incoming facts (clues verified, inspection items failed, device windows out of
range): only the entities concerned are re-scored, from their own observations, set-wise (one statement
per step for the whole poll); nothing rescans the directory. Alerts and classes follow for the entities
whose level or class moved, each entity's events issued through the transaction of the input that observed it
(``issued_by``: the consumed event's context, or a periodic job's row in its state), so their ids derive from
that input and not from whatever else the poll held.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from jsp_common.outbox import Transaction as Tx

from ..adapters import repository as repo
from ..deps import Deps
from ..domain import scoring
from ..domain.model import RiskModel
from . import alerts, credit


def longest_window(model: RiskModel) -> timedelta:
    return timedelta(days=max(i.window_days for i in model.indicators))


async def observe(deps: Deps, tx: Tx, rows: list[dict], *, departments: dict[str, list[str]] | None = None,
                  now: datetime, issued_by: Mapping[str, Tx] | None = None) -> list[str]:
    """Record observations (uscc, indicator, ref, at[, amount]); a fact already counted is not counted again.
    Every entity with a new observation is re-scored, its events issued through ``issued_by[uscc]`` (``tx``
    when not named). Returns those entities."""
    version, model = await deps.model.get(tx.session)
    rows = [r for r in rows if model.indicator(r["indicator"]) is not None]
    changed = await repo.add_observations(tx.session, rows)
    await repo.keep_observations_analysed(tx.session, deps.observation_rows, len(rows))
    if changed:
        await rescore(deps, tx, changed, now=now, departments=departments or {}, issued_by=issued_by)
    return changed


async def rescore(deps: Deps, tx: Tx, usccs: list[str], *, now: datetime,
                  departments: dict[str, list[str]] | None = None,
                  issued_by: Mapping[str, Tx] | None = None) -> dict[str, scoring.Assessment]:
    """Re-score entities from their observations and act on the results (alerts, credit classes), an entity's
    events issued through ``issued_by[uscc]`` (``tx`` when not named)."""
    version, model = await deps.model.get(tx.session)
    standings = await repo.ensure_standings(tx.session, {u: (departments or {}).get(u, []) for u in usccs})
    seen = await repo.observations_of_many(tx.session, usccs, now - longest_window(model))
    out: dict[str, scoring.Assessment] = {}
    values = []
    for uscc in usccs:
        a = out[uscc] = scoring.assess(model, version, scoring.counts(model, seen.get(uscc, []), now))
        values.append(repo.rescored_values(a.score, a.level.value if a.level else None, a.counts, a.contributions,
                                           version, a.computed_class.value, a.class_reasons))
    await repo.update_standings(tx.session, usccs, values, now)
    by = {u: (issued_by or {}).get(u, tx) for u in usccs}
    await alerts.evaluate_many(deps, tx, [(by[u], standings[u], out[u]) for u in usccs], model, now=now)
    await credit.follow_many(tx.session, [(by[u], standings[u], out[u]) for u in usccs], now=now)
    return out
