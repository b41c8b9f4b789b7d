"""Observations in, one entity re-scored: its standing, then its alerts and its credit class.

Called for every incoming fact (a clue verified, an inspection item failed, a device window out of range):
only the entity concerned is re-scored, from its own observations; nothing rescans the directory.
"""

from __future__ import annotations

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
                  now: datetime) -> list[str]:
    """Record observations (uscc, indicator, ref, at[, amount]); a fact already counted is not counted again.
    Every entity with a new observation is re-scored. Returns those entities."""
    version, model = await deps.model.get(tx.session)
    rows = [r for r in rows if model.indicator(r["indicator"]) is not None]
    changed = await repo.add_observations(tx.session, rows)
    for uscc in changed:
        await rescore(deps, tx, uscc, now=now, departments=(departments or {}).get(uscc, []))
    return changed


async def rescore(deps: Deps, tx: Tx, uscc: str, *, now: datetime, departments: list[str] = ()) -> scoring.Assessment:
    """Re-score one entity from its observations and act on the result (alerts, credit class)."""
    version, model = await deps.model.get(tx.session)
    standing = await repo.ensure_standing(tx.session, uscc, list(departments))
    seen = await repo.observations_of(tx.session, uscc, now - longest_window(model))
    assessment = scoring.assess(model, version, scoring.counts(model, seen, now))
    await settle(deps, tx, standing, assessment, model, now=now)
    return assessment


async def settle(deps: Deps, tx: Tx, standing: dict, a: scoring.Assessment, model: RiskModel, *,
                 now: datetime) -> None:
    """Store an entity's new assessment, then raise/close alerts and publish a class change as they follow."""
    await repo.update_standing(tx.session, standing["uscc"], score=a.score, level=a.level.value if a.level else None,
                               counts=a.counts, contributions=a.contributions, model_version=a.model_version,
                               computed_class=a.computed_class.value, class_reasons=a.class_reasons, scored_at=now)
    await alerts.evaluate(deps, tx, standing, a, model, now=now)
    await credit.follow(tx, standing, a, now=now)
