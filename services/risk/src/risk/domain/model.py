"""A risk model (监测预警模型) as versioned data: indicators and weights, the four warning levels' score
ranges, the response plan (预案) of each level, the monitoring devices' metrics and the credit classes' rules.

The office proposes a new version through the API; it is validated here (levels ordered and not
overlapping, unique indicator codes, a metric for every device indicator, ...) and every error is reported
with the field it concerns. Nothing here reads or writes anything.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, model_validator

from jsp_common import departments
from jsp_common.api_types import Integer, Number, RequiredText, integer, number
from jsp_common.domains import Domain
from jsp_common.events.risk import UNRATED_CLASS, CreditClass, WarningLevel

LEVELS: tuple[WarningLevel, ...] = tuple(WarningLevel)  # lowest first
CLASSES: tuple[CreditClass, ...] = tuple(CreditClass)   # A (low risk) first


def _classes_from_unrated(schema: dict) -> None:
    """A new model's default class, as the published document states it: the unrated class or a riskier one (a
    model stored with A before is still read, see ``model_errors``)."""
    for key in ("$ref", "allOf"):
        schema.pop(key, None)
    schema.update(type="string", enum=[c.value for c in CLASSES[CLASSES.index(UNRATED_CLASS):]])


def rank(level: WarningLevel | None) -> int:
    """0 for no level, 1 blue ... 4 red."""
    return 0 if level is None else LEVELS.index(level) + 1


class Source(StrEnum):
    """Where an indicator's observations come from."""

    CLUE_RECEIVED = "clue_received"              # a clue about the entity was taken in (clues.lifecycle.v1)
    CLUE_SUBSTANTIATED = "clue_substantiated"    # a clue's verification found it (partly) true
    INSPECTION_ITEM_FAILED = "inspection_item_failed"  # an inspection item with a problem (inspection.results.v1)
    INSPECTION_NOT_FOUND = "inspection_not_found"      # not found at the registered address (经营异常 risk)
    DEVICE_OUT_OF_RANGE = "device_out_of_range"  # a device window over its limit (monitoring.device-readings.v1)
    DEVICE_SILENT = "device_silent"              # a device missed its heartbeat
    ABNORMAL_OPERATION_LISTED = "abnormal_operation_listed"  # in the abnormal-operation directory (经营异常名录,
    #                                                          market.abnormal-operations.v1); removal ends it
    NOT_INSPECTED = "not_inspected"              # no published inspection result within the indicator's window
    #                                              (inspection.results.v1): counts 1 until one is published


INVERTED_SOURCES = (Source.NOT_INSPECTED,)       # observations of these reset the indicator instead of counting


DEVICE_SOURCES = (Source.DEVICE_OUT_OF_RANGE, Source.DEVICE_SILENT)


METRIC = r"^[a-z0-9_]+$"
AgencyCode = Literal[tuple(a.code for a in departments.agencies())]  # the agencies of jsp_common's data, by code


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Indicator(_Data):
    code: str = Field(min_length=1, max_length=64, pattern=METRIC)
    name: RequiredText = Field(min_length=1, max_length=200)
    source: Source
    metric: str | None = Field(None, min_length=1, max_length=64, pattern=METRIC,
                               description="for device sources (only): the metric it counts (e.g. gas_lel), one of "
                                           "the model's metrics")
    weight: Number = Field(ge=0, le=1000, description="points per observation")
    window_days: Integer = Field(ge=1, le=3650, description="observations older than this no longer count")
    cap: Integer = Field(1, ge=1, le=1000, description="at most this many observations count")


class LevelRange(_Data):
    """Scores from ``min_score`` (inclusive) to ``max_score`` (exclusive; none for the top level)."""

    level: WarningLevel
    min_score: Number = Field(gt=0, le=1e9)
    max_score: number(gt=0, le=1e9) | None = Field(None, description="where the next level starts (none for red)")


