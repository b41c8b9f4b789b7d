"""Every statement that changes the read model: one function per fact learnt from a topic.

Each is an upsert keyed by the publisher's ids, so a replayed event (rebuild, redelivery) changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from jsp_common.consumer import in_rounds
from jsp_common.unnest import unnest_insert
from sqlalchemy import Text, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain import clues as clue_rules
from .tables import (READ_MODEL, abandoned_draws, adjudication_cases, clue_alerts, clue_transitions, clues,
                     credit_classes, entities, inspection_results, inspection_targets)

CHANNEL = "dashboard_changes"  # PostgreSQL NOTIFY channel: delivered when the writing transaction commits
# The areas a change is announced for: "inspections" the published results (the public pages show them), "targets"
# the joint inspections' planned visits (internal work until their results are published).
AREAS = ("entities", "notifications", "adjudication", "clues", "inspections", "targets", "alerts")
QUIET = "dashboard_quiet"  # in a session's info: its changes are not announced (a rebuild's, to tables not shown)


async def announce(session: AsyncSession, area: str) -> None:
    """Tell the live pages that ``area`` changed (NOTIFY is delivered only if the transaction commits); once per
    area and transaction, however many of a poll's events change it."""
    if session.info.get(QUIET):
        return
    announced = session.info.setdefault("dashboard_announced", set())
    if area not in announced:
        announced.add(area)
        await session.execute(select(func.pg_notify(CHANNEL, area)))


# Entity records: a poll's in one statement of fixed text. The latest record wins (by record_version, strictly: a
# redelivered version changes nothing, so the tally triggers see no change); the first one seen of an entity keeps
# its first_seen_at.
_ENTITY_COLUMNS = tuple(c.name for c in entities.c)
_UPSERT_ENTITIES = unnest_insert(entities, _ENTITY_COLUMNS, suffix=(
    "ON CONFLICT (uscc) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _ENTITY_COLUMNS if c not in ("uscc", "first_seen_at"))
    + " WHERE entities.record_version < excluded.record_version"))


async def upsert_entities(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Entity records in the order received: as if upserted one by one (one row per entity in the statement)."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        held = latest.get(row["uscc"])
        if held is None:
            latest[row["uscc"]] = row
        elif held["record_version"] < row["record_version"]:
            latest[row["uscc"]] = {**row, "first_seen_at": held["first_seen_at"]}
    await _UPSERT_ENTITIES.run(session, list(latest.values()))
    await session.execute(_TARGET_CITIES, {"usccs": list(latest)})


# Planned visits written before their entity's record arrived take its city now (a partial index holds them).
_TARGET_CITIES = text(
    "UPDATE inspection_targets t SET city_code = e.city_code FROM entities e "
    "WHERE t.city_code IS NULL AND t.uscc = ANY(:usccs) AND e.uscc = t.uscc AND e.city_code IS NOT NULL"
).bindparams(bindparam("usccs", type_=ARRAY(Text)))


async def upsert_credit_class(session: AsyncSession, row: dict[str, Any]) -> None:
    """An entity's class: a record older than the one held (a redelivery, a replay) changes nothing."""
    stmt = insert(credit_classes).values(**row)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[credit_classes.c.uscc], set_={k: stmt.excluded[k] for k in row if k != "uscc"},
        where=credit_classes.c.record_version < stmt.excluded.record_version))


async def upsert_case(session: AsyncSession, row: dict[str, Any]) -> None:
    """A case keeps the moment it was first requested (the registry repeats the request for a case still open)."""
    stmt = insert(adjudication_cases).values(**row)
    changing = {k: stmt.excluded[k] for k in row if k not in ("case_id", "requested_at")}
    if "requested_at" in row:
        changing["requested_at"] = func.least(adjudication_cases.c.requested_at, stmt.excluded.requested_at)
    await session.execute(stmt.on_conflict_do_update(index_elements=[adjudication_cases.c.case_id], set_=changing))


async def record_transitions(session: AsyncSession, transitions: list[tuple[dict[str, Any], dict[str, Any], bool, bool]]
                             ) -> int:
    """Transitions of clues, in order, as (the clue's current state, its timeline row, returned, redispatched):
    the timeline rows in one statement, then the clues' rows, a clue's successive changes taken together where
    that gives the same row (``domain.clues.folded``), one statement a round (a round holds at most one change
    per clue, in the clue's order: ``in_rounds``). A transition already known changes nothing. Returns how many
    were new."""
    new = {r["event_id"] for r in await _INSERT_STEPS.run(session, [step for _, step, _, _ in transitions])}
    changed = []
    for clue, step, returned, redispatched in transitions:
        if step["event_id"] in new:
            new.discard(step["event_id"])  # the same event twice in a poll counts once
            changed.append({**clue, "returns": int(returned), "redispatches": int(redispatched)})
    for round_ in in_rounds(clue_rules.folded(changed), key=lambda c: c["clue_id"]):
        await _upsert_clue(tuple(sorted(k for k in round_[0] if k not in clue_rules.ADDED))).run(session, round_)
    return len(changed)


