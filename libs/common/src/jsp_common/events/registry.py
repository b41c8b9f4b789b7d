"""Events owned by the registry service and the market regulation bureau's registration feed.

Two groups:

* ``market.entity.*.v1`` — what the market regulation bureau (省市场监管局) sends about a market
  entity (市场主体), on ``market.registrations.v1`` or through the gateway's HTTP ingest. Their
  models carry the structural *and* format checks (USCC check character, Henan division, GB/T 4754
  industry class, sane dates), so the registry's consumer and the gateway's ingest (both through
  ``events.parse_data``) refuse the same input with the same field-level reasons.
* ``registry.*.v1`` — what the registry publishes: receipts for the bureau, the current record of
  every entity for replicas, adjudication (研判定性) and per-department dual notification (双告知).

Every market event carries ``occurred_at``: when the change happened at the bureau. The registry
applies changes of one entity in that order; an older change arriving after a newer one is kept in
the history but does not overwrite the current record.
"""

from __future__ import annotations

import functools

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from .. import clock, divisions, industries, uscc as uscc_mod
from ..envelope import field_errors
from ..topics import MARKET_ENTITY_EVENTS
from .base import EventData, event, model_for

# Dates before this are not plausible registration dates (the first business licences of the PRC).
EARLIEST_DATE = date(1949, 10, 1)
# Clock skew accepted between the bureau's clock and ours.
CLOCK_SKEW = timedelta(days=1)


# ---------------------------------------------------------------------------- field types
# An entity's code is checked on the way in and again in each event about it: remember the valid ones.
_validate_uscc = functools.lru_cache(maxsize=8192)(uscc_mod.validate)


def _check_uscc(value: str) -> str:
    try:
        return _validate_uscc(value)
    except uscc_mod.InvalidUSCC as exc:
        raise ValueError(str(exc)) from None


def _check_division(value: str) -> str:
    try:
        return divisions.get(value).code
    except divisions.UnknownDivision as exc:
        raise ValueError(str(exc)) from None


def _check_industry(value: str) -> str:
    try:
        return industries.validate_class(value)
    except industries.UnknownIndustry as exc:
        raise ValueError(str(exc)) from None


def _check_past_date(value: date) -> date:
    if value < EARLIEST_DATE:
        raise ValueError(f"date {value.isoformat()} is before {EARLIEST_DATE.isoformat()}")
    if value > (clock.now() + CLOCK_SKEW).date():
        raise ValueError(f"date {value.isoformat()} is in the future")
    return value


def _check_past_moment(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = clock.as_local(value)
    if value > clock.now() + CLOCK_SKEW:
        raise ValueError(f"moment {value.isoformat()} is in the future")
    if value.date() < EARLIEST_DATE:
        raise ValueError(f"moment {value.isoformat()} is before {EARLIEST_DATE.isoformat()}")
    return value


def _uscc_schema(schema: dict) -> None:
    schema.update(pattern=uscc_mod.schema_pattern(), format="uscc")


def _division_schema(schema: dict) -> None:
    schema["enum"] = [d.code for d in divisions.all_divisions()]


def _industry_schema(schema: dict) -> None:
    schema["pattern"] = industries.class_code_pattern()


# The schemas state what the checks enforce (a USCC's check character, which no pattern can, as format uscc).
USCC = Annotated[str, Field(min_length=18, max_length=40, description="统一社会信用代码 (GB 32100)",
                            json_schema_extra=_uscc_schema), AfterValidator(_check_uscc)]
DivisionCode = Annotated[str, Field(description="Henan administrative division code (GB/T 2260, six digits)",
                                    json_schema_extra=_division_schema), AfterValidator(_check_division)]
IndustryCode = Annotated[str, Field(description="GB/T 4754-2017 industry class, four digits (a section letter "
                                                "prefix such as 'F5212' is accepted and dropped)",
                                    json_schema_extra=_industry_schema), AfterValidator(_check_industry)]
def _bounded(bounds: str):
    """A schema's description, the field's own if any, saying the bounds the check enforces."""
    def schema(s: dict) -> None:
        s["description"] = f"{s['description']} ({bounds})" if s.get("description") else bounds
    return schema


PastDate = Annotated[date, Field(json_schema_extra=_bounded(f"{EARLIEST_DATE.isoformat()} to tomorrow")),
                     AfterValidator(_check_past_date)]
PastMoment = Annotated[datetime, Field(json_schema_extra=_bounded(f"{EARLIEST_DATE.isoformat()} to a day from now")),
                       AfterValidator(_check_past_moment)]
# No text of the register may hold a NUL character (PostgreSQL stores none): refused as the field's error, not
# failed on writing it (the event retried, then dead-lettered with a database error).
NO_NUL = r"^[^\x00]*$"
# A required text also holds a character other than whitespace (the models strip it first; said in the schema too).
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
ShortText = Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK)]
DepartmentCode = Annotated[str, Field(pattern=r"^[a-z]+-\d{6}$", description="e.g. samr-410100")]


