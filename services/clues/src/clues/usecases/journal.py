"""Every change of a clue goes through here: its values, the state machine, and the transition recorded (who,
when, from, to, what) and published on the lifecycle topic, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from jsp_common import clock, topics
from jsp_common.events.clues import ClueTransitioned
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import repository as repo
from ..domain import lifecycle
from ..domain.lifecycle import NotAllowed, State


async def set_values(tx: Tx, clue: dict, **values: Any) -> None:
    await repo.update_clue(tx.session, clue["id"], **values)
    clue.update(values)


def transition(clue: dict, action: str, from_state: str | None, actor: Principal,
               details: dict | None = None) -> tuple[dict, ClueTransitioned]:
    """One transition of ``clue`` (as it is now): its row and its event on the lifecycle topic."""
    at = clock.now()
    details = details or {}
    row = dict(clue_id=clue["id"], at=at, actor=actor.subject, actor_department=actor.department, action=action,
               from_state=from_state, to_state=clue["state"], details=details)
    return row, ClueTransitioned(
        clue_id=clue["id"], channel=clue["channel"], channel_ref=clue["channel_ref"], action=action,
        from_state=from_state, to_state=clue["state"], actor=actor.subject, actor_department=actor.department,
        at=at, domain=clue.get("domain"), division_code=clue.get("division_code"), uscc=clue.get("uscc"),
        lead_department=clue.get("lead_department"), co_departments=list(clue.get("co_departments") or []),
        deadline=clue.get("deadline"), deadline_provisional=bool(clue.get("deadline_provisional")),
        details=details)


async def record(tx: Tx, clue: dict, action: str, from_state: str | None, actor: Principal,
                 details: dict | None = None) -> None:
    """Keep one transition and publish it on the lifecycle topic."""
    row, event = transition(clue, action, from_state, actor, details)
    await repo.add_transition(tx.session, **row)
    await tx.emit(topics.CLUE_LIFECYCLE, event, key=clue["id"])


def allowed(clue: dict, action: str) -> State:
    """The state ``action`` leads the clue to; 409 when its state does not allow it."""
    try:
        return lifecycle.next_state(clue["state"], action)
    except NotAllowed as exc:
        raise Problem(409, str(exc), state=clue["state"]) from None


# The states in which an extension is asked for and decided: leaving them, a pending one has nothing to extend.
EXTENSIBLE = lifecycle.TRANSITIONS["decide_extension"][0]


async def move(tx: Tx, clue: dict, action: str, actor: Principal, *, record_as: str | None = None,
               details: dict | None = None, **values: Any) -> None:
    """Apply a state-machine action (409 when the state does not allow it) and record it. A clue handled or
    returned before the office decided a pending extension withdraws it (named in the transition's details)."""
    from_state = clue["state"]
    to = allowed(clue, action)
    await set_values(tx, clue, state=to.value, **values)
    if from_state in EXTENSIBLE and to not in EXTENSIBLE:
        withdrawn = await repo.withdraw_extensions(tx.session, clue["id"], by=actor.subject, at=clock.now(),
                                                   note=f"withdrawn: the clue was {to.value} before the decision")
        if withdrawn:
            details = {**(details or {}), "extensions_withdrawn": withdrawn}
    await record(tx, clue, record_as or action, from_state, actor, details)