# The lifecycle topic brings most of the read model's events. A poll's timeline rows go in one statement of fixed
# text (jsp_common.unnest), and so do a round's clues (built once per set of columns a transition carries).
_INSERT_STEPS = unnest_insert(clue_transitions, tuple(c.name for c in clue_transitions.c),
                              suffix="ON CONFLICT DO NOTHING", returning=("event_id",))


def _newer(column: str) -> str:
    """A column's value after a transition: the transition's when it is the clue's latest, else the clue's."""
    if column in clue_rules.KEPT_WHEN_ABSENT:
        value = f"coalesce(excluded.{column}, clues.{column})"
    elif column == "deadline_provisional":  # goes with the deadline: a transition without one keeps both
        value = ("CASE WHEN excluded.deadline IS NULL THEN clues.deadline_provisional "
                 "ELSE excluded.deadline_provisional END")
    else:
        value = f"excluded.{column}"
    return f"{column} = CASE WHEN excluded.updated_at >= clues.updated_at THEN {value} ELSE clues.{column} END"


@lru_cache(maxsize=64)
def _upsert_clue(columns: tuple[str, ...]):
    """A round's clues in one statement of fixed text (per set of columns a transition carries)."""
    changing = [_newer(c) for c in columns if c not in ("clue_id", "received_at")]
    return unnest_insert(clues, (*columns, *clue_rules.ADDED), suffix=(
        "ON CONFLICT (clue_id) DO UPDATE SET " + ", ".join([
            *changing, "received_at = least(clues.received_at, excluded.received_at)",
            *(f"{c} = clues.{c} + excluded.{c}" for c in clue_rules.ADDED)])))


async def clue_deadline_changed(session: AsyncSession, clue_id: str, *, previous: datetime, deadline: datetime,
                                provisional: bool, previous_passed: bool) -> None:
    """A recomputed handling deadline: applied where the clue still has the earlier one (the lifecycle topic may
    have brought it, or a later change, first); the earlier one kept when it had already passed."""
    await session.execute(update(clues).where(clues.c.clue_id == clue_id, clues.c.deadline == previous)
                          .values(deadline=deadline, deadline_provisional=provisional))
    if previous_passed:
        await session.execute(update(clues).where(clues.c.clue_id == clue_id).values(previous_deadline=previous))


async def record_clue_alert(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(insert(clue_alerts).values(**row).on_conflict_do_nothing())


async def upsert_inspection_result(session: AsyncSession, row: dict[str, Any]) -> None:
    stmt = insert(inspection_results).values(**row)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[inspection_results.c.task_id, inspection_results.c.uscc],
        set_={k: stmt.excluded[k] for k in row if k not in ("task_id", "uscc")}))


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows per read-model table (what a rebuild reports)."""
    return {t.name: (await session.execute(select(func.count()).select_from(t))).scalar_one() for t in READ_MODEL}


async def upsert_targets(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        stmt = insert(inspection_targets).values(rows)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[inspection_targets.c.task_id, inspection_targets.c.uscc],
            set_={k: stmt.excluded[k] for k in rows[0] if k not in ("task_id", "uscc")}))


async def update_target(session: AsyncSession, task_id: str, uscc: str, **values: Any) -> None:
    """Results recorded at a planned visit, or its publication deadline recounted (the visit's row was written
    by the department's part of the task, earlier on the same topic)."""
    await session.execute(update(inspection_targets).where(inspection_targets.c.task_id == task_id,
                                                           inspection_targets.c.uscc == uscc).values(**values))


async def _draw_in_turn(session: AsyncSession, draw_id: str) -> None:
    """A draw's abandonment and its departments' parts are applied one at a time (they come on different topics,
    through different consumers): each sees what the other wrote."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext("dashboard.draw:" + draw_id))))


async def remove_draw_targets(session: AsyncSession, draw_id: str, at: datetime) -> None:
    """An abandoned draw's targets are not visited: those written are removed, and the draw kept so that a part
    of its task applied later writes none."""
    await _draw_in_turn(session, draw_id)
    await session.execute(insert(abandoned_draws).values(draw_id=draw_id, at=at).on_conflict_do_nothing())
    await session.execute(delete(inspection_targets).where(inspection_targets.c.draw_id == draw_id))


async def draw_abandoned(session: AsyncSession, draw_id: str) -> bool:
    """Whether the draw was abandoned (applied already)."""
    await _draw_in_turn(session, draw_id)
    return (await session.execute(select(abandoned_draws.c.draw_id).where(abandoned_draws.c.draw_id == draw_id))
            ).first() is not None


async def cities_of(session: AsyncSession, usccs: list[str]) -> dict[str, str | None]:
    rows = await session.execute(select(entities.c.uscc, entities.c.city_code).where(entities.c.uscc.in_(usccs)))
    return dict(rows.all())