class EntityStatus(StrEnum):
    ACTIVE = "active"              # 存续（在营、开业、在册）
    DEREGISTERED = "deregistered"  # 注销
    REVOKED = "revoked"            # 吊销


class Licence(BaseModel):
    """A licence (许可证) held by the entity, e.g. 食品经营许可证, 危险化学品经营许可证."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: ShortText = Field(description="licence type as named on the licence, e.g. 食品经营许可证")
    number: str | None = Field(None, max_length=100, pattern=NO_NUL)
    issued_on: PastDate | None = None
    valid_until: date | None = Field(None, description="on or after issued_on (a licence ending before it was issued "
                                                        "is refused)")

    @field_validator("valid_until")
    @classmethod
    def _after_issue(cls, value: date | None, info: ValidationInfo) -> date | None:
        issued = info.data.get("issued_on")
        if value and issued and value < issued:
            raise ValueError(f"valid_until {value.isoformat()} is before issued_on {issued.isoformat()}")
        return value


class EntityRecordFields(BaseModel):
    """The registration particulars of one market entity, as the bureau sends them."""

    uscc: USCC
    name: Name = Field(description="企业名称")
    entity_type: ShortText = Field(description="企业类型, e.g. 有限责任公司, 个体工商户")
    legal_representative: str | None = Field(None, max_length=100, pattern=NO_NUL,
                                             description="法定代表人/经营者")
    address: str = Field(min_length=1, max_length=500, pattern=NOT_BLANK, description="住所/经营场所")
    division_code: DivisionCode
    industry_code: IndustryCode
    business_scope: str = Field("", max_length=10000, pattern=NO_NUL, description="经营范围")
    licences: list[Licence] = Field(default_factory=list, max_length=100)
    established_on: PastDate = Field(description="成立日期")
    approved_on: PastDate | None = Field(None, description="核准日期 (of the latest change); on or after established_on "
                                                         "(an earlier one is refused)")
    registration_authority: str | None = Field(None, max_length=200, pattern=NO_NUL, description="登记机关")

    @field_validator("approved_on")
    @classmethod
    def _after_establishment(cls, value: date | None, info: ValidationInfo) -> date | None:
        established = info.data.get("established_on")
        if value and established and value < established:
            raise ValueError(f"approved_on {value.isoformat()} is before established_on {established.isoformat()}")
        return value


# ---------------------------------------------------------------------------- market.entity.*
@event("market.entity.registered.v1")
class MarketEntityRegistered(EventData, EntityRecordFields):
    """A new market entity was registered (设立登记)."""

    occurred_at: PastMoment = Field(description="when the registration took effect at the bureau")


@event("market.entity.changed.v1")
class MarketEntityChanged(EventData, EntityRecordFields):
    """A registered entity changed (变更登记). Carries the full record after the change."""

    occurred_at: PastMoment
    changed_items: list[ShortText] = Field(default_factory=list, description="变更事项, e.g. 经营范围, 住所")


@event("market.entity.deregistered.v1")
class MarketEntityDeregistered(EventData):
    """The entity was deregistered (注销登记)."""

    uscc: USCC
    occurred_at: PastMoment
    deregistered_on: PastDate
    reason: str | None = Field(None, max_length=500, pattern=NO_NUL)


@event("market.entity.revoked.v1")
class MarketEntityRevoked(EventData):
    """The entity's business licence was revoked (吊销营业执照)."""

    uscc: USCC
    occurred_at: PastMoment
    revoked_on: PastDate
    reason: str | None = Field(None, max_length=500, pattern=NO_NUL)
    authority: str | None = Field(None, max_length=200, pattern=NO_NUL)


