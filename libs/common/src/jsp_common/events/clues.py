"""Events owned by the clues service and the 12345 hotline feed.

Intake (consumed by ``clues.intake``):

* ``hotline.work-order.submitted.v1`` on ``hotline.work-orders.v1``: a 12345 work order (工单), keyed by its
  work-order number. The gateway validates HTTP submissions against this same model before publishing.
* ``clues.clue.submitted.v1``: a clue from any other channel, keyed by the sender's own reference: the government
  service website, industry associations and news media each on its own topic, ``clues.submissions.<channel>.v1``
  (the channel the clue names must be that topic's), risk triggers and inspection findings on
  ``clues.submissions.v1``.

Structural validation lives here, so a bad message is refused with field-level reasons (missing content, an
unknown channel, an invalid USCC, oversized text, a division outside Henan) wherever it enters.

Personal information: callers' names and phones appear in intake events only. Every event the clues
service publishes carries them masked (``138****5678``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator

from .. import clock, divisions, uscc
from ..api_types import C0_CONTROLS, PRINTABLE, printable
from ..domains import Domain
from .base import EventData, event

MAX_CONTENT_CHARS = 4000   # a clue's free text; longer is refused, not truncated
MAX_SHORT_CHARS = 200
MAX_ADDRESS_CHARS = 300
MAX_REF_CHARS = 64
# What _printable and the validators below enforce, stated in the schemas (no C0 control characters but tab
# and line breaks; a blank division or USCC counts as not given).
_PRINTABLE = PRINTABLE
_CONTROL = re.compile(f"[{C0_CONTROLS}]")
_NONBLANK_PRINTABLE = rf"^[^{C0_CONTROLS}]*[^\s{C0_CONTROLS}][^{C0_CONTROLS}]*$"


def _division_or_blank(schema: dict) -> None:
    schema["anyOf"] = [{"type": "string", "enum": [d.code for d in divisions.all_divisions()]},
                       {"type": "string", "pattern": r"^\s*$"}, {"type": "null"}]


def _uscc_or_blank(schema: dict) -> None:
    schema["anyOf"] = [{"type": "string", "pattern": uscc.schema_pattern(), "format": "uscc"},
                       {"type": "string", "pattern": r"^\s*$"}, {"type": "null"}]
EARLIEST_RECEIPT = datetime(2000, 1, 1, tzinfo=clock.TZ)
CLOCK_SKEW = timedelta(hours=1)  # the sender's clock may run ahead of ours by this much


class Channel(StrEnum):
    """Where a clue came from (线索来源)."""

    HOTLINE = "hotline"                  # 12345 政务服务便民热线
    WEBSITE = "website"                  # 河南政务服务网
    ASSOCIATION = "association"          # 行业协会
    MEDIA = "media"                      # 新闻媒体
    RISK = "risk"                        # automatic trigger of the risk service (风险预警)
    INSPECTION = "inspection"            # finding of an inspection (检查发现)
    PUBLIC_SECURITY = "public_security"  # a case sent back by the police for administrative handling


SubmissionChannel = Literal["website", "association", "media", "risk", "inspection"]


class Urgency(StrEnum):
    URGENT = "urgent"    # 紧急
    NORMAL = "normal"    # 一般
    COMPLEX = "complex"  # 疑难复杂


class Finding(StrEnum):
    """Outcome of verification (核查结论)."""

    SUBSTANTIATED = "substantiated"      # 属实
    PARTLY = "partly"                    # 部分属实
    UNSUBSTANTIATED = "unsubstantiated"  # 不属实


_printable = printable  # the validator of every text field below


def clue_text(text: str | None, limit: int) -> str | None:
    """Text from elsewhere (a registered name or address: the register allows what a clue does not, e.g. 500
    characters of address against a clue's 300) as a clue's field holds it: each control character a clue may
    not carry as a space, the first ``limit`` characters (the USCC names the business)."""
    return _CONTROL.sub(" ", text)[:limit] if text else text



class _ClueFields(EventData):
    """What every intake carries about the matter itself."""

    content: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS, pattern=_NONBLANK_PRINTABLE,
                         description="The complaint or report, Chinese free text")
    received_at: datetime = Field(description="When the channel received it (the deadline clock starts here), with "
                                              f"its offset, from {EARLIEST_RECEIPT.date().isoformat()} to "
                                              f"{CLOCK_SKEW.seconds // 3600} hour(s) from now")
    address: str | None = Field(None, max_length=MAX_ADDRESS_CHARS, pattern=_PRINTABLE, description="Place of the matter")
    division_code: str | None = Field(None, description="Henan division code (GB/T 2260) if the sender knows it",
                                      json_schema_extra=_division_or_blank)
    business_name: str | None = Field(None, max_length=MAX_SHORT_CHARS, pattern=_PRINTABLE,
                                      description="The business concerned")
    uscc: str | None = Field(None, description="Its unified social credit code, when given",
                             json_schema_extra=_uscc_or_blank)
    domain: Domain | None = Field(None, description="The sender's own domain hint, if any")
    urgency: Urgency = Urgency.NORMAL
    category: str | None = Field(None, max_length=MAX_SHORT_CHARS, pattern=_PRINTABLE, description="The sender's category")

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, v: Any) -> Any:
        return _printable(v)

    @field_validator("content")
    @classmethod
    def _content_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("content is empty")
        return v

    @field_validator("uscc")
    @classmethod
    def _valid_uscc(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        try:
            return uscc.validate(v)
        except uscc.InvalidUSCC as exc:
            raise ValueError(f"invalid USCC: {exc}") from None

    @field_validator("division_code")
    @classmethod
    def _henan_division(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        try:
            return divisions.get(v.strip()).code
        except divisions.UnknownDivision:
            raise ValueError(f"{v!r} is not a current Henan division code") from None

    @field_validator("received_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("received_at needs a time zone offset, e.g. 2025-09-30T10:00:00+08:00")
        if v < EARLIEST_RECEIPT:
            raise ValueError(f"received_at is before {EARLIEST_RECEIPT.date().isoformat()}")
        if v > clock.now() + CLOCK_SKEW:
            raise ValueError("received_at is in the future")
        return v


@event("hotline.work-order.submitted.v1")
class WorkOrderSubmitted(_ClueFields):
    """A 12345 hotline work order (工单). A resent work order (same number) is recognised, not duplicated."""

    work_order_no: str = Field(min_length=1, max_length=MAX_REF_CHARS, pattern=r"^[0-9A-Za-z_\-]+$")
    caller_name: str | None = Field(None, max_length=50, pattern=_PRINTABLE)
    caller_phone: str | None = Field(None, max_length=30, pattern=r"^[0-9+\-() ]*$")


@event("clues.clue.submitted.v1")
class ClueSubmitted(_ClueFields):
    """A clue from a channel other than the hotline, with the sender's own reference."""

    channel: SubmissionChannel
    channel_ref: str = Field(min_length=1, max_length=MAX_REF_CHARS, pattern=r"^[0-9A-Za-z_\-.:]+$")
    reporter_name: str | None = Field(None, max_length=50, pattern=_PRINTABLE)
    reporter_phone: str | None = Field(None, max_length=30, pattern=r"^[0-9+\-() ]*$")


class FieldError(EventData):
    field: str
    reason: str


@event("clues.submission.accepted.v1")
class SubmissionAccepted(EventData):
    """Receipt: the clue was taken in (``resent`` if the reference was already known)."""

    channel: Channel
    channel_ref: str
    clue_id: str
    state: str
    resent: bool = False
    duplicate_of: str | None = None
    source_event_id: str | None = None


@event("clues.submission.rejected.v1")
class SubmissionRejected(EventData):
    """Receipt: the message was refused; the original is on the dead-letter topic."""

    channel: str | None = None
    channel_ref: str | None = None
    source_event_id: str | None = None
    reason: str
    errors: list[FieldError] = []


@event("clues.reply.published.v1")
class ReplyPublished(EventData):
    """The handling outcome, replied to the source channel (答复)."""

    clue_id: str
    channel: Channel
    channel_ref: str
    finding: Finding
    measures: str
    reply_text: str
    lead_department: str
    replied_at: datetime
    answered_by_clue_id: str | None = Field(None, description="Set when a linked duplicate is answered by its first")


@event("clues.clue.transitioned.v1")
class ClueTransitioned(EventData):
    """One state change (or recorded action) of a clue: who, when, from, to, what."""

    clue_id: str
    channel: Channel
    channel_ref: str
    action: str
    from_state: str | None
    to_state: str
    actor: str
    actor_department: str | None = None
    at: datetime
    domain: Domain | None = None
    division_code: str | None = None
    uscc: str | None = None
    lead_department: str | None = None
    co_departments: list[str] = []
    deadline: datetime | None = None
    deadline_provisional: bool = Field(False, description="true when the deadline was counted through a year whose holiday schedule "
                                                 "is not published yet (Monday to Friday there); "
                                                 "clues.clue.deadline-changed.v1 follows once it is")
    details: dict[str, Any] = {}


class _DepartmentClue(EventData):
    clue_id: str
    department: str
    role: Literal["lead", "co"]
    deadline: datetime | None = None
    deadline_provisional: bool = Field(False, description="true when the deadline was counted through a year whose holiday schedule "
                                                 "is not published yet (Monday to Friday there); "
                                                 "clues.clue.deadline-changed.v1 follows once it is")


@event("clues.clue.dispatched.v1")
class ClueDispatched(_DepartmentClue):
    """A clue for this department to act on, as lead (主办) or co-handler (协办). Personal details masked."""

    round: int
    channel: Channel
    channel_ref: str
    content: str
    received_at: datetime
    address: str | None = None
    division_code: str | None = None
    business_name: str | None = None
    uscc: str | None = None
    match_confidence: float | None = None
    domain: Domain
    urgency: Urgency
    lead_department: str
    co_departments: list[str] = []
    return_deadline: datetime | None = Field(None, description=(
        "Until when the lead department may return (退回) the clue to the office: the end (23:59:59 Asia/Shanghai) "
        "of the n-th working day after the dispatch. Counted through a year whose holiday schedule is not "
        "published yet (Monday to Friday there) it may move once it is: while the clue is still dispatched, "
        "clues.clue.return-deadline-changed.v1 then tells the lead department"))
    caller_name: str | None = Field(None, description="masked")
    caller_phone: str | None = Field(None, description="masked, e.g. 138****5678")
    arbitrated: bool = False


@event("clues.clue.chased.v1")
class ClueChased(_DepartmentClue):
    """A chaser (催办): the clue is past its deadline (by default sent on the working day after it)."""

    state: str
    workdays_left: int = Field(description="working days left until the deadline: negative, a chaser is sent only "
                                           "once the deadline has passed (-1 on the first working day after it)")


@event("clues.clue.escalated.v1")
class ClueEscalated(_DepartmentClue):
    """An escalation (督办): the clue is still open days after its chaser; the office's topic gets a copy."""

    role: Literal["lead", "co", "office"] = Field(description="lead: the department handling the clue; office: the "
                                                              "city office's supervision copy (督办)")
    state: str
    overdue_workdays: int = Field(description="working days since the deadline")


@event("clues.clue.deadline-changed.v1")
class ClueDeadlineChanged(_DepartmentClue):
    """The clue's handling deadline moved: recomputed after a year's holiday schedule was published (or
    corrected), or extended by the office's approval of the department's request (``reason`` says which). Both
    dates are given; ``previous_passed`` says the earlier one had already passed."""

    previous_deadline: datetime
    previous_passed: bool = Field(description="the previous deadline had already passed when it was recomputed")
    state: str
    reason: str = Field(max_length=500)


@event("clues.clue.return-deadline-changed.v1")
class ClueReturnDeadlineChanged(_DepartmentClue):
    """The return window (退回) of a clue this department leads and has not accepted yet moved: recomputed after a
    year's holiday schedule was published (or corrected; ``reason`` says which). Both ends are given;
    ``previous_passed`` says the earlier one had already passed. ``deadline`` is the handling deadline, as on the
    department's other events."""

    return_deadline: datetime = Field(description="the new end of the return window (23:59:59 Asia/Shanghai of "
                                                  "its last working day)")
    return_deadline_provisional: bool = Field(description="true when still counted through a year whose holiday "
                                                          "schedule is not published yet")
    previous_return_deadline: datetime
    previous_passed: bool = Field(description="the previous end had already passed when it was recomputed")
    state: str
    reason: str = Field(max_length=500)


@event("clues.clue.extension-decided.v1")
class ClueExtensionDecided(_DepartmentClue):
    """The office's decision on the extension (延期) this department asked for: approved (``deadline`` is the new
    one, which clues.clue.deadline-changed.v1 tells every handling department too) or refused (``deadline`` is
    the one that stands)."""

    extension_id: int
    workdays: int
    approved: bool
    note: str | None = Field(None, max_length=1000)
    state: str


@event("clues.case.transfer-changed.v1")
class CaseTransferChanged(EventData):
    """A case transfer to or from criminal justice (行刑衔接) changed (``change``: requested, approved, refused,
    handed_over, case_opened, declined, received, accepted), one of its statutory timers ran out (timer_overdue),
    or a year's holiday schedule moved the working-day deadline now running (deadline_recounted, ``reason`` names
    the schedule and the deadline it replaced)."""

    transfer_id: str
    clue_id: str
    direction: Literal["to_police", "from_police"]
    status: str
    change: str
    department: str
    police_department: str
    procuratorate_department: str | None = None
    documents: list[str] = []
    team: list[str] = []
    approval_deadline: datetime | None = Field(None, description=(
        "The agency head approves or refuses by then: the end (23:59:59 Asia/Shanghai) of the n-th working day "
        "after the request (3 by default)"))
    handover_deadline: datetime | None = Field(None, description="The approved case is handed over by then: "
                                                                 "hours after the approval (24 by default)")
    decision_deadline: datetime | None = Field(None, description=(
        "The police decide whether to open a case by then: the end (23:59:59 Asia/Shanghai) of the n-th working "
        "day after the handover (3 by default)"))
    decision: str | None = None
    reason: str | None = None
    case_ref: str | None = None
    overdue: list[str] = []
    actor: str
    at: datetime
