"""The public pages (一公开): published inspection results, the departments and how their systems subscribe,
and the key-matters list with service manuals (the inspection service's public routes, through the gateway)."""

from __future__ import annotations

import httpx
from sqlalchemy import and_, or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.cached import Refreshing
from jsp_common.topics import (DEPARTMENT_ALERTS, DEPARTMENT_CLUES, DEPARTMENT_INSPECTIONS, DEPARTMENT_TEMPLATES,
                               NOTIFICATIONS, department_topic)

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


# What each of a department's own topics carries, as the public page names it (a topic added to the catalogue
# without a name here is listed under its own).
TOPIC_LABELS = {NOTIFICATIONS: "双告知（新增监管对象、逾期提醒、签收）", DEPARTMENT_CLUES: "问题线索（分派、催办、督办）",
                DEPARTMENT_INSPECTIONS: "联合抽查（检查任务、结果、公示期限）", DEPARTMENT_ALERTS: "风险预警（预警、督办、关闭）"}
DEPARTMENT_TOPICS = tuple((TOPIC_LABELS.get(t, t), t) for t in DEPARTMENT_TEMPLATES)


def departments(page_size: int, f: Filters) -> tuple[int, list[dict]]:
    """Every department, with each of the topics of its own its system subscribes to (every per-department topic
    of the catalogue)."""
    rows = [{"code": code, "name": name, "city_code": department_city(code),
             "topics": [(label, department_topic(topic, code)) for label, topic in DEPARTMENT_TOPICS]}
            for code, name in all_departments()
            if (not f.q or f.q in name or f.q.lower() in code) and (not f.city or department_city(code) == f.city)]
    start = (f.page - 1) * page_size
    return len(rows), rows[start:start + page_size]


async def matters_in_effect(gateway: httpx.AsyncClient) -> list[dict] | None:
    """The key matters in effect, from the inspection service's public list; None while it cannot be had. Kept by
    ``Deps.matters``, the answer that it cannot be had as well: every view of the public pages asking the gateway
    would spend the dashboard's own per-address allowance there, shared by all its visitors, and once spent every
    view asking again would keep it spent."""
    try:
        resp = await gateway.get(MATTERS_PATH)
    except httpx.HTTPError:
        return None
    return resp.json() if resp.status_code == 200 else None


async def matters(deps: Deps, page_size: int, f: Filters) -> tuple[int, list[dict]] | None:
    """The key matters in effect, a page of them; None while the inspection service cannot be reached."""
    found = await deps.matters.get()
    if found is None:
        return None
    rows = [m for m in found if not f.q or f.q in (m.get("name") or "") or f.q == m.get("code")]
    start = (f.page - 1) * page_size
    return len(rows), rows[start:start + page_size]


async def matter_names(found: Refreshing[list[dict] | None]) -> MatterNames:
    """The names of the matters in effect (none while the inspection service cannot be reached: codes alone)."""
    return names_of(await found.get() or [])
