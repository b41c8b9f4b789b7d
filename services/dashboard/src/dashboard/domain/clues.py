"""Clue figures as pure rules: which transitions count as a return or a re-dispatch (ping-pong, 踢皮球),
which clues are open, overdue or due soon."""

from __future__ import annotations

from datetime import datetime, timedelta

# Mirrors the clues service's lifecycle (clues.clue.transitioned.v1 carries the state names).
OPEN_STATES = ("received", "pending_dispatch", "dispatched", "returned", "accepted", "verifying", "handled")
TIMED_STATES = ("dispatched", "accepted", "verifying", "handled")  # the handling deadline runs
STATE_LABELS = {
    "received": "已接收", "pending_dispatch": "待人工分派", "dispatched": "已分派", "returned": "已退回",
    "accepted": "已受理", "verifying": "核查中", "handled": "已办结", "replied": "已答复", "closed": "已关闭",
    "linked": "重复关联",
}
CHANNEL_LABELS = {
    "hotline": "12345热线", "website": "政务服务网", "association": "行业协会", "media": "新闻媒体",
    "risk": "风险预警", "inspection": "检查发现", "public_security": "公安机关移送",
}
ACTION_LABELS = {
    "receive": "接收", "queue": "转人工分派", "dispatch": "分派", "link": "关联重复件", "accept": "受理",
    "return": "退回", "verify": "核查", "handle": "办结", "reply": "答复", "answer": "随首件答复",
    "close": "关闭", "revisit": "回访", "reopen": "重新办理", "request_extension": "申请延期",
    "decide_extension": "延期审批", "transfer_case": "移送司法", "recompute_deadline": "按节假日安排重算期限",
    "recompute_return_deadline": "按节假日安排重算退回期限",
    "follow_first_clue": "随首件改派", "approve_extension": "延期获批", "refuse_extension": "延期未获批",
    "chase": "催办", "escalate": "超期督办", "redispatch": "再分派", "arbitrate": "仲裁分派",
}


def is_return(action: str) -> bool:
    return action == "return"


# The actions the clues service records a dispatch of a returned clue as: the office sends it on again (再分派),
# or decides between the departments (仲裁); "dispatch" is the first dispatch.
REDISPATCH_ACTIONS = ("redispatch", "arbitrate", "dispatch")


def is_redispatch(action: str, from_state: str | None) -> bool:
    """A dispatch of a clue that had been returned: the office sends it on again."""
    return action in REDISPATCH_ACTIONS and from_state == "returned"


def is_overdue(state: str, deadline: datetime | None, now: datetime) -> bool:
    return state in TIMED_STATES and deadline is not None and deadline < now


def is_due_soon(state: str, deadline: datetime | None, now: datetime, within: timedelta) -> bool:
    return state in TIMED_STATES and deadline is not None and now <= deadline < now + within


# What a clue's row takes from a transition that is its latest: every column; these only when the transition
# knows them (one without keeps what the clue has), and the deadline's provisional mark goes with the deadline.
KEPT_WHEN_ABSENT = ("domain", "division_code", "city_code", "uscc", "lead_department", "deadline", "previous_deadline")
ADDED = ("returns", "redispatches")  # counts a transition adds to what the clue has


def folded(changes: list[dict]) -> list[dict]:
    """A clue's successive changes (its row as each transition leaves it, with ``returns`` and ``redispatches``
    to add, in order) taken together where applying the second to the first's result is applying their sum:
    the second is not older and knows every value the first knew. A poll's two or three transitions of a new
    clue then write its row once, not once each. Changes of other clues keep their order; a change that cannot
    be taken with the one before it stays a change of its own, after it."""
    out: list[dict] = []
    latest: dict[str, int] = {}  # clue id -> its last change in ``out``
    for change in changes:
        i = latest.get(change["clue_id"])
        if i is not None and _adds_to(out[i], change):
            before = out[i]
            out[i] = {**change, "received_at": min(before["received_at"], change["received_at"]),
                      **{c: before[c] + change[c] for c in ADDED}}
        else:
            latest[change["clue_id"]] = len(out)
            out.append(change)
    return out


def _adds_to(before: dict, after: dict) -> bool:
    return after["updated_at"] >= before["updated_at"] and all(
        after[c] is not None or before[c] is None for c in KEPT_WHEN_ABSENT)
