"""The risk model's versions: the office saves a new one (validated), and tries one first (dry-run: how many
entities each level would hold), and a full re-scoring applies the version in force to every entity."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock
from jsp_common.db import after_commit
from jsp_common.outbox import SessionTx
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import model_rows
from ..adapters import repository as repo
from ..deps import Deps
from ..domain import scoring as rules
from ..domain.model import LEVELS, RiskModel
from . import alerts, credit


async def current(session: AsyncSession) -> dict:
    found = await model_rows.latest_model(session)
    if found is None:
        raise Problem(404, "no risk model yet (run `python -m risk migrate`)")
    version, model = found
    return {"version": version, "model": model.model_dump(mode="json")}


async def get(session: AsyncSession, version: int) -> dict:
    row = await model_rows.model_version(session, version)
    if row is None:
        raise Problem(404, f"no model version {version}")
    return {"version": row["version"], "note": row["note"], "created_by": row["created_by"],
            "created_at": row["created_at"], "model": row["document"]}


async def save(deps: Deps, tx: Tx, model: RiskModel, *, note: str, actor: Principal) -> dict:
    """A new version in force from now; entities are re-scored under it as events arrive, every entity with a
    standing at the next daily re-scoring (``usecases/ageing``), or the whole directory at once by ``python -m risk
    rescore``."""
    version = await model_rows.add_model(tx.session, model, note=note, created_by=actor.subject)
    # Forgotten once the version is committed, not before: a poll reading the model meanwhile kept the old one for
    # the cache's seconds (a device of the new version's metric refused, events scored under the old version).
    after_commit(tx.session, deps.model.invalidate)
    return {"version": version, "note": note}


async def dry_run(tx: Tx, model: RiskModel) -> dict:
    """How many entities each level would hold under ``model`` (from their current counts; an active entity of
    the directory nothing was observed about as one never inspected), beside now; and how many of them have no
    standing yet (counted at their level in both columns, they hold it, with its alert and class, only once a
    re-scoring reached them)."""
    unscored = await repo.unscored_entities(tx.session)
    proposed = await level_counts(tx.session, model, unscored)
    found = await model_rows.latest_model(tx.session)
    now = await level_counts(tx.session, found[1], unscored) if found else {}
    levels = [None, *LEVELS]
    return {"levels": [{"level": lv.value if lv else "none",
                        "proposed": proposed.get(lv.value if lv else None, 0),
                        "current": now.get(lv.value if lv else None, 0)} for lv in levels],
            "current_version": found[0] if found else None, "without_standing": unscored}


async def level_counts(session: AsyncSession, model: RiskModel, unscored: int) -> dict[str | None, int]:
    """How many entities each level would hold under ``model``: those with a standing from their counts, and
    ``unscored`` more (the directory's entities without one) at the level of an entity nothing was observed about."""
    counts = await model_rows.level_counts(session, model)
    if unscored:
        level = rules.assess(model, 0, {}).level
        key = level.value if level else None
        counts[key] = counts.get(key, 0) + unscored
    return counts


async def rescore_all(deps: Deps, *, now: datetime | None = None, directory: bool = True) -> dict:
    """Re-score every entity under the model in force, page by page (one transaction each): those with a
    standing and (``directory``) the directory's active entities (one nothing was observed about gets its standing
    row, as an event's entity does: never inspected counts from the start); scores, levels and classes from their
    observations; alerts follow where the level changed. Returns counts."""
    now = now or clock.now()
    after, pages, total, moved = "", 0, 0, 0
    async with deps.db.transaction() as session:
        deps.model.invalidate()
        version, model = await deps.model.get(session)
    windows = {i.code: now - timedelta(days=i.window_days) for i in model.indicators}
    assessed: dict[tuple, tuple[rules.Assessment, tuple]] = {}  # the same counts score the same

    def assess(counts: dict[str, float]) -> tuple[rules.Assessment, tuple]:
        key = tuple(sorted(counts.items()))
        if key not in assessed:
            a = rules.assess(model, version, counts)
            assessed[key] = (a, repo.rescored_values(a.score, a.level.value if a.level else None, a.counts,
                                                     a.contributions, version, a.computed_class.value,
                                                     a.class_reasons))
        return assessed[key]

    while True:
        async with deps.db.transaction() as session:
            page = await repo.standings_page(session, after, deps.settings.rescore_page, directory=directory)
            if page and not all(has for _, has in page):
                # the directory's entities nothing was observed about: their standing row, as an event's entity
                # gets, written first (a row inserted here and held while the page is locked in key order could
                # wait on an event holding an earlier one while that event waits on it)
                await repo.ensure_standings(session, {uscc: [] for uscc, has in page if not has})
        if not page:
            break
        async with deps.db.transaction() as session:
            scan = SessionTx(session, deps.source)
            # the page's standings locked (in key order, as every writer locks them) before their counts are read:
            # an event's observations committed meanwhile are counted, not overwritten by an older assessment
            usccs = [uscc for uscc, _ in page]
            locked = await repo.page_locked(session, usccs)
            counts = await repo.counts_for(session, usccs[0], usccs[-1], windows)
            values, follow = [], {}
            for uscc in usccs:
                was = locked[uscc]
                a, row = assess(counts.get(uscc, {}))
                values.append(row)
                if was["level"] != (a.level.value if a.level else None) or credit.follows(was, a):
                    follow[uscc] = was["scored_at"]
            await repo.update_standings(session, usccs, values, now)
            # level or class moved: alerts and classes follow as for events; each entity's events with ids from
            # the entity, the model version and when it was scored before (a rescoring run again on a restored
            # database issues the ids it first issued)
            full = await repo.standings_locked(session, list(follow)) if follow else {}  # locked already
            moving = [(scan.caused_by("risk.rescore", uscc, version, scored_at), full[uscc],
                       assess(counts.get(uscc, {}))[0]) for uscc, scored_at in follow.items()]
            await alerts.evaluate_many(deps, scan, moving, model, now=now)
            await credit.follow_many(session, moving, now=now)
            moved += len(follow)
            total += len(page)
            pages += 1
            after = page[-1][0]
    return {"entities": total, "changed": moved, "pages": pages, "model_version": version}
