"""The office's adjudication cases (研判定性) and the append-only log of decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Text, any_, bindparam, exists, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from .tables import adjudication_cases, decisions, entities


async def add_decision(session: AsyncSession, *, uscc: str | None, action: str, actor: str, now: datetime,
                       details: dict | None = None) -> None:
    await session.execute(insert(decisions).values(uscc=uscc, action=action, actor=actor, at=now,
                                                   details=details or {}))


async def open_case(session: AsyncSession, *, case_id: str, uscc: str, reason: str, candidates: Sequence[str],
                    detail: str | None, opened_by: str, now: datetime) -> str:
    """Open an adjudication case unless one is open for the entity; returns the open case's id."""
    stmt = pg_insert(adjudication_cases).values(
        id=case_id, uscc=uscc, reason=reason, status="open", candidate_departments=list(candidates),
        detail=detail, opened_at=now, opened_by=opened_by, announced="open",  # the caller announces it at once
    ).on_conflict_do_nothing(index_elements=[adjudication_cases.c.uscc],
                             index_where=text("status = 'open'")).returning(adjudication_cases.c.id)
    got = (await session.execute(stmt)).scalar()
    if got:
        return got
    return (await session.execute(select(adjudication_cases.c.id).where(
        adjudication_cases.c.uscc == uscc, adjudication_cases.c.status == "open"))).scalar_one()


async def open_case_of(session: AsyncSession, uscc: str) -> str | None:
    """The id of the entity's open case, if it has one."""
    return (await session.execute(select(adjudication_cases.c.id).where(
        adjudication_cases.c.uscc == uscc, adjudication_cases.c.status == "open"))).scalar()


async def disputed_in(session: AsyncSession, case_id: str, *, uscc: str, department: str, reason: str) -> bool:
    """Whether ``department`` disputed the entity with ``reason`` in case ``case_id`` already."""
    return (await session.execute(select(exists().where(
        decisions.c.uscc == uscc, decisions.c.action == "assignment_disputed",
        decisions.c.details.contains({"case_id": case_id, "department": department, "reason": reason}))))).scalar()


async def add_to_detail(session: AsyncSession, case_id: str, line: str) -> None:
    """Another line of what the office decides from (a second department's dispute of an open case)."""
    await session.execute(update(adjudication_cases).where(adjudication_cases.c.id == case_id).values(
        detail=func.concat_ws("\n", adjudication_cases.c.detail, line)))


# What announcing a case needs: the case, and the name of its entity.
_ANNOUNCED = (adjudication_cases.c.id, adjudication_cases.c.uscc, adjudication_cases.c.reason,
              adjudication_cases.c.status, adjudication_cases.c.candidate_departments, adjudication_cases.c.detail,
              adjudication_cases.c.opened_at, adjudication_cases.c.decided_at, adjudication_cases.c.decided_by,
              adjudication_cases.c.note, adjudication_cases.c.announced)


async def withdraw_open_cases(session: AsyncSession, usccs: Sequence[str], *, actor: str, note: str,
                              now: datetime, announced: bool) -> list:
    """Withdraw the open case of each of ``usccs`` (no longer needed): the cases there were, as they were before
    (``announced``: what had been published of each), with the withdrawal's ``decided_at``, ``decided_by`` and
    ``note``. ``announced``: the caller publishes the withdrawals at once (else the replicate job does)."""
    before = (select(adjudication_cases.c.id, adjudication_cases.c.announced).where(
        # one array, however many (an import may withdraw tens of thousands)
        adjudication_cases.c.uscc == any_(bindparam("usccs", list(usccs), type_=ARRAY(Text))),
        adjudication_cases.c.status == "open").with_for_update().cte("before"))
    values = dict(status="withdrawn", decided_at=now, decided_by=actor, note=note)
    if announced:
        values["announced"] = "withdrawn"
    returned = [before.c.announced if c.name == "announced" else c for c in _ANNOUNCED]
    return list((await session.execute(
        update(adjudication_cases).where(adjudication_cases.c.id == before.c.id).values(**values)
        .returning(*returned))).all())


async def unannounced(session: AsyncSession, *, limit: int) -> list:
    """Cases whose status is not published yet (the bulk import's), with their entity's ``name``, locked,
    skipping locked ones."""
    return list((await session.execute(
        select(*_ANNOUNCED, entities.c.name).join(entities, entities.c.uscc == adjudication_cases.c.uscc,
                                                  isouter=True)
        .where(adjudication_cases.c.announced.is_distinct_from(adjudication_cases.c.status))
        .order_by(adjudication_cases.c.id).limit(limit)
        .with_for_update(of=adjudication_cases, skip_locked=True))).all())


async def mark_announced(session: AsyncSession, case_ids: Sequence[str]) -> None:
    await session.execute(update(adjudication_cases).where(adjudication_cases.c.id == any_(
        bindparam("ids", list(case_ids), type_=ARRAY(Text)))).values(announced=adjudication_cases.c.status))


async def waiting_no_longer(session: AsyncSession) -> list[str]:
    """The entities an open case waits for that no longer wait themselves, locked in USCC order (as the intake locks
    them): assigned, and closed or waiting for no rule matching (a change the bulk import made, which writes the
    records alone). A department's dispute of an entity the rules assign stays for the office."""
    return list((await session.execute(
        select(entities.c.uscc).where(entities.c.assignment_state == "assigned", exists().where(
            adjudication_cases.c.uscc == entities.c.uscc, adjudication_cases.c.status == "open",
            or_(adjudication_cases.c.reason == "no_rule_matched", entities.c.status != "active")))
        .order_by(entities.c.uscc).with_for_update(of=entities))).scalars())


async def case_for_decision(session: AsyncSession, case_id: str):
    """A case, locked (its ``status``, ``uscc``, ``reason``), or None."""
    return (await session.execute(select(adjudication_cases).where(adjudication_cases.c.id == case_id)
                                  .with_for_update())).first()


async def decide_case(session: AsyncSession, case_id: str, *, departments: list[str], note: str | None, by: str,
                      now: datetime) -> None:
    await session.execute(update(adjudication_cases).where(adjudication_cases.c.id == case_id).values(
        status="decided", decided_at=now, decided_by=by, departments=departments, note=note, announced="decided"))


def _with_name():
    return select(adjudication_cases, entities.c.name).join(
        entities, entities.c.uscc == adjudication_cases.c.uscc, isouter=True)


async def queue(session: AsyncSession, *, status: str, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """A page of the cases in ``status``, oldest first (with the entity's name), and how many there are."""
    total = (await session.execute(select(func.count()).select_from(adjudication_cases)
                                   .where(adjudication_cases.c.status == status))).scalar_one()
    rows = (await session.execute(_with_name().where(adjudication_cases.c.status == status)
                                  .order_by(adjudication_cases.c.opened_at, adjudication_cases.c.id).limit(limit)
                                  .offset(offset))).all()
    return total, [dict(r._mapping) for r in rows]


async def case(session: AsyncSession, case_id: str) -> dict[str, Any] | None:
    row = (await session.execute(_with_name().where(adjudication_cases.c.id == case_id))).first()
    return dict(row._mapping) if row else None
