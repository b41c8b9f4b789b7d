"""Reading and writing the clues service's tables (SQLAlchemy Core, inside the caller's transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (DateTime, Integer, Text, and_, bindparam, case, func, insert, or_, select, text, true, tuple_,
                        update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import statistics
from jsp_common.db import all_rows, dicts, first_row
from jsp_common.schedule_feed import Moved, counted_through
from jsp_common.domains import Domain
from jsp_common.unnest import unnest_insert

from ..domain import lifecycle
from ..domain.routing import Rule
from .tables import clues, deadline_policies, extensions, routing_rules, transitions


async def clue_by_ref(session: AsyncSession, channel: str, channel_ref: str) -> dict | None:
    return await first_row(session, select(clues).where(clues.c.channel == channel, clues.c.channel_ref == channel_ref))


async def clues_by_refs(session: AsyncSession, refs: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """The clues already taken in under these (channel, reference) pairs (one statement), by pair."""
    if not refs:
        return {}
    wanted = sorted(set(refs))
    res = await session.execute(_BY_REFS, {"channels": [c for c, _ in wanted], "refs": [r for _, r in wanted]})
    return {(r["channel"], r["channel_ref"]): r for r in dicts(res)}


# Fixed text whatever the number of pairs (an IN list is rendered, parsed and prepared anew for every length).
_BY_REFS = text(
    f"SELECT {', '.join(c.name for c in clues.c)} FROM clues "
    "WHERE (channel, channel_ref) IN (SELECT * FROM unnest(:channels, :refs))"
).bindparams(bindparam("channels", type_=ARRAY(Text)), bindparam("refs", type_=ARRAY(Text))).columns(*clues.c)


async def get_clue(session: AsyncSession, clue_id: str, *, for_update: bool = False) -> dict | None:
    q = select(clues).where(clues.c.id == clue_id)
    return await first_row(session, q, for_update=for_update)


async def insert_clue(session: AsyncSession, values: dict) -> dict | None:
    """Insert a new clue and return the full row; None if its (channel, reference) is already known."""
    return await first_row(session, pg_insert(clues).values(**values)
                        .on_conflict_do_nothing(constraint="clues_channel_ref").returning(clues))


# The columns a new clue is written with (the database sets when it was written).
_BLANK = tuple(c.name for c in clues.c if c.name not in ("created_at", "updated_at"))


def blank_clue() -> dict:
    """Every column of a new clue, none set."""
    return dict.fromkeys(_BLANK)


# A poll's new clues in one statement of fixed text (jsp_common.unnest).
_INSERT_CLUES = unnest_insert(clues, _BLANK, suffix="ON CONFLICT ON CONSTRAINT clues_channel_ref DO NOTHING",
                              returning=tuple(c.name for c in clues.c))


async def insert_clues(session: AsyncSession, rows: list[dict]) -> list[dict]:
    """Insert new clues (one statement) and return the rows inserted; a (channel, reference) already known is
    left out of the answer."""
    if not rows:
        return []
    return await _INSERT_CLUES.run(session, rows)


# What the intake's look-ups filter clues by (the texts, most of an analysis's work, are left to autovacuum).
_PLANNED_BY = ("uscc", "division_code", "received_at", "state", "duplicate_of")


async def keep_analysed(session: AsyncSession, growth: statistics.Growth, written: int) -> None:
    """The clues table analysed as it fills (a first day), so that the look-ups of a poll's duplicates are planned
    for its size: unanalysed, each new clue's look-up read every open clue's index entry."""
    await statistics.keep_analysed(session, clues.name, growth, written, columns=_PLANNED_BY)


async def update_clue(session: AsyncSession, clue_id: str, **values: Any) -> None:
    await session.execute(update(clues).where(clues.c.id == clue_id).values(**values, updated_at=func.now()))


async def add_transition(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(transitions).values(**values))


async def add_transitions(session: AsyncSession, rows: list[dict]) -> None:
    """Several transitions, kept in the order given: one statement (a poll's intake writes two or three per clue)."""
    if rows:
        await _INSERT_TRANSITIONS.run(session, rows)


_INSERT_TRANSITIONS = unnest_insert(transitions, tuple(c.name for c in transitions.c if c.name != "id"))


async def history(session: AsyncSession, clue_id: str) -> list[dict]:
    q = select(transitions).where(transitions.c.clue_id == clue_id).order_by(transitions.c.id)
    return await all_rows(session, q)


def visible_to(department: str):
    return or_(clues.c.lead_department == department, clues.c.co_departments.any(department))


async def list_clues(session: AsyncSession, *, department: str | None = None, channel: str | None = None,
                     state: str | None = None, uscc: str | None = None, limit: int = 100,
                     offset: int = 0) -> list[dict]:
    q = select(clues)
    if uscc:
        q = q.where(clues.c.uscc == uscc)
    if department:
        q = q.where(visible_to(department))
    if channel:
        q = q.where(clues.c.channel == channel)
    if state:
        q = q.where(clues.c.state == state)
    return await all_rows(session, q.order_by(clues.c.received_at.desc(), clues.c.id).limit(limit).offset(offset))


async def manual_queue(session: AsyncSession, *, limit: int, offset: int) -> list[dict]:
    """Unroutable clues, then returned ones, each oldest first (the longest waiting are dispatched first)."""
    first = case((clues.c.state == lifecycle.State.PENDING_DISPATCH.value, 0), else_=1)
    q = (select(clues).where(clues.c.state.in_([lifecycle.State.PENDING_DISPATCH.value,
                                                lifecycle.State.RETURNED.value]))
         .order_by(first, clues.c.received_at, clues.c.id).limit(limit).offset(offset))
    return await all_rows(session, q)


# What a linked duplicate takes from its first clue: whose it is (they see it) and the matter's domain.
_HANDLED_BY = (clues.c.lead_department, clues.c.co_departments, clues.c.domain)


async def lock_open_clues(session: AsyncSession, ids: list[str]) -> dict[str, dict]:
    """Those of ``ids`` that are open, each locked until the transaction ends (in id order), by id: the departments
    and domain they have now (their linked duplicates have the same)."""
    q = (select(clues.c.id, *_HANDLED_BY)
         .where(clues.c.id.in_(ids), clues.c.state.in_([s.value for s in lifecycle.OPEN_STATES]))
         .order_by(clues.c.id).with_for_update())
    return {r["id"]: r for r in await all_rows(session, q)}


async def linked_duplicates(session: AsyncSession, clue_id: str, state: str) -> list[dict]:
    return await all_rows(session, select(clues).where(clues.c.duplicate_of == clue_id, clues.c.state == state)
                      .with_for_update())


_CANDIDATE_COLUMNS = (clues.c.id, clues.c.content, clues.c.domain, clues.c.state, clues.c.lead_department,
                      clues.c.co_departments, clues.c.received_at)


async def duplicate_candidates_of(session: AsyncSession, wanted: list[tuple[str | None, str | None, datetime]],
                                  limit: int = 50) -> list[list[dict]]:
    """Open first clues (not themselves duplicates) about the same business, or the same place when no business is
    known, received since ``since``: the latest ``limit`` of them (a repeat is of a recent clue more often than of
    an old one), for several new clues at once, each given as (uscc, division code, since), in one statement per
    kind (by business, by place); the answers in the order asked."""
    found: list[list[dict]] = [[] for _ in wanted]
    by_uscc = [(i, u, since) for i, (u, _, since) in enumerate(wanted) if u]
    by_place = [(i, d, since) for i, (u, d, since) in enumerate(wanted) if not u and d]
    for keyed, column, extra in ((by_uscc, clues.c.uscc, None), (by_place, clues.c.division_code, clues.c.uscc)):
        if not keyed:
            continue
        asked = func.unnest(bindparam("ns", [i for i, _, _ in keyed], type_=ARRAY(Integer)),
                            bindparam("keys", [k for _, k, _ in keyed], type_=ARRAY(Text)),
                            bindparam("sinces", [s for _, _, s in keyed], type_=ARRAY(DateTime(timezone=True)))
                            ).table_valued("n", "key", "since").render_derived(name="asked")
        cond = [column == asked.c.key, clues.c.duplicate_of.is_(None), clues.c.received_at >= asked.c.since,
                clues.c.state.in_([s.value for s in lifecycle.OPEN_STATES])]
        if extra is not None:
            cond.append(extra.is_(None))
        each = (select(*_CANDIDATE_COLUMNS).where(*cond)
                .order_by(clues.c.received_at.desc(), clues.c.id.desc()).limit(limit)
                .lateral("candidate"))
        rows = await all_rows(session, select(asked.c.n, each).select_from(asked.join(each, true())))
        for r in rows:
            found[r.pop("n")].append(r)
    return found


async def timed_clues(session: AsyncSession, *, now: datetime, chase_before: datetime, escalate_before: datetime,
                      after: tuple[datetime, str] | None, limit: int) -> list[dict]:
    """Clues whose handling clock runs, past their deadline and not escalated, that are owed a chaser (not chased,
    deadline before ``chase_before``) or an escalation (chased before ``escalate_before``), in (deadline, id) order
    after ``after``, locked for this scan (those another replica holds are skipped: it scans them)."""
    q = select(clues).where(clues.c.state.in_([s.value for s in lifecycle.TIMED_STATES]),
                            clues.c.escalated_at.is_(None), clues.c.deadline < now,
                            or_(and_(clues.c.chased_at.is_(None), clues.c.deadline < chase_before),
                                clues.c.chased_at < escalate_before))
    if after is not None:
        q = q.where(tuple_(clues.c.deadline, clues.c.id) > tuple_(*after))
    return await all_rows(session, q.order_by(clues.c.deadline, clues.c.id).limit(limit)
                          .with_for_update(skip_locked=True))


async def clues_to_recount(session: AsyncSession, *, after: tuple[datetime, str] | None, limit: int, moved: Moved,
                           states: frozenset[str], returnable: str) -> list[dict]:
    """Clues with a provisional handling deadline or return window, or in ``states`` with a handling deadline
    counted through a ``moved`` span, or ``returnable`` with a return window counted through one, in
    (received_at, id) order after ``after``, locked (one another transaction holds is waited for: skipped, a final
    deadline would never be counted again)."""
    c = clues.c
    q = select(clues).where(or_(
        c.deadline_provisional, c.return_deadline_provisional,
        and_(c.state.in_(states), counted_through(c.deadline_from, c.deadline, moved)),
        and_(c.state == returnable, counted_through(c.return_deadline_from, c.return_deadline, moved))))
    if after is not None:
        q = q.where(tuple_(clues.c.received_at, clues.c.id) > tuple_(*after))
    q = q.order_by(clues.c.received_at, clues.c.id).limit(limit).with_for_update()
    return await all_rows(session, q)


# ---------------------------------------------------------------- extensions
async def add_extension(session: AsyncSession, **values: Any) -> int:
    return (await session.execute(insert(extensions).values(**values).returning(extensions.c.id))).scalar_one()


async def get_extension(session: AsyncSession, clue_id: str, ext_id: int) -> dict | None:
    return await first_row(session, select(extensions).where(extensions.c.id == ext_id, extensions.c.clue_id == clue_id)
                        .with_for_update())


async def list_extensions(session: AsyncSession, clue_id: str) -> list[dict]:
    return await all_rows(session, select(extensions).where(extensions.c.clue_id == clue_id).order_by(extensions.c.id))


async def withdraw_extensions(session: AsyncSession, clue_id: str, *, by: str, at: datetime, note: str) -> list[int]:
    """The clue's pending extensions withdrawn; returns their ids."""
    res = await session.execute(update(extensions).where(extensions.c.clue_id == clue_id,
                                                         extensions.c.status == "pending")
                                .values(status="withdrawn", decided_by=by, decided_at=at, note=note)
                                .returning(extensions.c.id))
    return sorted(res.scalars())


async def update_extension(session: AsyncSession, ext_id: int, **values: Any) -> None:
    await session.execute(update(extensions).where(extensions.c.id == ext_id).values(**values))


# ---------------------------------------------------------------- rules and policies
async def load_rules(session: AsyncSession) -> list[Rule]:
    rows = (await session.execute(select(routing_rules).where(routing_rules.c.enabled)
                                  .order_by(routing_rules.c.id))).mappings().all()
    return [Rule(keyword=r["keyword"], domain=Domain(r["domain"]), lead_agency=r["lead_agency"],
                 co_agencies=tuple(r["co_agencies"]), priority=r["priority"], id=r["id"]) for r in rows]


async def list_rules(session: AsyncSession) -> list[dict]:
    return await all_rows(session, select(routing_rules).order_by(routing_rules.c.id))


async def add_rule(session: AsyncSession, **values: Any) -> dict:
    return dict((await session.execute(insert(routing_rules).values(**values).returning(routing_rules))).mappings().one())


async def update_rule(session: AsyncSession, rule_id: int, **values: Any) -> dict | None:
    return await first_row(session, update(routing_rules).where(routing_rules.c.id == rule_id)
                        .values(**values, updated_at=func.now()).returning(routing_rules))


async def load_policies(session: AsyncSession) -> dict[tuple[str, str, str], int]:
    rows = (await session.execute(select(deadline_policies))).mappings().all()
    return {(r["channel"], r["urgency"], r["category"]): r["workdays"] for r in rows}


async def list_policies(session: AsyncSession) -> list[dict]:
    c = deadline_policies.c
    return await all_rows(session, select(deadline_policies).order_by(c.channel, c.urgency, c.category))


async def put_policy(session: AsyncSession, channel: str, urgency: str, category: str, workdays: int,
                     by: str) -> None:
    stmt = pg_insert(deadline_policies).values(channel=channel, urgency=urgency, category=category,
                                               workdays=workdays, updated_by=by)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["channel", "urgency", "category"],
        set_={"workdays": workdays, "updated_by": by, "updated_at": func.now()}))
