"""The clues intake's reads, rows and events alone, in its own process: the floor under the intake on this stack.

    python bench/intake_floor.py IN_TOPIC DATABASE_URL GROUP

The messaging core (``bench/core_loop.py``) with a handler that does, set-wise for a poll's work orders, what the
intake reads and writes through the clues service's own statements, and nothing it decides: the clues already
taken in under the work orders' numbers, their businesses in the directory's replica, the open first clues about
those businesses (duplicate candidates), each work order's clue row and its two transitions (received,
dispatched), and the four events the ``bench-route`` header names, as the core alone issues them. No name
matching, routing, duplicate comparison, deadline, encryption or event contents of its own. The database holds the
clues service's schema (the harness migrates it first).
"""

from __future__ import annotations

import sys
from datetime import timedelta, timezone

from core_loop import forward, main
from jsp_common import clock
from jsp_common.cli import run_loop
from jsp_common.consumer import HandlerContext

from clues.adapters import directory
from clues.adapters import repository as repo
from clues.settings import Settings
from clues.usecases.intake import _CANDIDATES as CANDIDATES

DUPLICATE_WINDOW = timedelta(days=Settings.model_fields["duplicate_window_days"].default)  # the service's default


def _clue(ctx: HandlerContext) -> dict:
    d = ctx.data
    clue = repo.blank_clue()
    clue.update(id=ctx.new_id("clue"), channel="hotline", channel_ref=d.work_order_no, source_event_id=ctx.envelope.id,
                content=d.content, address=d.address, uscc=d.uscc, received_at=d.received_at.astimezone(timezone.utc),
                urgency=d.urgency.value, state="dispatched", co_departments=[], round=0, arbitrated=False,
                deadline_provisional=False, return_deadline_provisional=False)
    return clue


def _transitions(clue: dict) -> list[dict]:
    at = clock.now()
    return [dict(clue_id=clue["id"], at=at, actor="system:intake", actor_department=None, action=action,
                 from_state=from_state, to_state=to_state, details={})
            for action, from_state, to_state in (("receive", None, "received"), ("dispatch", "received", "dispatched"))]


async def intake_io(contexts: list[HandlerContext]) -> None:
    session = contexts[0].session
    orders = [ctx.data for ctx in contexts]
    await repo.clues_by_refs(session, [("hotline", d.work_order_no) for d in orders])
    await directory.entities_by_uscc(session, [d.uscc for d in orders if d.uscc])
    since = clock.now() - DUPLICATE_WINDOW
    await repo.duplicate_candidates_of(session, [(d.uscc, None, since) for d in orders], CANDIDATES)
    clues = [_clue(ctx) for ctx in contexts]
    await repo.insert_clues(session, clues)
    await repo.add_transitions(session, [t for c in clues for t in _transitions(c)])
    await forward(contexts)


if __name__ == "__main__":
    run_loop(main(*sys.argv[1:4], handle=intake_io))