class ResponsePlan(_Data):
    """What happens when an entity reaches a level (预案)."""

    level: WarningLevel
    notify_departments: StrictBool = True
    notify_office: StrictBool = False
    request_inspection: StrictBool = False
    raise_clue: StrictBool = False
    respond_within_hours: integer(ge=1, le=24 * 90) | None = None
    respond_within_workdays: integer(ge=1, le=60) | None = None
    escalate_when_unanswered: StrictBool = Field(False, description="needs a deadline (hours or working days, "
                                                                    "not both)")

    @model_validator(mode="after")
    def _one_deadline(self) -> "ResponsePlan":
        if self.respond_within_hours and self.respond_within_workdays:
            raise ValueError("give the response deadline in hours or in working days, not both")
        if self.escalate_when_unanswered and not (self.respond_within_hours or self.respond_within_workdays):
            raise ValueError("escalating an unanswered alert needs a response deadline")
        return self

    @property
    def actions(self) -> list[str]:
        return [a for a, on in (("notify_departments", self.notify_departments), ("notify_office", self.notify_office),
                                ("request_inspection", self.request_inspection), ("raise_clue", self.raise_clue)) if on]


class MetricProfile(_Data):
    """How one device metric is evaluated: tumbling windows of ``window_s`` per device; a window with at least
    ``min_breaches`` readings beyond ``limit`` is out of range (one observation, however many readings)."""

    metric: str = Field(min_length=1, max_length=64, pattern=METRIC)
    name: RequiredText = Field(min_length=1, max_length=200)
    unit: RequiredText = Field(min_length=1, max_length=16)
    limit: Number = Field(ge=-1e9, le=1e9)
    direction: Literal["above", "below"] = "above"
    window_s: Integer = Field(ge=1, le=86400)
    min_breaches: Integer = Field(1, ge=1, le=100000)
    clue_at: number(ge=-1e9, le=1e9) | None = Field(None, description="a window reaching this value raises a clue "
                                                                      "(线索自动触发)")
    clue_cooldown_s: Integer = Field(3600, ge=0, le=30 * 86400, description="at most one clue per device this often")
    heartbeat_timeout_s: integer(ge=10, le=7 * 86400) | None = Field(None, description="silent longer: device_silent")
    domain: Domain = Domain.OTHER
    alert_agencies: list[AgencyCode] = Field(  # type: ignore[valid-type]
        [], max_length=20, description="agencies (e.g. mohurd, the gas authority) whose department for the entity's "
                                       "place is alerted too when this metric goes out of range, besides the entity's "
                                       "responsible departments")

    def breaches(self, value: float, at: float) -> bool:
        return value > at if self.direction == "above" else value < at

    def alerted_departments(self, division_code: str | None) -> list[str]:
        """The departments of ``alert_agencies`` for an entity of ``division_code`` (its city's, or the
        province's for an agency without city departments)."""
        if not division_code:
            return []
        out = []
        for code in self.alert_agencies:
            try:
                out.append(departments.department_for(code, division_code).code)
            except departments.UnknownDepartment:
                continue
        return out


class CreditRule(_Data):
    """An entity gets at least ``credit_class`` when its score reaches ``min_score`` or, if given, when it has at
    least ``min_count`` observations of ``indicator``; the highest class whose rule holds wins."""

    credit_class: CreditClass
    min_score: number(ge=0, le=1e9) | None = Field(None, description="either this, or indicator with min_count")
    indicator: str | None = Field(None, min_length=1, max_length=64, pattern=METRIC,
                                  description="one of the model's indicator codes")
    min_count: number(gt=0, le=1e9) | None = None
    reason: RequiredText = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _condition(self) -> "CreditRule":
        if (self.min_score is None) == (self.indicator is None):
            raise ValueError("a credit rule has either min_score or indicator with min_count")
        if (self.indicator is None) != (self.min_count is None):
            raise ValueError("indicator and min_count go together")
        return self


