"""Events owned by the risk service.

* ``risk.credit-class.changed.v1`` on ``risk.credit-classes.v1`` (compacted, keyed by USCC): an entity's
  credit risk class (信用风险分类) under SAMR's four bands: A low, B general, C fairly high, D high risk.
  The inspection service keeps the latest class per entity for its credit-based sampling ratios; an entity
  without a class counts as B. ``record_version`` rises with every change of one entity, so a replica applies
  only newer records.
* ``monitoring.device.reading-recorded.v1`` on ``monitoring.device-readings.v1`` (keyed by device id): one
  reading (or heartbeat) of a monitoring device registered to an entity: combustible gas detectors in
  restaurants, cold-chain thermometers, lift controllers. The high-volume stream of the platform.
* ``risk.alert.*.v1`` on ``risk.alerts.v1`` (ministries, the task-force office) and on each responsible
  department's ``dept.<department>.alerts.v1`` (keyed by USCC): an entity crossed a warning level (预警),
  the department acknowledged it or recorded its response, an unanswered alert was escalated to the office,
  its response deadline was recomputed once a year's holiday schedule was published, or the alert closed
  because the score fell.
* ``risk.inspection.requested.v1`` on ``risk.inspection-requests.v1`` (keyed by USCC): a level's response
  plan asks for a targeted inspection of the entity (定向检查); the inspection service puts it on the
  must-inspect list of the departments named until a published inspection result covers it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .base import EventData, event
from .registry import USCC, DepartmentCode


class CreditClass(StrEnum):
    """SAMR's credit risk classes (信用风险分类)."""

    A = "A"  # 低风险
    B = "B"  # 一般风险
    C = "C"  # 较高风险
    D = "D"  # 高风险


# What an entity counts as while no class has been published for it (nothing is known against it): general risk.
# The inspection service samples it so, and the risk service explains it so; a complaint never makes an entity
# count as lower risk than one nobody has complained about.
UNRATED_CLASS = CreditClass.B


@event("risk.credit-class.changed.v1")
class CreditClassChanged(EventData):
    """An entity's credit risk class was set or changed (by the rules or by the office, with a reason)."""

    uscc: USCC
    credit_class: CreditClass
    previous_class: CreditClass | None = Field(None, description="the class before; null for the first")
    score: float = Field(ge=0, description="the risk score the class was derived from")
    model_version: int = Field(ge=1, description="version of the classification rules applied")
    corrected_by_office: bool = Field(False, description="true when the office set the class by hand")
    reason: str = Field("", max_length=1000, description="why: the rule that fired, or the office's reason")
    record_version: int = Field(ge=1, description="per-entity sequence number; a replica keeps only newer records")
    changed_at: datetime


# ---------------------------------------------------------------------------- monitoring devices
DeviceId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-.:]+$",
                                description="the device's own id")]


# What a device's clock can show: from the Unix epoch (a clock reset) to the year 2999 (0001 or 9999, sentinels
# of no time, overflowed the windows' arithmetic and dead-lettered the reading after every retry).
DEVICE_CLOCK_FROM = datetime(1970, 1, 1, tzinfo=timezone.utc)
DEVICE_CLOCK_UNTIL = datetime(3000, 1, 1, tzinfo=timezone.utc)


