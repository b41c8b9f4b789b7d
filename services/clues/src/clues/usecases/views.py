"""What callers read: the clues they may see, the office's manual dispatch queue, one clue with its history,
and the hotline's view of its own work order."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.events.clues import Channel
from jsp_common.principal import Principal, Role
from jsp_common.problems import Problem

from ..adapters import repository as repo
from ..adapters import transfers as transfer_rows
from ..adapters.crypto import PiCipher
from ..domain.lifecycle import ANSWERED_STATES
from . import access


async def list_clues(cipher: PiCipher, session: AsyncSession, actor: Principal, *, state: str | None,
                     channel: str | None, uscc: str | None, limit: int, offset: int) -> list[dict]:
    """The office sees every clue, a department those dispatched to it, the hotline its work orders."""
    if actor.has(Role.OFFICE):
        department = None
    elif actor.has(Role.DEPARTMENT) and actor.department:
        department = actor.department
    elif actor.has(Role.HOTLINE):
        department, channel = None, Channel.HOTLINE.value
    else:
        raise Problem(403, "clues are for the office, the departments and the hotline")
    rows = await repo.list_clues(session, department=department, channel=channel, state=state, uscc=uscc,
                                 limit=limit, offset=offset)
    return [access.view(cipher, r, actor) for r in rows]


async def manual_queue(cipher: PiCipher, session: AsyncSession, actor: Principal, *, limit: int,
                       offset: int) -> list[dict]:
    """Unroutable clues, then returned ones, the longest waiting first: what the office dispatches by hand."""
    return [access.view(cipher, r, actor) for r in await repo.manual_queue(session, limit=limit, offset=offset)]


async def clue_detail(cipher: PiCipher, session: AsyncSession, clue_id: str, actor: Principal) -> dict:
    """One clue with its history, extensions and case transfers."""
    clue = await access.load(session, clue_id, actor, for_update=False)
    out = access.view(cipher, clue, actor)
    out["history"] = await repo.history(session, clue_id)
    out["extensions"] = await repo.list_extensions(session, clue_id)
    out["case_transfers"] = await transfer_rows.transfers_of_clue(session, clue_id)
    return out


async def work_order_reply(session: AsyncSession, work_order_no: str) -> dict:
    """The outcome of a hotline work order, as the hotline reads it: its state, and the outcome as it was published
    to the hotline (finding, measures, reply) only while that reply is the clue's current one. Before the reply the
    finding is the department's own record; once an unsatisfied revisit reopens the clue, the last round's reply
    is not its outcome any more (the caller's verdict on it stays, in ``satisfaction``, until the next reply)."""
    clue = await repo.clue_by_ref(session, Channel.HOTLINE.value, work_order_no)
    if clue is None:
        raise Problem(404, f"no work order {work_order_no}")
    answered = clue["state"] in ANSWERED_STATES
    outcome = {k: clue[k] if answered else None for k in ("finding", "measures", "reply_text", "replied_at")}
    return {"work_order_no": work_order_no, "clue_id": clue["id"], "state": clue["state"], **outcome,
            "duplicate_of": clue["duplicate_of"], "lead_department": clue["lead_department"],
            "satisfaction": clue["satisfaction"]}
