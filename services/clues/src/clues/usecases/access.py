"""Who may see and act on a clue, and a clue as its caller may see it.

A department sees the clues dispatched to it (lead or co-handler), the office sees all, the hotline its own
work orders; a clue the caller may not see does not exist for it (404)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import departments
from jsp_common.events.clues import Channel
from jsp_common.principal import Principal, Role
from jsp_common.problems import Problem

from ..adapters import repository as repo
from ..adapters.crypto import PiCipher

# The service acting on its own account.
INTAKE = Principal(subject="clues.intake", roles=[])
SCANNER = Principal(subject="clues.deadline-scan", roles=[])


def sees_personal_info(actor: Principal) -> bool:
    return actor.has(Role.OFFICE, Role.HOTLINE)


def can_see(clue: dict, actor: Principal) -> bool:
    if actor.has(Role.OFFICE):
        return True
    if actor.has(Role.DEPARTMENT) and actor.department and (
            clue["lead_department"] == actor.department or actor.department in (clue["co_departments"] or [])):
        return True
    if actor.has(Role.HOTLINE) and clue["channel"] == Channel.HOTLINE:
        return True
    return False


async def load(session: AsyncSession, clue_id: str, actor: Principal, *, for_update: bool = True) -> dict:
    clue = await repo.get_clue(session, clue_id, for_update=for_update)
    if clue is None or not can_see(clue, actor):
        raise Problem(404, f"no clue {clue_id}")
    return clue


def require_lead(clue: dict, actor: Principal, *, office_too: bool = False, what: str) -> None:
    if office_too and actor.has(Role.OFFICE):
        return
    if actor.has(Role.DEPARTMENT) and actor.department == clue["lead_department"]:
        return
    raise Problem(403, f"only the lead department ({clue['lead_department']}) may {what}"
                       + (" (or the office)" if office_too else ""))


def check_department(code: str, field_name: str) -> str:
    """A department code named in a request (422 with the field when unknown)."""
    try:
        return departments.department(code).code
    except departments.UnknownDepartment as exc:
        raise Problem(422, str(exc), errors=[{"field": field_name, "reason": str(exc)}]) from None


def view(cipher: PiCipher, clue: dict, actor: Principal) -> dict:
    """A clue as this caller may see it: personal details in clear only for the office and the hotline."""
    out = {k: v for k, v in clue.items() if not k.endswith("_enc") and not k.endswith("_masked")}
    if sees_personal_info(actor):
        out["caller_name"] = cipher.decrypt(clue["caller_name_enc"])
        out["caller_phone"] = cipher.decrypt(clue["caller_phone_enc"])
    else:
        out["caller_name"] = clue["caller_name_masked"]
        out["caller_phone"] = clue["caller_phone_masked"]
    return out
