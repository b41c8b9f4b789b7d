"""Chasers (催办) for clues near or past their handling deadline, then escalations (督办) to the lead
department and its office; the periodic scan that runs them."""

from __future__ import annotations

from datetime import datetime, timedelta

from jsp_common import clock, departments, topics
from jsp_common.events.clues import ClueChased, ClueEscalated
from jsp_common.outbox import SessionTx

from ..adapters import repository as repo
from ..deps import Deps
from ..domain import deadlines
from . import journal
from .access import SCANNER
from .transfers import scan_transfer_timers


async def chase_and_escalate(deps: Deps, scan: SessionTx, now: datetime) -> int:
    """Send what is due for each timed clue; returns how many chasers and escalations were sent. Their ids derive
    from the clue and its deadline (``SessionTx.caused_by``): sent again from a restored database, they are the
    ones the departments have; a deadline moved later starts a new chaser with new ids."""
    s = deps.settings
    horizon = now + timedelta(days=3 * s.chase_when_workdays_left + 14)  # generous: holidays in between
    sent = 0
    for clue in await repo.timed_clues(scan.session, before=horizon):
        due = deadlines.due_action(deps.calendar, now, clue["deadline"], chased=clue["chased_at"] is not None,
                                   escalated=clue["escalated_at"] is not None,
                                   chase_when_left=s.chase_when_workdays_left,
                                   escalate_after_overdue=s.escalate_after_overdue_workdays)
        lead = clue["lead_department"]
        if isinstance(due, deadlines.Chase):
            tx = scan.caused_by("clues.chase", clue["id"], clue["deadline"].isoformat())
            await journal.set_values(tx, clue, chased_at=now)
            await tx.emit(topics.department_topic(topics.DEPARTMENT_CLUES, lead), ClueChased(
                clue_id=clue["id"], department=lead, role="lead", deadline=clue["deadline"],
                deadline_provisional=clue["deadline_provisional"], state=clue["state"],
                workdays_left=due.workdays_left), key=clue["id"])
            await journal.record(tx, clue, "chase", clue["state"], SCANNER, {"workdays_left": due.workdays_left})
            sent += 1
        elif isinstance(due, deadlines.Escalate):
            tx = scan.caused_by("clues.escalation", clue["id"], clue["deadline"].isoformat())
            await journal.set_values(tx, clue, escalated_at=now)
            office = departments.department_for("office", departments.department(lead).division_code).code
            for dept in dict.fromkeys([lead, office]):
                await tx.emit(topics.department_topic(topics.DEPARTMENT_CLUES, dept), ClueEscalated(
                    clue_id=clue["id"], department=dept, role="lead" if dept == lead else "co",
                    deadline=clue["deadline"], deadline_provisional=clue["deadline_provisional"],
                    state=clue["state"], overdue_workdays=due.overdue_workdays),
                    key=clue["id"])
            await journal.record(tx, clue, "escalate", clue["state"], SCANNER,
                                 {"overdue_workdays": due.overdue_workdays, "office": office})
            sent += 1
    return sent


async def scan_deadlines(deps: Deps, now: datetime | None = None) -> int:
    """The periodic job: :func:`chase_and_escalate` in a transaction of its own."""
    async with deps.db.transaction() as session:
        return await chase_and_escalate(deps, SessionTx(session, deps.source), now or clock.now())


async def periodic_scan(deps: Deps) -> None:
    """Deadlines, then the case-transfer timers, each in its own transaction."""
    await scan_deadlines(deps)
    await scan_transfer_timers(deps)