class AbnormalOperationCause(StrEnum):
    """Why an entity is listed in the abnormal-operation directory (《市场主体登记管理条例实施细则》, 《企业经营异常名录管理暂行办法》)."""

    ANNUAL_REPORT_MISSING = "annual_report_missing"          # 未按规定报送年度报告
    DISCLOSURE_MISSING = "disclosure_missing"                # 未按责令期限公示有关企业信息
    FALSE_DISCLOSURE = "false_disclosure"                    # 公示企业信息隐瞒真实情况、弄虚作假
    NOT_AT_REGISTERED_ADDRESS = "not_at_registered_address"  # 通过登记的住所或经营场所无法联系
    OTHER = "other"


@event("market.abnormal-operation.listed.v1")
class AbnormalOperationListed(EventData):
    """The market regulation bureau listed the entity in the abnormal-operation directory (列入经营异常名录)."""

    listing_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK,
                            description="the bureau's reference of the listing")
    uscc: USCC
    cause: AbnormalOperationCause
    listed_on: PastDate
    authority: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK,
                           description="the deciding market regulation authority")
    occurred_at: PastMoment


@event("market.abnormal-operation.removed.v1")
class AbnormalOperationRemoved(EventData):
    """The entity was removed from the abnormal-operation directory (移出经营异常名录)."""

    listing_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)
    uscc: USCC
    removed_on: PastDate
    reason: str | None = Field(None, max_length=500, pattern=NO_NUL)
    occurred_at: PastMoment


def validate_market_event(event_type: str, data: dict[str, Any] | None) -> tuple[EventData | None, list[dict[str, str]]]:
    """Check one bureau event as the consumer and the ingest do; returns ``(model, [])`` or
    ``(None, [{field, reason}, ...])`` (for checking a bureau's feed before sending it)."""
    if event_type not in MARKET_ENTITY_EVENTS:
        known = ", ".join(MARKET_ENTITY_EVENTS)
        return None, [{"field": "type", "reason": f"unknown event type {event_type!r}; expected one of {known}"}]
    try:
        return model_for(event_type).model_validate(data or {}), []
    except ValidationError as exc:
        return None, field_errors(exc)


# ---------------------------------------------------------------------------- receipts
class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    reason: str


class ReceiptOutcome(StrEnum):
    APPLIED = "applied"          # the current record now reflects the event
    SUPERSEDED = "superseded"    # older than the current record: kept in the history only


@event("registry.registration.accepted.v1")
class RegistrationAccepted(EventData):
    """Receipt for the sender: the event was valid and recorded."""

    event_id: str
    original_type: str = Field(description="the CloudEvents type of the event this receipt is for")
    sender: str
    uscc: str
    outcome: ReceiptOutcome
    received_at: datetime
    responsible_departments: list[str] = Field(default_factory=list)
    in_adjudication: bool = False


@event("registry.registration.rejected.v1")
class RegistrationRejected(EventData):
    """Receipt for the sender: the event was refused; the original went to the dead-letter topic.

    For a message that was not even readable (truncated JSON) the ids are whatever could be recovered
    (the Kafka key, the CloudEvents headers, a best-effort scan of the bytes) and the Kafka coordinates.
    """

    event_id: str | None = None
    original_type: str | None = None
    sender: str | None = None
    uscc: str | None = None
    reason: str
    errors: list[FieldError] = Field(default_factory=list)
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    received_at: datetime


# ---------------------------------------------------------------------------- directory replica
class AssignmentState(StrEnum):
    ASSIGNED = "assigned"          # responsible departments known; notifications issued
    ADJUDICATION = "adjudication"  # waiting for the office (研判定性)


class NotifiedEntity(BaseModel):
    """What a department learns about an entity; the registry's full record (below) extends it."""

    model_config = ConfigDict(extra="forbid")
    uscc: str
    name: str
    entity_type: str
    legal_representative: str | None = None
    address: str
    division_code: str
    industry_code: str
    business_scope: str = ""
    licences: list[Licence] = Field(default_factory=list)
    status: EntityStatus
    established_on: date
    closed_on: date | None = None


class EntityRecord(NotifiedEntity):
    """The registry's current record of one supervised object."""

    city_code: str | None = None
    approved_on: date | None = None
    registration_authority: str | None = None
    responsible_departments: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    assignment_state: AssignmentState
    assignment_source: str = Field(description="rules, office or import")
    record_version: int = Field(description="increases with every change of the record")
    last_changed_at: datetime = Field(description="occurred_at of the change the record reflects")
    updated_at: datetime


