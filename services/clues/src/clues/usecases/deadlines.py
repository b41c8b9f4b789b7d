"""Chasers (催办) for clues past their handling deadline, then escalations (督办) to the lead department and its
office for clues still open after their chaser; the periodic scan that runs them."""

from __future__ import annotations

from datetime import datetime

from jsp_common import clock, departments, topics
from jsp_common.events.clues import ClueChased, ClueEscalated
from jsp_common.outbox import SessionTx

from ..adapters import repository as repo
from ..deps import Deps
from ..domain import deadlines
from . import journal
from .access import SCANNER
from .transfers import scan_transfer_timers


async def chase_and_escalate(deps: Deps, scan: SessionTx, now: datetime, *, page: int = 500) -> int:
    """Send what is due for each timed clue; returns how many chasers and escalations were sent. Their ids derive
    from the clue, its deadline and its round (``SessionTx.caused_by``): sent again from a restored database, they
    are the ones the departments have; a deadline moved later, or the clue dispatched again (the city's office
    would skip the new lead's escalation under the old lead's id), starts a new chaser with new ids. The database
    selects the clues something is owed to (a deadline ``chase_after_overdue_workdays`` behind, a chaser
    ``escalate_after_chase_workdays`` behind: :func:`deadlines.due_if_before`), read ``page`` at a time, soonest
    deadline first."""
    s, calendar = deps.settings, deps.calendar
    chase_before = deadlines.due_if_before(calendar, now, s.chase_after_overdue_workdays)
    escalate_before = deadlines.due_if_before(calendar, now, s.escalate_after_chase_workdays)
    sent, after = 0, None
    while True:
        timed = await repo.timed_clues(scan.session, now=now, chase_before=chase_before,
                                       escalate_before=escalate_before, after=after, limit=page)
        for clue in timed:
            sent += await _act_on(deps, scan, clue, now)
        if len(timed) < page:
            return sent
        after = (timed[-1]["deadline"], timed[-1]["id"])


async def _act_on(deps: Deps, scan: SessionTx, clue: dict, now: datetime) -> bool:
    """Chase or escalate the clue if that is due; whether it was."""
    s = deps.settings
    due = deadlines.due_action(deps.calendar, now, clue["deadline"], chased_at=clue["chased_at"],
                               escalated=clue["escalated_at"] is not None, chase_after=s.chase_after_overdue_workdays,
                               escalate_after=s.escalate_after_chase_workdays)
    lead = clue["lead_department"]
    if isinstance(due, deadlines.Chase):
        tx = scan.caused_by("clues.chase", clue["id"], clue["deadline"].isoformat(), clue["round"])
        await journal.set_values(tx, clue, chased_at=now)
        await tx.emit(topics.department_topic(topics.DEPARTMENT_CLUES, lead), ClueChased(
            clue_id=clue["id"], department=lead, role="lead", deadline=clue["deadline"],
            deadline_provisional=clue["deadline_provisional"], state=clue["state"],
            workdays_left=-due.overdue_workdays), key=clue["id"])
        await journal.record(tx, clue, "chase", clue["state"], SCANNER, {"overdue_workdays": due.overdue_workdays})
        return True
    if isinstance(due, deadlines.Escalate):
        tx = scan.caused_by("clues.escalation", clue["id"], clue["deadline"].isoformat(), clue["round"])
        await journal.set_values(tx, clue, escalated_at=now)
        office = departments.department_for("office", departments.department(lead).division_code).code
        for dept in dict.fromkeys([lead, office]):
            await tx.emit(topics.department_topic(topics.DEPARTMENT_CLUES, dept), ClueEscalated(
                clue_id=clue["id"], department=dept, role="lead" if dept == lead else "office",
                deadline=clue["deadline"], deadline_provisional=clue["deadline_provisional"],
                state=clue["state"], overdue_workdays=due.overdue_workdays),
                key=clue["id"])
        await journal.record(tx, clue, "escalate", clue["state"], SCANNER,
                             {"overdue_workdays": due.overdue_workdays, "office": office})
        return True
    return False


async def scan_deadlines(deps: Deps, now: datetime | None = None, *, page: int = 500) -> int:
    """The periodic job: :func:`chase_and_escalate` in a transaction of its own."""
    async with deps.db.transaction() as session:
        return await chase_and_escalate(deps, SessionTx(session, deps.source), now or clock.now(), page=page)


async def periodic_scan(deps: Deps) -> None:
    """Deadlines, then the case-transfer timers, each in its own transaction."""
    await scan_deadlines(deps)
    await scan_transfer_timers(deps)
