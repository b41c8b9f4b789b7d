"""Case transfer to criminal justice (行刑衔接, State Council Decree 310), as pure rules.

To the police: the case team (at least two officials, a setting) lists the documents and asks for approval →
the agency head approves (or refuses with reasons) within 3 days → the approved case is handed over
within 24 hours, with a copy to the procuratorate → the police decide within 3 days whether to open a
case. From the police: a case sent back for administrative handling becomes a clue and is accepted.
Each limit is configurable. The approval's and the police decision's days are working days (工作日), as the
Administrative Penalty Law (art. 85) counts its limits of days and as every other day limit here is counted:
they end at the end of the n-th working day after the request or the handover, that day not counted
(``jsp_common.workdays``); the handover's 24 hours are hours.
"""

from __future__ import annotations

from datetime import datetime

PENDING_APPROVAL = "pending_approval"
APPROVED = "approved"
REFUSED = "refused"
HANDED_OVER = "handed_over"
CASE_OPENED = "case_opened"
DECLINED = "declined"
RECEIVED = "received"      # from the police
ACCEPTED = "accepted"      # from the police, taken up by the department
OPEN_TO_POLICE = frozenset({PENDING_APPROVAL, APPROVED, HANDED_OVER})  # a transfer to the police under way
# no new transfer of the case while one is under way, nor once the police opened a criminal case on it (it is
# theirs); after a refusal by the agency head or the police declining, the case team may ask again
NO_NEW_TRANSFER = OPEN_TO_POLICE | {CASE_OPENED}

# action -> (statuses it is allowed in, resulting status)
ACTIONS = {
    "approve": ({PENDING_APPROVAL}, APPROVED),
    "refuse": ({PENDING_APPROVAL}, REFUSED),
    "hand_over": ({APPROVED}, HANDED_OVER),
    "open_case": ({HANDED_OVER}, CASE_OPENED),
    "decline": ({HANDED_OVER}, DECLINED),
    "accept_returned": ({RECEIVED}, ACCEPTED),
}
REQUIRED_DOCUMENTS = ("transfer_letter", "investigation_report")  # 移送书, 调查报告


class TransferNotAllowed(Exception):
    pass


def next_status(current: str, action: str) -> str:
    allowed, target = ACTIONS[action]
    if current not in allowed:
        raise TransferNotAllowed(f"cannot {action.replace('_', ' ')} a transfer that is {current}; "
                                 f"allowed only when {', '.join(sorted(allowed))}")
    return target


def check_request(documents: list[str], team: list[str], *, min_team: int) -> list[dict[str, str]]:
    """Field errors of a transfer request (empty when fine): the case team has at least ``min_team`` different
    officials, and the file lists the documents the law requires."""
    errors = []
    if len({t.strip() for t in team if t.strip()}) < min_team:
        errors.append({"field": "team", "reason": f"at least {min_team} officials form the case team"})
    missing = [d for d in REQUIRED_DOCUMENTS if d not in documents]
    if missing:
        errors.append({"field": "documents", "reason": "the file must list " + ", ".join(missing)})
    return errors


# The statutory timer running in each status of a transfer to the police, and the deadline it runs to.
RUNNING = {PENDING_APPROVAL: ("approval", "approval_deadline"), APPROVED: ("handover", "handover_deadline"),
           HANDED_OVER: ("police_decision", "decision_deadline")}
# The deadlines counted in working days (each kept with its start, its working days and whether it is provisional,
# as ``domain.deadlines.Deadline.columns`` names them), by the status their timer runs in: counted again when a
# holiday schedule is published while it runs.
WORKDAY_DEADLINES = {PENDING_APPROVAL: "approval_deadline", HANDED_OVER: "decision_deadline"}


def overdue_timers(status: str, now: datetime, *, approval_deadline: datetime | None,
                   handover_deadline: datetime | None, decision_deadline: datetime | None) -> list[str]:
    """The statutory timers running out at ``now`` in the current status."""
    deadlines = {"approval_deadline": approval_deadline, "handover_deadline": handover_deadline,
                 "decision_deadline": decision_deadline}
    running = RUNNING.get(status)
    if running and deadlines[running[1]] is not None and now > deadlines[running[1]]:
        return [running[0]]
    return []
