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
}


def is_return(action: str) -> bool:
    return action == "return"


def is_redispatch(action: str, from_state: str | None) -> bool:
    """A dispatch of a clue that had been returned: the office sends it on again."""
    return action == "dispatch" and from_state == "returned"


def is_overdue(state: str, deadline: datetime | None, now: datetime) -> bool:
    return state in TIMED_STATES and deadline is not None and deadline < now


def is_due_soon(state: str, deadline: datetime | None, now: datetime, within: timedelta) -> bool:
    return state in TIMED_STATES and deadline is not None and now <= deadline < now + within
