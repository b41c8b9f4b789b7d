"""The life of a clue (线索): states and the actions that move it, as pure rules.

received → dispatched → accepted → verifying → handled → replied → closed, with
returned (退回, the office re-dispatches or arbitrates), pending_dispatch (the office's manual
dispatch queue, for clues that cannot be routed) and linked (a duplicate of an open clue, answered
when its first is). A revisit (回访) of a closed clue records the caller's satisfaction; an
unsatisfied one reopens it (back to dispatched).
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    RECEIVED = "received"
    PENDING_DISPATCH = "pending_dispatch"
    DISPATCHED = "dispatched"
    RETURNED = "returned"
    ACCEPTED = "accepted"
    VERIFYING = "verifying"
    HANDLED = "handled"
    REPLIED = "replied"
    CLOSED = "closed"
    LINKED = "linked"


S = State
# action -> (states it is allowed in, state it leads to; None keeps the state)
TRANSITIONS: dict[str, tuple[frozenset[State], State | None]] = {
    "receive": (frozenset(), S.RECEIVED),
    "queue": (frozenset({S.RECEIVED}), S.PENDING_DISPATCH),
    "dispatch": (frozenset({S.RECEIVED, S.PENDING_DISPATCH, S.RETURNED}), S.DISPATCHED),
    "link": (frozenset({S.RECEIVED}), S.LINKED),
    "accept": (frozenset({S.DISPATCHED}), S.ACCEPTED),
    "return": (frozenset({S.DISPATCHED}), S.RETURNED),
    "verify": (frozenset({S.ACCEPTED}), S.VERIFYING),
    "handle": (frozenset({S.VERIFYING}), S.HANDLED),
    "reply": (frozenset({S.HANDLED}), S.REPLIED),
    "answer": (frozenset({S.LINKED}), S.REPLIED),       # a duplicate answered by its first clue
    "close": (frozenset({S.REPLIED}), S.CLOSED),
    "revisit": (frozenset({S.CLOSED}), S.CLOSED),       # satisfied
    "reopen": (frozenset({S.CLOSED}), S.DISPATCHED),    # unsatisfied revisit
    "request_extension": (frozenset({S.DISPATCHED, S.ACCEPTED, S.VERIFYING}), None),
    "decide_extension": (frozenset({S.DISPATCHED, S.ACCEPTED, S.VERIFYING}), None),
    "transfer_case": (frozenset({S.ACCEPTED, S.VERIFYING, S.HANDLED, S.REPLIED, S.CLOSED}), None),
}

OPEN_STATES = frozenset({S.RECEIVED, S.PENDING_DISPATCH, S.DISPATCHED, S.RETURNED, S.ACCEPTED, S.VERIFYING,
                         S.HANDLED})
# States in which the clue's reply (its own, or its first clue's for a duplicate) is published and current: before
# it the finding is the department's own record, and an unsatisfied revisit reopens the clue (dispatched again).
ANSWERED_STATES = frozenset({S.REPLIED, S.CLOSED})
# States in which the handling deadline runs (chasers and escalations).
TIMED_STATES = frozenset({S.DISPATCHED, S.ACCEPTED, S.VERIFYING, S.HANDLED})


class NotAllowed(Exception):
    """The action is not allowed in the clue's current state (HTTP 409)."""


def next_state(current: State | str, action: str) -> State:
    """The state ``action`` leads to from ``current``; raise :class:`NotAllowed` saying why not."""
    allowed, target = TRANSITIONS[action]
    current = State(current)
    if current not in allowed:
        where = ", ".join(sorted(s.value for s in allowed)) or "no state"
        raise NotAllowed(f"cannot {action.replace('_', ' ')} a clue that is {current.value}; "
                         f"allowed only when {where}")
    return target or current
