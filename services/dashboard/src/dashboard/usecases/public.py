"""The public pages (一公开): published inspection results, the departments and how their systems subscribe,
and the key-matters list with service manuals (the inspection service's public routes, through the gateway)."""

from __future__ import annotations

import httpx
from sqlalchemy import and_, or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.topics import DEPARTMENT_CLUES, NOTIFICATIONS, department_topic

from ..adapters import reads
from ..adapters.reads import ir
from ..deps import Deps
from ..domain.matters import MatterNames, names_of
from ..domain.places import all_departments, department_city
from .lists import Filters, _like

MATTERS_PATH = "/inspection/public/matters"


async def results(session: AsyncSession, page_size: int, f: Filters):
    cond = true()
    if f.q:
        cond = and_(cond, or_(ir.entity_name.like(_like(f.q)), ir.uscc == f.q.upper(), ir.matter_code == f.q))
    if f.city:
        cond = and_(cond, reads.e.city_code == f.city)
    return await reads.inspection_list(session, None, cond, limit=page_size, offset=(f.page - 1) * page_size)


def departments(page_size: int, f: Filters) -> tuple[int, list[dict]]:
    rows = [{"code": code, "name": name, "city_code": department_city(code),
             "notifications_topic": department_topic(NOTIFICATIONS, code),
             "clues_topic": department_topic(DEPARTMENT_CLUES, code)}
            for code, name in all_departments()
            if (not f.q or f.q in name or f.q.lower() in code) and (not f.city or department_city(code) == f.city)]
    start = (f.page - 1) * page_size
    return len(rows), rows[start:start + page_size]


async def _matters_in_effect(gateway: httpx.AsyncClient) -> list[dict] | None:
    """The key matters in effect, from the inspection service's public list; None while it cannot be reached."""
    try:
        resp = await gateway.get(MATTERS_PATH)
    except httpx.HTTPError:
        return None
    return resp.json() if resp.status_code == 200 else None


async def matters(deps: Deps, page_size: int, f: Filters) -> tuple[int, list[dict]] | None:
    """The key matters in effect, a page of them; None while the inspection service cannot be reached."""
    found = await _matters_in_effect(deps.gateway)
    if found is None:
        return None
    rows = [m for m in found if not f.q or f.q in (m.get("name") or "") or f.q == m.get("code")]
    start = (f.page - 1) * page_size
    return len(rows), rows[start:start + page_size]


async def matter_names(gateway: httpx.AsyncClient) -> MatterNames:
    """The names of the matters in effect (none while the inspection service cannot be reached: codes alone)."""
    return names_of(await _matters_in_effect(gateway) or [])
