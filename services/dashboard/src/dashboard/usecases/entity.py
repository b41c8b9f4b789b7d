"""One entity: the gateway's entity 360 view (asked with the signed-in person's own token, so the gateway
and the services scope it exactly as for any other call) beside what the read model holds about it."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.problems import Problem

from ..adapters import reads, reads_panels
from ..deps import Deps


async def entity_360(deps: Deps, uscc: str, authorization: str | None) -> dict:
    if not authorization:
        raise Problem(401, "sign in again: the page needs your session to ask for the entity")
    try:
        resp = await deps.gateway.get(f"/entities/{uscc}/360", headers={"authorization": authorization})
    except httpx.HTTPError:
        return {"uscc": uscc, "registry": None, "clues": None, "complete": False,
                "missing": [{"part": "gateway", "reason": "网关暂时无法访问"}]}
    if resp.status_code in (403, 404):  # not the caller's in the registry (or unknown there): see ``hidden``
        return {"uscc": uscc, "registry": None, "clues": None, "complete": False, "hidden": True,
                "missing": [{"part": "registry", "reason": "登记信息仅对其监管部门可见"}]}
    if resp.status_code == 401:
        raise Problem(401, "your session has ended; sign in again")
    if resp.status_code != 200:
        return {"uscc": uscc, "registry": None, "clues": None, "complete": False,
                "missing": [{"part": "gateway", "reason": f"网关返回 {resp.status_code}"}]}
    return resp.json()


def hidden(view: dict, local: dict) -> bool:
    """An entity the caller may not see at all: the registry keeps it from them (another department's, or none
    it knows) and the read model holds nothing of theirs about it. A department leading a clue about a business
    for what the clue is about (a gas leak: the city's gas authority), which the registry names another
    department for, sees its page: what it may see, the registry's part said unavailable."""
    return bool(view.get("hidden")) and not any(local.values())


async def about(session: AsyncSession, uscc: str, department: str | None) -> dict:
    """What the read model holds about the entity: notifications, clues, inspection results, risk alerts and
    joint-inspection visits (a department: its own)."""
    return {**await reads.about_entity(session, uscc, department),
            **await reads_panels.about_entity(session, uscc, department)}