@event("monitoring.device.reading-recorded.v1")
class DeviceReadingRecorded(EventData):
    """One reading of a monitoring device (物联网监测), or a heartbeat (``kind: heartbeat``, value ignored).

    The device must be registered to an entity with the risk service (``PUT /risk/devices/{device_id}``);
    ``unit`` must be the unit of the metric (``%LEL`` for combustible gas, ``degC`` for temperature, ...).
    """

    device_id: DeviceId
    uscc: USCC = Field(description="the entity the device is installed at")
    metric: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$", description="e.g. gas_lel, cold_chain_temp")
    value: float = Field(allow_inf_nan=False, description="the measured value, in ``unit``, a finite number (not "
                                                           "NaN, not one beyond the 64-bit float range such as 1e400); "
                                                           "0 for a heartbeat")
    unit: str = Field(min_length=1, max_length=16)
    kind: Literal["reading", "heartbeat"] = "reading"
    measured_at: datetime = Field(description="the device's time of the reading, with its offset; from 1970 to 2999 "
                                              "(a device's clock set wrong still counts)")

    @field_validator("measured_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("measured_at needs a time zone offset, e.g. 2026-03-02T10:00:00+08:00")
        if not DEVICE_CLOCK_FROM <= v < DEVICE_CLOCK_UNTIL:  # a clock set wrong within these still counts
            raise ValueError(f"measured_at is outside the years {DEVICE_CLOCK_FROM.year}-{DEVICE_CLOCK_UNTIL.year - 1} "
                             "a device's clock can show")
        return v


# ---------------------------------------------------------------------------- risk alerts
class WarningLevel(StrEnum):
    """The four warning levels (预警等级), lowest first."""

    BLUE = "blue"      # 一般
    YELLOW = "yellow"  # 较重
    ORANGE = "orange"  # 严重
    RED = "red"        # 特别严重


class Contribution(BaseModel):
    """One indicator's part of a score: count in its window (capped) times its weight."""

    model_config = ConfigDict(extra="forbid")

    indicator: str
    count: float
    weight: float
    points: float


class _AlertBase(EventData):
    alert_id: str = Field(min_length=1, max_length=64)
    uscc: USCC
    level: WarningLevel
    departments: list[DepartmentCode] = Field(description="the departments responsible for the entity")


@event("risk.alert.raised.v1")
class RiskAlertRaised(_AlertBase):
    """An entity's risk score crossed a warning level; the response plan of that level applies."""

    entity_name: str | None = None
    division_code: str | None = None
    previous_level: WarningLevel | None = None
    score: float = Field(ge=0)
    model_version: int = Field(ge=1)
    contributions: list[Contribution] = Field(default_factory=list, description="why: each indicator's points")
    actions: list[Literal["notify_departments", "notify_office", "request_inspection", "raise_clue"]] = Field(
        default_factory=list, description="the level's response plan (预案)")
    respond_by: datetime | None = Field(None, description="departments record their response before this")
    respond_by_provisional: bool = Field(False, description="true when respond_by was counted in working days through "
                                                            "a year whose holiday schedule is not published yet "
                                                            "(Monday to Friday there); "
                                                            "risk.alert.respond-by-changed.v1 follows once it is")
    raised_at: datetime


@event("risk.alert.acknowledged.v1")
class RiskAlertAcknowledged(_AlertBase):
    """A responsible department acknowledged the alert (签收)."""

    department: DepartmentCode
    by: str
    at: datetime


@event("risk.alert.responded.v1")
class RiskAlertResponded(_AlertBase):
    """A responsible department recorded its response (处置) to the alert."""

    department: DepartmentCode
    by: str
    measures: str = Field(min_length=1, max_length=2000)
    at: datetime


@event("risk.alert.escalated.v1")
class RiskAlertEscalated(_AlertBase):
    """No response by the deadline: the alert goes to the task-force office (督办)."""

    respond_by: datetime
    at: datetime


@event("risk.alert.respond-by-changed.v1")
class RiskAlertRespondByChanged(_AlertBase):
    """The alert's response deadline was recomputed after a year's holiday schedule was published (or
    corrected). Both times are given; ``previous_passed`` says the earlier one had already passed."""

    previous_respond_by: datetime
    respond_by: datetime
    respond_by_provisional: bool = Field(description="still counted through a year not yet published")
    previous_passed: bool = Field(description="the previous deadline had already passed when it was recomputed")
    state: str
    reason: str = Field(max_length=500)
    at: datetime


@event("risk.alert.departments-added.v1")
class RiskAlertDepartmentsAdded(_AlertBase):
    """Departments became responsible for the entity of an open alert (the registry moved it, or an event named
    them while the alert's level held: a gas leak names the city's gas authority): they see, acknowledge and
    answer the alert from now on. Sent to the general alerts topic and to each added department's
    own; ``departments`` names every department the alert names now."""

    added: list[DepartmentCode] = Field(min_length=1, description="the departments the alert names from now on")
    state: Literal["open", "acknowledged", "responded"]
    respond_by: datetime | None = Field(None, description="departments record their response before this")
    respond_by_provisional: bool = False
    raised_at: datetime
    at: datetime


@event("risk.alert.closed.v1")
class RiskAlertClosed(_AlertBase):
    """The alert ended: the score fell below its level, or a higher level's alert superseded it."""

    reason: Literal["score_fell", "superseded"]
    score: float = Field(ge=0)
    at: datetime


MAX_REQUEST_REASON_CHARS = 1000  # an inspection request's reason


@event("risk.inspection.requested.v1")
class InspectionRequested(EventData):
    """A risk alert's response plan asks the responsible departments to inspect the entity (定向检查)."""

    request_id: str = Field(min_length=1, max_length=64, description="unique per request (the alert's id)")
    alert_id: str = Field(min_length=1, max_length=64)
    uscc: USCC
    entity_name: str | None = None
    level: WarningLevel
    score: float = Field(ge=0)
    departments: list[DepartmentCode] = Field(description="the departments asked to inspect")
    reason: str = Field(min_length=1, max_length=MAX_REQUEST_REASON_CHARS,
                        description="why: the alert's level and contributions")
    respond_by: datetime | None = Field(None, description="the alert's response deadline")
    requested_at: datetime
