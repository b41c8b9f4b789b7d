"""Reading and writing observations, standings and credit classes (SQLAlchemy Core, in the caller's transaction;
the model's versions: ``model_rows``; alerts: ``alert_rows``). Rows are plain dicts by column name."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import (DateTime, Integer, Text, bindparam, delete, func, insert, literal_column, select, text, tuple_,
                        update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import replica, statistics
from jsp_common.db import all_rows, dicts, driver_connection, first_row
from jsp_common.events.registry import EntityStatus
from jsp_common.unnest import unnest_insert

from ..domain.scoring import Observation
from .tables import abnormal_listings, class_history, entities, job_runs, observations, standings

# ------------------------------------------------------------------ observations and standings
# A poll's rows in one statement of fixed text (jsp_common.unnest; a multi-row VALUES list is compiled anew for
# every row count).
_ADD_OBSERVATIONS = unnest_insert(observations, ("uscc", "indicator", "ref", "at", "amount"),
                                  suffix="ON CONFLICT ON CONSTRAINT observations_ref DO NOTHING", returning=("uscc",))


async def add_observations(session: AsyncSession, rows: list[dict]) -> list[str]:
    """Insert observations (uscc, indicator, ref, at[, amount: 1]); a ref already counted is skipped. Returns
    the USCCs that got a new observation."""
    if not rows:
        return []
    added = await _ADD_OBSERVATIONS.run(session, [{**r, "amount": float(r.get("amount", 1.0))} for r in rows])
    return sorted({r["uscc"] for r in added})


async def keep_observations_analysed(session: AsyncSession, growth: statistics.Growth, written: int) -> None:
    """The observations table analysed as it fills (a first day), so that reading a poll's entities' observations
    is planned for its size: unanalysed, the planner read the whole table for them, poll after poll."""
    await statistics.keep_analysed(session, observations.name, growth, written)


async def remove_observations(session: AsyncSession, facts: list[tuple[str, str]]) -> list[str]:
    """Take away the observations of these source facts, (USCC, reference) (a listing ended: its reference names it
    alone), under whichever indicators counted them, in the model in force or not. Returns the USCCs that lost one."""
    if not facts:
        return []
    res = await session.execute(delete(observations).where(tuple_(observations.c.uscc, observations.c.ref).in_(facts))
                                .returning(observations.c.uscc))
    return sorted(set(res.scalars()))


async def abnormal_listing(session: AsyncSession, listing_id: str, uscc: str) -> dict:
    """The abnormal-operation listing ``listing_id``, locked: the entity it belongs to, when it was listed and
    removed; recorded as ``uscc``'s (neither listed nor removed yet) when not known."""
    await session.execute(pg_insert(abnormal_listings).values(listing_id=listing_id, uscc=uscc)
                          .on_conflict_do_nothing())
    q = select(abnormal_listings).where(abnormal_listings.c.listing_id == listing_id)
    row = await first_row(session, q, for_update=True)
    assert row is not None
    return row


async def mark_abnormal_listing(session: AsyncSession, listing_id: str, *, listed_on: date | None = None,
                                removed_on: date | None = None) -> None:
    """Record that a listing was made or removed (the first date of each is kept: a copy changes nothing)."""
    t = abnormal_listings
    await session.execute(update(t).where(t.c.listing_id == listing_id).values(
        listed_on=func.coalesce(t.c.listed_on, listed_on), removed_on=func.coalesce(t.c.removed_on, removed_on)))


async def observations_of(session: AsyncSession, uscc: str, since: datetime) -> list[Observation]:
    q = (select(observations.c.indicator, observations.c.at, observations.c.amount)
         .where(observations.c.uscc == uscc, observations.c.at >= since))
    return [Observation(r.indicator, r.at, r.amount) for r in await session.execute(q)]