class RiskModel(_Data):
    """One version of the risk model. ``version`` is given by the service when the office saves it.

    Besides what each field states, a model is consistent (422 naming every field otherwise): indicator codes
    and metrics are unique; a device indicator names one of the metrics, others name none; the four levels
    come in order (blue, yellow, orange, red), each ending where the next starts (red has no end); one response
    plan per level; a credit rule's indicator is one of the indicators."""

    name: RequiredText = Field("joint monitoring model", min_length=1, max_length=200)
    indicators: list[Indicator] = Field(min_length=1, max_length=200)
    levels: list[LevelRange] = Field(min_length=4, max_length=4)
    plans: list[ResponsePlan] = Field(min_length=4, max_length=4)
    metrics: list[MetricProfile] = Field(default_factory=list, max_length=100)
    credit_rules: list[CreditRule] = Field(default_factory=list, max_length=100)
    default_class: CreditClass = Field(UNRATED_CLASS, description="an entity's class when no credit rule holds: B "
                                       "(general risk, as for an entity nothing is known against) or higher; A, "
                                       "low risk, only by the office's correction",
                                       json_schema_extra=_classes_from_unrated)
    cooldown_hours: Number = Field(24, ge=0, le=24 * 90, description="the same entity and level alert again "
                                  "within this only when the score rises further")

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> "RiskModel":
        # A model stored before a rule was added is read as it was published (``context={"stored": True}``)
        errors = model_errors(self, stored=bool((info.context or {}).get("stored")))
        if errors:
            raise ValueError("; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        return self

    @cached_property
    def weights(self) -> dict[str, tuple[int, float, float]]:
        """Per indicator code: its position in the model, its weight and its cap (scoring reads only these)."""
        return {i.code: (n, i.weight, float(i.cap)) for n, i in enumerate(self.indicators)}

    def indicator(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)

    def metric(self, metric: str) -> MetricProfile | None:
        return next((m for m in self.metrics if m.metric == metric), None)

    def plan(self, level: WarningLevel) -> ResponsePlan:
        return next(p for p in self.plans if p.level == level)

    def level_for(self, score: float) -> WarningLevel | None:
        """The level whose range holds ``score``; None below the lowest."""
        for r in reversed(self.levels):
            if score >= r.min_score:
                return r.level
        return None

    def indicators_of(self, source: Source, metric: str | None = None) -> list[Indicator]:
        return [i for i in self.indicators if i.source == source and (metric is None or i.metric == metric)]


def model_errors(m: RiskModel, *, stored: bool = False) -> list[dict[str, str]]:
    """Everything inconsistent in a model, field by field (empty when it is usable); ``stored``: a model published
    earlier, read again, is not refused for what only a new one may not say (a default class of A)."""
    errors: list[dict[str, str]] = []

    def err(field: str, reason: str) -> None:
        errors.append({"field": field, "reason": reason})

    codes = [i.code for i in m.indicators]
    for c in sorted({c for c in codes if codes.count(c) > 1}):
        err("indicators", f"indicator code {c} is given twice")
    metrics = [p.metric for p in m.metrics]
    for c in sorted({c for c in metrics if metrics.count(c) > 1}):
        err("metrics", f"metric {c} is given twice")
    for n, i in enumerate(m.indicators):
        if i.source in DEVICE_SOURCES:
            if not i.metric:
                err(f"indicators.{n}.metric", f"{i.code}: a device indicator names its metric")
            elif i.metric not in metrics:
                err(f"indicators.{n}.metric", f"{i.code}: no metric profile for {i.metric}")
        elif i.metric:
            err(f"indicators.{n}.metric", f"{i.code}: only device indicators have a metric")

    if [r.level for r in m.levels] != list(LEVELS):
        err("levels", "give the four levels in order: blue, yellow, orange, red")
    else:
        for n, (low, high) in enumerate(zip(m.levels, m.levels[1:])):
            if low.max_score is None:
                err(f"levels.{n}.max_score", f"{low.level} needs an upper bound below {high.level}")
            elif low.max_score <= low.min_score:
                err(f"levels.{n}.max_score", f"{low.level} ends at {low.max_score:g}, not above its start "
                                             f"{low.min_score:g}")
            elif high.min_score < low.max_score:
                err(f"levels.{n + 1}.min_score", f"the levels overlap: {high.level} starts at {high.min_score:g} "
                                                 f"but {low.level} runs to {low.max_score:g}")
            elif high.min_score > low.max_score:
                err(f"levels.{n + 1}.min_score", f"gap between levels: {low.level} ends at {low.max_score:g} and "
                                                 f"{high.level} starts at {high.min_score:g}")
        if m.levels[-1].max_score is not None:
            err("levels.3.max_score", "red has no upper bound")

    if sorted(p.level for p in m.plans) != sorted(LEVELS):
        err("plans", "give one response plan per level")
    if not stored and CLASSES.index(m.default_class) < CLASSES.index(UNRATED_CLASS):
        err("default_class", f"{m.default_class} would rate an entity with anything against it (one complaint) as "
                             f"lower risk than one nothing is known against ({UNRATED_CLASS}); class A is the "
                             "office's correction")
    for n, r in enumerate(m.credit_rules):
        if r.indicator is not None and r.indicator not in codes:
            err(f"credit_rules.{n}.indicator", f"no indicator {r.indicator} in this model")
    return errors
