"""The risk model's versions: the office saves a new one (validated), and tries one first (dry-run: how many
entities each level would hold), and a full re-scoring applies the version in force to every entity."""

from __future__ import annotations

from datetime import datetime, timedelta

from jsp_common import clock
from jsp_common.outbox import SessionTx
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import repository as repo
from ..deps import Deps
from ..domain import scoring as rules
from ..domain.model import LEVELS, RiskModel
from . import alerts, credit


async def current(tx: Tx) -> dict:
    found = await repo.latest_model(tx.session)
    if found is None:
        raise Problem(404, "no risk model yet (run `python -m risk migrate`)")
    version, model = found
    return {"version": version, "model": model.model_dump(mode="json")}


async def get(tx: Tx, version: int) -> dict:
    row = await repo.model_version(tx.session, version)
    if row is None:
        raise Problem(404, f"no model version {version}")
    return {"version": row["version"], "note": row["note"], "created_by": row["created_by"],
            "created_at": row["created_at"], "model": row["document"]}


async def save(deps: Deps, tx: Tx, model: RiskModel, *, note: str, actor: Principal) -> dict:
    """A new version in force from now; entities are re-scored as events arrive, or all at once by
    ``python -m risk rescore``."""
    version = await repo.add_model(tx.session, model, note=note, created_by=actor.subject)
    deps.model.invalidate()
    return {"version": version, "note": note}


async def dry_run(tx: Tx, model: RiskModel) -> dict:
    """How many entities each level would hold under ``model`` (from their current counts), beside now."""
    proposed = await repo.level_counts(tx.session, model)
    found = await repo.latest_model(tx.session)
    now = await repo.level_counts(tx.session, found[1]) if found else {}
    levels = [None, *LEVELS]
    return {"levels": [{"level": lv.value if lv else "none",
                        "proposed": proposed.get(lv.value if lv else None, 0),
                        "current": now.get(lv.value if lv else None, 0)} for lv in levels],
            "current_version": found[0] if found else None}


async def rescore_all(deps: Deps, *, now: datetime | None = None) -> dict:
    """Re-score every entity under the model in force, page by page (one transaction each): scores, levels
    and classes from their observations; alerts follow where the level changed. Returns counts."""
    now = now or clock.now()
    after, pages, total, moved = "", 0, 0, 0
    async with deps.db.transaction() as session:
        deps.model.invalidate()
        version, model = await deps.model.get(session)
    windows = {i.code: now - timedelta(days=i.window_days) for i in model.indicators}
    while True:
        async with deps.db.transaction() as session:
            tx = SessionTx(session, deps.source)
            keys = await repo.standing_keys(session, after, deps.settings.rescore_page)
            if not keys:
                break
            counts = await repo.counts_for(session, keys, windows)
            olds = await repo.standings_page(session, keys)
            updates, follow = [], []
            for uscc in keys:
                a = rules.assess(model, version, counts.get(uscc, {}))
                old = olds[uscc]
                updates.append({"uscc": uscc, "score": a.score, "level": a.level.value if a.level else None,
                                "counts": a.counts, "contributions": a.contributions, "model_version": version,
                                "computed_class": a.computed_class.value, "class_reasons": a.class_reasons,
                                "scored_at": now})
                if old["level"] != (a.level.value if a.level else None) or (
                        not old["corrected_class"] and old["credit_class"] != a.computed_class.value
                        and not (old["credit_class"] is None and a.score == 0)):
                    follow.append((old, a))
            await repo.update_standings(session, updates)
            for old, a in follow:
                await alerts.evaluate(deps, tx, old, a, model, now=now)
                await credit.follow(tx, old, a, now=now)
            moved += len(follow)
            total += len(keys)
            pages += 1
            after = keys[-1]
    return {"entities": total, "changed": moved, "pages": pages, "model_version": version}