_COUNTS = ("SELECT o.uscc, o.indicator, sum(o.amount) FROM observations o "
           "JOIN unnest($1::text[], $2::timestamptz[]) AS w(code, since) ON o.indicator = w.code AND o.at >= w.since "
           "WHERE o.uscc BETWEEN $3 AND $4 GROUP BY 1, 2")


async def counts_for(session: AsyncSession, first: str, last: str, windows: dict[str, datetime]
                     ) -> dict[str, dict[str, float]]:
    """Counts per indicator within its window of the entities from USCC ``first`` to ``last`` (a page of a full
    re-scoring), in one statement."""
    if not windows:
        return {}
    out: dict[str, dict[str, float]] = {}
    pg = await driver_connection(session)
    for uscc, code, total in await pg.fetch(_COUNTS, list(windows), list(windows.values()), first, last):
        out.setdefault(uscc, {})[code] = float(total)
    return out


async def standing(session: AsyncSession, uscc: str, *, for_update: bool = False) -> dict | None:
    return await first_row(session, select(standings).where(standings.c.uscc == uscc), for_update=for_update)


async def standings_locked(session: AsyncSession, usccs: list[str]) -> dict[str, dict]:
    """Many entities' standing rows, locked in key order (as every writer locks them)."""
    q = select(standings).where(standings.c.uscc.in_(usccs)).order_by(standings.c.uscc).with_for_update()
    return {r["uscc"]: r for r in await all_rows(session, q)}


# A re-scoring page's standings locked in key order (as every writer locks them), with what the re-scoring compares
# its assessment with: asyncpg's records, no JSON decoded (the page's full rows are read for those that move only).
_LOCK_PAGE = ("SELECT uscc, level, credit_class, corrected_class, scored_at FROM standings "
              "WHERE uscc = ANY($1::text[]) ORDER BY uscc FOR UPDATE")


async def page_locked(session: AsyncSession, usccs: list[str]) -> dict[str, dict]:
    """The standings of a re-scoring page, locked: level, class in force, correction, when scored."""
    pg = await driver_connection(session)
    return {r[0]: {"level": r[1], "credit_class": r[2], "corrected_class": r[3], "scored_at": r[4]}
            for r in await pg.fetch(_LOCK_PAGE, usccs)}


async def hold_back(session: AsyncSession, uscc: str, level: str, until: datetime) -> None:
    """The cool-down held back the entity's alert at ``level`` until ``until``."""
    await update_standing(session, uscc, alert_held_level=level, alert_held_until=until)


async def clear_hold(session: AsyncSession, uscc: str) -> None:
    """The entity's alert is decided anew (raised, closed, or its level moved): no alert is held back."""
    await update_standing(session, uscc, alert_held_level=None, alert_held_until=None)


async def held_back_due(session: AsyncSession, now: datetime, limit: int) -> list[dict]:
    """Standings whose held-back alert's cool-down has ended by ``now``, locked in USCC order (as every writer
    locks them), skipping those another transaction holds; their marks cleared."""
    q = (select(standings).where(standings.c.alert_held_until <= now).order_by(standings.c.uscc).limit(limit)
         .with_for_update(skip_locked=True))
    rows = await all_rows(session, q)
    if rows:
        await session.execute(update(standings).where(standings.c.uscc.in_([r["uscc"] for r in rows]))
                              .values(alert_held_level=None, alert_held_until=None))
    return rows


# An entity's departments on record merged with those an event names (sorted, each once).
_MERGED_DEPARTMENTS = ("ARRAY(SELECT DISTINCT d FROM unnest(standings.departments || excluded.departments) AS d "
                       "ORDER BY d)")


async def ensure_standing(session: AsyncSession, uscc: str, departments: list[str] = ()) -> dict:
    """The entity's standing row, locked (created empty when new); ``departments`` named by an event are kept.
    One statement: the upsert returns the row and holds its lock until the transaction ends."""
    stmt = pg_insert(standings).values(uscc=uscc, departments=sorted(set(departments)))
    merged = literal_column(_MERGED_DEPARTMENTS) if departments else standings.c.departments
    stmt = stmt.on_conflict_do_update(index_elements=[standings.c.uscc], set_={"departments": merged})
    return dict((await session.execute(stmt.returning(standings))).mappings().one())


