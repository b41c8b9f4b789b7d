"""The lead department's handling (办理): accept, return a misrouted clue (退回), verify (核查), and record the
finding with the measures taken."""

from __future__ import annotations

from jsp_common import clock
from jsp_common.events.clues import Finding
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import transfers as transfer_rows
from ..deps import Deps
from ..domain import transfers as transfer_rules
from ..domain.lifecycle import State
from . import access, journal, transfers


async def accept(deps: Deps, tx: Tx, clue_id: str, actor: Principal) -> dict:
    """The lead department takes the clue; a case the police sent back is then accepted too."""
    clue = await access.load(tx.session, clue_id, actor)
    access.require_lead(clue, actor, what="accept this clue")
    await journal.move(tx, clue, "accept", actor)
    for t in await transfer_rows.transfers_of_clue(tx.session, clue_id, direction="from_police",
                                          status=transfer_rules.RECEIVED):
        await transfers.step(tx, t, "accept_returned", actor, change="accepted", department=actor.department)
    return clue


async def return_clue(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, reason: str) -> dict:
    """Return (退回) a misrouted clue to the office, within the return window, unless it was arbitrated."""
    clue = await access.load(tx.session, clue_id, actor)
    access.require_lead(clue, actor, what="return this clue")
    if clue["state"] == State.DISPATCHED:
        if clue["arbitrated"]:
            raise Problem(409, "the office arbitrated this clue to your department; it cannot be returned",
                          state=clue["state"])
        if clue["return_deadline"] and clock.now() > clue["return_deadline"]:
            workdays = clue["return_deadline_workdays"] or deps.settings.return_within_workdays
            raise Problem(409, f"the return window closed at {clue['return_deadline'].isoformat()} "
                               f"({workdays} working days after dispatch)", state=clue["state"])
    await journal.move(tx, clue, "return", actor, details={"reason": reason, "department": actor.department})
    return clue


async def start_verification(deps: Deps, tx: Tx, clue_id: str, actor: Principal) -> dict:
    clue = await access.load(tx.session, clue_id, actor)
    access.require_lead(clue, actor, what="verify this clue")
    await journal.move(tx, clue, "verify", actor)
    return clue


async def record_finding(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, finding: Finding,
                         measures: str) -> dict:
    """The lead department records what it found and the measures it took (the clue is handled)."""
    clue = await access.load(tx.session, clue_id, actor)
    access.require_lead(clue, actor, what="record the handling of this clue")
    await journal.move(tx, clue, "handle", actor, details={"finding": finding.value, "measures": measures},
                       finding=finding.value, measures=measures)
    return clue
