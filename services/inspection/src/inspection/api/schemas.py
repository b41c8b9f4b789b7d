"""Request bodies of the inspection API (validated field by field: 422 problem+json with ``errors``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import Field, model_validator

from jsp_common.api_types import RequestBody
from jsp_common.domains import Domain
from jsp_common.events.inspection import ItemOutcome

CODE = r"^[A-Za-z0-9_\-.]{1,64}$"
Ratio = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
DEPT = r"^[a-z]+-\d{6}$"


class ItemIn(RequestBody):
    code: str = Field(pattern=CODE)
    department: str = Field(pattern=DEPT, description="the department that owns the item")
    title: str = Field("", max_length=500)


class MatterIn(RequestBody):
    code: str = Field(pattern=CODE, description="the matter's code; an existing code gets a new version")
    name: str = Field(min_length=1, max_length=300)
    domain: Domain
    division_code: str = Field(pattern=r"^41\d{4}$", description="410000: the province list; else a city's")
    kind: str = Field(pattern=r"^(key|general)$", description="key: no cap on the ratio; general: capped")
    lead_department: str = Field(pattern=DEPT)
    cooperating_departments: list[str] = Field(default_factory=list, max_length=30)
    legal_basis: str = Field("", max_length=4000)
    items: list[ItemIn] = Field(min_length=1, max_length=200)
    effective_from: date


class BatchIn(RequestBody):
    division_code: str = Field(pattern=r"^41\d{4}$")
    title: str = Field(min_length=1, max_length=300)
    dry_run: bool = False
    matters: list[MatterIn] = Field(min_length=1, max_length=2000)


class PromotionIn(RequestBody):
    province_code: str = Field(pattern=CODE, description="the code on the province list")
    effective_from: date
    lead_department: str = Field(pattern=DEPT)
    cooperating_departments: list[str] = Field(default_factory=list, max_length=30)
    items: list[ItemIn] = Field(min_length=1, max_length=200)


class WorkPlanIn(RequestBody):
    """A matter's work plan (工作方案), filed with the office."""

    division_of_duties: str = Field(min_length=1, max_length=20000)
    procedure: str = Field(min_length=1, max_length=20000)
    cooperation: str = Field(min_length=1, max_length=20000)
    steps: list[str] = Field(min_length=1, max_length=100)


class ManualIn(RequestBody):
    """A matter's public service manual (服务手册)."""

    implementing_body: str = Field(min_length=1, max_length=2000)
    legal_basis: str = Field(min_length=1, max_length=20000)
    measures: str = Field(min_length=1, max_length=20000)
    rules_and_standards: str = Field(min_length=1, max_length=20000)
    procedure: str = Field(min_length=1, max_length=20000)
    enquiries: str = Field(min_length=1, max_length=2000, description="where to ask")
    complaints: str = Field(min_length=1, max_length=2000, description="where to complain")


class InspectorIn(RequestBody):
    department: str | None = Field(None, pattern=DEPT, description="a department's own by default; the office names it")
    name: str = Field(min_length=1, max_length=100)
    certificate_no: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z\-]+$")
    certificate_valid_until: date
    fields: list[str] = Field(default_factory=list, max_length=20)
    division_code: str | None = Field(None, pattern=r"^41\d{4}$")
    active: bool = True
    conflicts: list[str] = Field(default_factory=list, max_length=1000, description="USCCs the inspector must not inspect (回避)")


class InspectorChange(RequestBody):
    name: str | None = Field(None, min_length=1, max_length=100)
    certificate_valid_until: date | None = None
    fields: list[str] | None = Field(None, max_length=20)
    active: bool | None = None
    conflicts: list[str] | None = Field(None, max_length=1000)


class FilterIn(RequestBody):
    division_code: str | None = Field(None, pattern=r"^41\d{4}$")
    industry_code: str | None = Field(None, pattern=r"^[A-T]?\d{0,4}$")
    domain: Domain | None = None
    responsible_department: str | None = Field(None, pattern=DEPT)


class PlanIn(RequestBody):
    department: str | None = Field(None, pattern=DEPT, description="the office names it; a department plans for itself")
    matter_code: str = Field(pattern=CODE)
    period_start: date
    period_end: date
    frequency: int = Field(1, ge=1, le=12, description="times a year")
    filter: FilterIn = Field(default_factory=FilterIn)
    ratios: dict[str, Ratio] = Field(default_factory=dict, description="per credit class, e.g. {\"D\": 0.7}; "
                                     "unnamed classes take their band's default")

    @model_validator(mode="after")
    def _period(self) -> "PlanIn":
        if self.period_end < self.period_start or (self.period_end - self.period_start).days > 366:
            raise ValueError("period_end is on or after period_start, at most a year later")
        return self

    def fields(self) -> dict[str, Any]:
        return {**self.model_dump(), "filter": self.filter.model_dump(mode="json")}


class TaskIn(RequestBody):
    plan_ids: list[str] = Field(min_length=1, max_length=20)


class AbandonIn(RequestBody):
    reason: str = Field(min_length=1, max_length=2000)


class ItemResultIn(RequestBody):
    item_code: str = Field(pattern=CODE)
    outcome: ItemOutcome
    note: str = Field("", max_length=2000)


class ResultsIn(RequestBody):
    inspected_on: date
    items: list[ItemResultIn] = Field(min_length=1, max_length=200)
    raise_clue: bool = Field(False, description="raise a clue on the clues service's intake (a problem found)")
    clue_text: str | None = Field(None, max_length=5000)
