"""Reading the directory (综合监管对象名录库): search, one entity, its history; the office sees every entity,
a department those it supervises."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import Database
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import entities as records
from ..deps import Deps
from ..domain import name_search
from ..domain.access import can_see_entity
from ..domain.directory import Record


async def entity_for(session: AsyncSession, principal: Principal, uscc: str, *, lock: bool = False) -> Record:
    """An entity's record the caller may see (404 otherwise)."""
    record = await records.load_record(session, uscc, lock=lock)
    if record is None or not can_see_entity(principal, record.departments):
        raise Problem(404, f"no entity {uscc} here")
    return record


async def search(deps: Deps, session: AsyncSession, *, limit: int, offset: int,
                 **filters: str | None) -> tuple[int, bool, list]:
    """A page of entities matching ``filters`` (``adapters.entities.entity_filters``), in USCC order, and the total
    counted up to ``search_count_cap`` (whether more match); the name index's statistics decide how the count
    looks names up (``domain.name_search``)."""
    shares = await deps.bigram_shares.get(session)
    by_index = not name_search.count_by_reading_in_order(filters.get("name"), shares)
    return await records.search_entities(session, where=records.entity_filters(**filters),
                                         count_where=records.entity_filters(**filters, name_by_index=by_index),
                                         limit=limit, offset=offset, count_cap=deps.settings.search_count_cap)


async def entity_row(db: Database, principal: Principal, uscc: str) -> dict[str, Any]:
    row = await records.entity_row(db, uscc)
    if row is None or not can_see_entity(principal, row["departments"]):
        raise Problem(404, f"no entity {uscc} here")
    return row


async def history(session: AsyncSession, principal: Principal, uscc: str) -> dict[str, Any]:
    """Every change received (applied or superseded), every decision, and the notifications the caller may see."""
    await entity_for(session, principal, uscc)
    return {"uscc": uscc, **await records.history(session, uscc,
                                                  department=None if principal.is_office else principal.department)}