# A poll's entities in one statement of fixed text, in USCC order (the order their row locks are taken in); each
# entity's departments as a JSON array (a text[][] cannot hold lists of different lengths).
_ENSURE_STANDINGS = text(
    "INSERT INTO standings (uscc, departments) "
    "SELECT r.uscc, ARRAY(SELECT DISTINCT d FROM jsonb_array_elements_text(r.departments::jsonb) AS d ORDER BY d) "
    "FROM unnest(:usccs, :departments) AS r(uscc, departments) ORDER BY r.uscc "
    f"ON CONFLICT (uscc) DO UPDATE SET departments = {_MERGED_DEPARTMENTS} "
    "RETURNING " + ", ".join(c.name for c in standings.c)
).bindparams(bindparam("usccs", type_=ARRAY(Text)), bindparam("departments", type_=ARRAY(Text))
             ).columns(*standings.c)


async def ensure_standings(session: AsyncSession, departments: dict[str, list[str]]) -> dict[str, dict]:
    """The standing rows of many entities, locked (created empty when new; departments named by the events
    kept): one statement for a poll's entities."""
    if not departments:
        return {}
    usccs = list(departments)
    res = await session.execute(_ENSURE_STANDINGS, {"usccs": usccs,
                                                    "departments": [json.dumps(departments[u]) for u in usccs]})
    return {r["uscc"]: r for r in dicts(res)}


# Every observation in the windows of a poll's entities (hundreds of rows a poll): asyncpg's records as they are.
_OBSERVATIONS_OF = "SELECT uscc, indicator, at, amount FROM observations WHERE uscc = ANY($1::text[]) AND at >= $2"


async def observations_of_many(session: AsyncSession, usccs: list[str], since: datetime
                               ) -> dict[str, list[Observation]]:
    pg = await driver_connection(session)
    out: dict[str, list[Observation]] = {}
    for uscc, indicator, at, amount in await pg.fetch(_OBSERVATIONS_OF, usccs, since):
        out.setdefault(uscc, []).append(Observation(indicator, at, amount))
    return out


async def update_standing(session: AsyncSession, uscc: str, **values: Any) -> None:
    await session.execute(update(standings).where(standings.c.uscc == uscc).values(**values))


RESCORED = ("score", "level", "counts", "contributions", "model_version", "computed_class", "class_reasons")
_TYPES = ("float8", "text", "jsonb", "jsonb", "int4", "text", "jsonb")
_UPDATE_RESCORED = (
    "UPDATE standings s SET " + ", ".join(f"{c} = r.{c}::{t}" for c, t in zip(RESCORED, _TYPES))
    + ", scored_at = $9 FROM unnest($1::text[], "
    + ", ".join(f"${n + 2}::{'text' if t == 'jsonb' else t}[]" for n, t in enumerate(_TYPES))
    + ") AS r(uscc, " + ", ".join(RESCORED) + ") WHERE s.uscc = r.uscc")


def rescored_values(a_score: float, level: str | None, counts: dict, contributions: list, model_version: int,
                    computed_class: str, class_reasons: list) -> tuple:
    """One entity's new standing in the column order of :func:`update_standings` (JSON serialised once, so
    entities with the same assessment share it)."""
    return (a_score, level, json.dumps(counts), json.dumps(contributions, ensure_ascii=False), model_version,
            computed_class, json.dumps(class_reasons, ensure_ascii=False))


async def update_standings(session: AsyncSession, usccs: list[str], values: list[tuple], scored_at: datetime) -> None:
    """Set the new standing (:func:`rescored_values`) of many entities: one statement, one array per column."""
    if usccs:
        pg = await driver_connection(session)
        await pg.execute(_UPDATE_RESCORED, usccs, *(list(col) for col in zip(*values)), scored_at)


