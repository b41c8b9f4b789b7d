"""A year's holiday schedule was published or corrected: every working-day deadline still running that was
provisional, or counted through a day the schedule moved, is counted again. A clue's handling deadline, and its
return window (退回) while it is dispatched, each recorded on its timeline and announced to its departments
(``clues.clue.deadline-changed.v1`` to each of them, ``clues.clue.return-deadline-changed.v1`` to the lead, both
dates given); a case transfer's approval or police-decision deadline, announced on ``clues.case-transfers.v1``
(``change: deadline_recounted``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from jsp_common import clock, topics
from jsp_common.events.clues import ClueReturnDeadlineChanged
from jsp_common.holidays import YearSchedule
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.schedule_feed import Moved, Recount, recount_deadlines

from ..adapters import repository as repo
from ..adapters import transfers as transfer_rows
from ..deps import Deps
from ..domain import deadlines, lifecycle
from ..domain import transfers as transfer_rules
from . import journal, transfers
from .extensions import deadline_of, tell_departments

CALENDAR = Principal(subject="clues.workday-schedule", roles=[])
OPEN = frozenset({s.value for s in lifecycle.TIMED_STATES} | {lifecycle.State.RETURNED.value})
RETURNABLE = lifecycle.State.DISPATCHED.value  # the return window runs until the lead accepts or returns the clue


async def recompute_deadlines(deps: Deps, schedules: Sequence[YearSchedule], moved: Moved = (), *,
                              now: datetime | None = None) -> int:
    """Returns how many deadlines moved or became final."""
    return await recount_deadlines(deps.db, deps.source, schedules, moved, [
        Recount(what="handling deadlines and return windows", recount=partial(_recount, deps),
                fetch=partial(repo.clues_to_recount, states=OPEN, returnable=RETURNABLE),
                after_of=lambda clue: (clue["received_at"], clue["id"])),
        Recount(what="case transfer deadlines", fetch=transfer_rows.transfers_to_recount,
                recount=partial(_recount_transfer, deps), after_of=lambda t: (t["requested_at"], t["id"]))],
        batch=deps.settings.schedule_recompute_batch, calendar=deps.calendar, now=now)


async def _recount(deps: Deps, tx: Tx, clue: dict, *, reason: str, now: datetime) -> int:
    return (await _recount_handling(deps, tx, clue, reason=reason, now=now)
            + await _recount_return_window(deps, tx, clue, reason=reason, now=now))


async def _recount_handling(deps: Deps, tx: Tx, clue: dict, *, reason: str, now: datetime) -> int:
    if clue["state"] not in OPEN or clue["deadline_from"] is None:
        # Finished (or from before deadlines were kept as counted): nothing runs against this deadline now.
        if clue["deadline_provisional"]:
            await journal.set_values(tx, clue, deadline_provisional=False)
        return 0
    before = deadline_of(clue)
    again = deadlines.recount(deps.calendar, before)
    if again is None:
        return 0
    passed = now > before.at
    moved_later = again.at > before.at
    # A chaser or escalation sent for the old date stands when the new one is not later; a later date restarts them.
    await journal.set_values(tx, clue, **again.columns(),
                             **({"chased_at": None, "escalated_at": None} if moved_later else {}))
    await journal.record(tx, clue, "recompute_deadline", clue["state"], CALENDAR, {
        "previous_deadline": before.at.isoformat(), "deadline": again.at.isoformat(),
        "provisional": again.provisional, "previous_passed": passed, "reason": reason})
    await tell_departments(tx, clue, before.at, again, passed=passed, reason=reason)
    return 1


async def _recount_return_window(deps: Deps, tx: Tx, clue: dict, *, reason: str, now: datetime) -> int:
    """The return window of a clue still dispatched, not arbitrated (an arbitrated one is never returned): moved,
    recorded and told to the lead department, the only one that returns it."""
    before = deadlines.kept(clue, "return_deadline")
    if clue["state"] != RETURNABLE or clue["arbitrated"] or before is None:
        if clue["return_deadline_provisional"]:  # accepted or returned since: the window no longer runs
            await journal.set_values(tx, clue, return_deadline_provisional=False)
        return 0
    again = deadlines.recount(deps.calendar, before)
    if again is None:
        return 0
    passed = now > before.at
    await journal.set_values(tx, clue, **again.columns("return_deadline"))
    await journal.record(tx, clue, "recompute_return_deadline", clue["state"], CALENDAR, {
        "previous_return_deadline": before.at.isoformat(), "return_deadline": again.at.isoformat(),
        "provisional": again.provisional, "previous_passed": passed, "reason": reason})
    lead = clue["lead_department"]
    await tx.emit(topics.department_topic(topics.DEPARTMENT_CLUES, lead), ClueReturnDeadlineChanged(
        clue_id=clue["id"], department=lead, role="lead", deadline=clue["deadline"],
        deadline_provisional=clue["deadline_provisional"], return_deadline=again.at,
        return_deadline_provisional=again.provisional, previous_return_deadline=before.at, previous_passed=passed,
        state=clue["state"], reason=reason[:500]), key=clue["id"])
    return 1


async def _recount_transfer(deps: Deps, tx: Tx, t: dict, *, reason: str, now: datetime) -> int:
    """The working-day deadline of a transfer's running timer (the approval's, the police decision's) counted
    again; a timer announced as run out whose deadline moved later is announced again when the new one runs out.
    The line systems learn a new date (``deadline_recounted``), not a deadline that only became final."""
    running = transfer_rules.WORKDAY_DEADLINES.get(t["status"])
    # Deadlines whose timer no longer runs (approved, decided) are not counted again: no longer provisional either.
    values: dict = {f"{name}_provisional": False for name in transfer_rules.WORKDAY_DEADLINES.values()
                    if name != running and t[f"{name}_provisional"]}
    before = deadlines.kept(t, running) if running else None
    again = deadlines.recount(deps.calendar, before) if before else None
    if before is None or again is None:
        if values:
            await transfer_rows.update_transfer(tx.session, t["id"], **values)
        return 0
    timer = transfer_rules.RUNNING[t["status"]][0]
    values.update(again.columns(running))
    if again.at > before.at and timer in t["overdue"]:
        values["overdue"] = [x for x in t["overdue"] if x != timer]
    await transfer_rows.update_transfer(tx.session, t["id"], **values)
    t.update(values)
    if again.at != before.at:
        await transfers.publish(tx, t, "deadline_recounted", CALENDAR,
                                reason=f"{running} was {clock.as_local(before.at).isoformat()}: {reason}")
    return 1