@event("registry.entity.changed.v1")
class EntityChanged(EventData, EntityRecord):
    """The full current record after any change (registration, change, closure, assignment).

    On the compacted ``registry.entities.v1``, keyed by USCC: the latest one per entity is the truth.
    """


# ---------------------------------------------------------------------------- adjudication
class AdjudicationReason(StrEnum):
    NO_RULE_MATCHED = "no_rule_matched"
    DISPUTED = "disputed"


@event("registry.adjudication.requested.v1")
class AdjudicationRequested(EventData):
    """An entity waits for the office to name its responsible department(s) (研判定性)."""

    case_id: str
    uscc: str
    name: str
    reason: AdjudicationReason
    candidate_departments: list[str] = Field(default_factory=list)
    detail: str | None = None
    requested_at: datetime


@event("registry.adjudication.decided.v1")
class AdjudicationDecided(EventData):
    """The office assigned the responsible department(s); notifications go out now."""

    case_id: str
    uscc: str
    departments: list[DepartmentCode] = Field(min_length=1)
    note: str | None = None
    decided_by: str
    decided_at: datetime


@event("registry.adjudication.withdrawn.v1")
class AdjudicationWithdrawn(EventData):
    """An open case no longer waits for the office and leaves its queue: the entity closed (deregistered or
    revoked), or the responsibility rules now assign it (a change of the entity, new rules, an import). A decision
    on it is refused from now on."""

    case_id: str
    uscc: str
    name: str | None = None
    reason: str = Field(description="why, in words, e.g. 'no longer needed after deregistered'")
    withdrawn_by: str
    withdrawn_at: datetime


@event("registry.assignment.disputed.v1")
class AssignmentDisputed(EventData):
    """A department disputes that an entity is its responsibility; the entity goes back to the office."""

    case_id: str
    uscc: str
    department: DepartmentCode
    reason: str = Field(min_length=1, max_length=2000)
    disputed_by: str
    disputed_at: datetime


# ---------------------------------------------------------------------------- dual notification
class NotificationKind(StrEnum):
    NEW_RESPONSIBILITY = "new_responsibility"  # the department must now supervise this entity
    CLOSED = "closed"                          # an entity it supervises was deregistered or revoked
    # It no longer supervises this entity: the entity's business or the rules changed, or the office
    # assigned it elsewhere (the departments now responsible get new_responsibility).
    RESPONSIBILITY_ENDED = "responsibility_ended"


@event("registry.notification.issued.v1")
class NotificationIssued(EventData):
    """Dual notification (双告知) on ``dept.{department}.notifications.v1``; acknowledge (签收) via the API."""

    notification_id: str
    department: DepartmentCode
    kind: NotificationKind
    cause: str = Field(description="registered, changed, adjudicated, rules, deregistered or revoked")
    entity: NotifiedEntity
    matched_rules: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    issued_at: datetime
    acknowledge_by: datetime
    acknowledge_by_provisional: bool = Field(
        False, description="true when acknowledge_by was counted through a year whose holiday schedule is not "
                           "published yet (Monday to Friday there); registry.notification.due-changed.v1 follows "
                           "once it is")


@event("registry.notification.due-changed.v1")
class NotificationDueChanged(EventData):
    """A notification's acknowledge-by time was recomputed after a year's holiday schedule was published
    (or corrected). Both times are given; ``previous_passed`` says the earlier one had already passed."""

    notification_id: str
    department: DepartmentCode
    uscc: str
    issued_at: datetime
    previous_acknowledge_by: datetime
    acknowledge_by: datetime
    acknowledge_by_provisional: bool = Field(description="still counted through a year not yet published")
    previous_passed: bool = Field(description="the previous acknowledge-by time had already passed")
    reason: str = Field(max_length=500)
    changed_at: datetime


@event("registry.notification.reminded.v1")
class NotificationReminded(EventData):
    """A notification was not acknowledged in time (overdue)."""

    notification_id: str
    department: DepartmentCode
    uscc: str
    issued_at: datetime
    acknowledge_by: datetime
    reminded_at: datetime
    reminder_count: int


@event("registry.notification.acknowledged.v1")
class NotificationAcknowledged(EventData):
    """The department acknowledged receipt (签收)."""

    notification_id: str
    department: DepartmentCode
    uscc: str
    acknowledged_by: str
    acknowledged_at: datetime
    was_overdue: bool