# The standings and the directory's active entities after a USCC, merged in USCC order: at most a page of each,
# read along its primary key (the directory may hold millions nothing was observed about).
_ACTIVE = EntityStatus.ACTIVE.value
_PAGE = ("SELECT uscc, bool_or(standing) FROM ("
         "(SELECT uscc, true AS standing FROM standings WHERE uscc > $1 ORDER BY uscc LIMIT $2) UNION ALL "
         "(SELECT uscc, false FROM " + entities.name + " "
         "WHERE uscc > $1 AND status = '" + _ACTIVE + "' ORDER BY uscc LIMIT $2)"
         ") AS p GROUP BY uscc ORDER BY uscc LIMIT $2")


_STANDINGS_PAGE = "SELECT uscc, true FROM standings WHERE uscc > $1 ORDER BY uscc LIMIT $2"


async def standings_page(session: AsyncSession, after: str, limit: int, *, directory: bool = True
                         ) -> list[tuple[str, bool]]:
    """The next ``limit`` entities after USCC ``after``, those with a standing and (``directory``) the directory's
    active ones, as (uscc, has a standing)."""
    page = _PAGE if directory else _STANDINGS_PAGE
    return [tuple(r) for r in await (await driver_connection(session)).fetch(page, after, limit)]


async def unscored_entities(session: AsyncSession) -> int:
    """How many of the directory's active entities have no standing yet (nothing was observed about them)."""
    q = (select(func.count()).select_from(entities)
         .where(entities.c.status == _ACTIVE, ~select(standings.c.uscc).where(standings.c.uscc == entities.c.uscc)
                .exists()))
    return (await session.execute(q)).scalar_one()


async def job_ran_for(session: AsyncSession, job: str) -> datetime | None:
    """The daily moment the periodic ``job`` last completed a run for (None: never)."""
    return (await session.execute(select(job_runs.c.ran_for).where(job_runs.c.job == job))).scalar_one_or_none()


async def record_job_run(session: AsyncSession, job: str, ran_for: datetime, at: datetime) -> None:
    stmt = pg_insert(job_runs).values(job=job, ran_for=ran_for, ran_at=at)
    await session.execute(stmt.on_conflict_do_update(index_elements=[job_runs.c.job],
                                                     set_={"ran_for": ran_for, "ran_at": at}))


async def add_class_histories(session: AsyncSession, rows: list[dict]) -> None:
    """Class history rows (one statement, executed for every row: its text compiled once)."""
    await session.execute(insert(class_history), rows)


_SET_CLASSES = text(
    "UPDATE standings s SET credit_class = r.credit_class, class_version = r.class_version, class_changed_at = :at "
    "FROM unnest(:usccs, :classes, :versions) AS r(uscc, credit_class, class_version) WHERE s.uscc = r.uscc"
).bindparams(bindparam("usccs", type_=ARRAY(Text)), bindparam("classes", type_=ARRAY(Text)),
             bindparam("versions", type_=ARRAY(Integer)), bindparam("at", type_=DateTime(timezone=True)))


async def set_credit_classes(session: AsyncSession, classes: list[tuple[str, str, int]], at: datetime) -> None:
    """Many entities' new credit class in force, as (uscc, class, class version): one statement."""
    usccs, values, versions = zip(*classes)
    await session.execute(_SET_CLASSES, {"usccs": list(usccs), "classes": list(values), "versions": list(versions),
                                         "at": at})


async def class_history_of(session: AsyncSession, uscc: str) -> list[dict]:
    q = select(class_history).where(class_history.c.uscc == uscc).order_by(class_history.c.class_version)
    return await all_rows(session, q)


async def entity(session: AsyncSession, uscc: str) -> dict | None:
    return await replica.entity(session, entities, uscc)
