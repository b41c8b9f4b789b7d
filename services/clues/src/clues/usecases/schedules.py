"""A year's holiday schedule was published or corrected: every open clue whose handling deadline was
provisional, or counted through a day the schedule moved, is counted again, the change recorded on its timeline
and announced to its departments (``clues.clue.deadline-changed.v1``, both dates given)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from jsp_common.holidays import YearSchedule
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.schedule_feed import Moved, recount_deadlines

from ..adapters import repository as repo
from ..deps import Deps
from ..domain import deadlines, lifecycle
from . import journal
from .extensions import deadline_of, tell_departments

CALENDAR = Principal(subject="clues.workday-schedule", roles=[])
OPEN = frozenset({s.value for s in lifecycle.TIMED_STATES} | {lifecycle.State.RETURNED.value})


async def recompute_deadlines(deps: Deps, schedules: Sequence[YearSchedule], moved: Moved = (), *,
                              now: datetime | None = None) -> int:
    """Returns how many deadlines moved or became final."""
    return await recount_deadlines(
        deps.db, deps.source, schedules, moved, what="handling deadlines", calendar=deps.calendar,
        fetch=partial(repo.clues_to_recount, states=OPEN), batch=deps.settings.schedule_recompute_batch,
        recount=partial(_recount, deps),
        after_of=lambda clue: (clue["received_at"], clue["id"]), now=now)


async def _recount(deps: Deps, tx: Tx, clue: dict, *, reason: str, now: datetime) -> int:
    if clue["state"] not in OPEN or clue["deadline_from"] is None:
        # Finished (or from before deadlines were kept as counted): nothing runs against this deadline now.
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
