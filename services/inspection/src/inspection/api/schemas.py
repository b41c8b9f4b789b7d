"""Request bodies of the inspection API (validated field by field: 422 problem+json with ``errors``)."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, model_validator

from jsp_common import divisions
from jsp_common.api_types import (USCC_PATTERN, Date, DepartmentCode, DivisionCode, IndustryPrefix, Integer,
                                  RequestBody, RequiredText, Text, number)
from jsp_common.domains import Domain
from jsp_common.events.clues import MAX_CONTENT_CHARS
from jsp_common.events.inspection import ItemOutcome

from ..domain.matters import MAX_BATCH_ROWS
from .uploads import BODY_LIMIT
from ..domain.sampling import bands

CODE = r"^[A-Za-z0-9_\-.]{1,64}$"
Code = Annotated[str, Field(pattern=CODE)]


@cache
def _list_divisions() -> tuple[str, ...]:
    return (divisions.PROVINCE_CODE, *sorted(d.code for d in divisions.cities()))


# The lists of matters: the province's (410000) and each city's.
ListDivision = Annotated[Literal[_list_divisions()],  # type: ignore[valid-type]
                         Field(description="410000: the province list; else a city's code (GET /public/divisions)")]
ConflictUscc = Annotated[str, Field(pattern=USCC_PATTERN)]


class ItemIn(RequestBody):
    code: Code
    department: DepartmentCode = Field(description="the department that carries the item out: the lead or a "
                                                   "cooperating department of the matter")
    title: Text = Field("", max_length=500)


DEPARTMENTS_RULE = ("The lead department is not also a cooperating one, each item belongs to one of them, no item "
                    "code appears twice, and every department is of the matter's list: a city's list names that "
                    "city's departments, the province list the provincial ones (422 otherwise, the department "
                    "named).")


class MatterIn(RequestBody):
    __doc__ = "A matter's particulars. " + DEPARTMENTS_RULE
    code: Code = Field(description="the matter's code; an existing code gets a new version")
    name: RequiredText = Field(min_length=1, max_length=300)
    domain: Domain
    division_code: ListDivision = Field(description="the list it is on: the batch's")
    kind: Literal["key", "general"] = Field(description="key: no cap on the ratio; general: capped")
    lead_department: DepartmentCode
    cooperating_departments: list[DepartmentCode] = Field(default_factory=list, max_length=30)
    legal_basis: Text = Field("", max_length=4000)
    items: list[ItemIn] = Field(min_length=1, max_length=200)
    effective_from: Date = Field(description="a new version of a matter takes effect after the current one and no "
                                             "earlier than the day it is published, the province's date (409 "
                                             "otherwise: a conflict with what is published)")


class BatchIn(RequestBody):
    __doc__ = (f"A numbered batch of one list: every matter is on the batch's list (``division_code``) and appears "
               f"once (422 otherwise); at most {MAX_BATCH_ROWS} matters. " + BODY_LIMIT)

    division_code: ListDivision
    title: RequiredText = Field(min_length=1, max_length=300)
    dry_run: StrictBool = False
    matters: list[MatterIn] = Field(min_length=1, max_length=MAX_BATCH_ROWS)


class PromotionIn(RequestBody):
    __doc__ = "A city's matter as a province matter. " + DEPARTMENTS_RULE
    province_code: Code = Field(description="the code on the province list")
    effective_from: Date
    lead_department: DepartmentCode
    cooperating_departments: list[DepartmentCode] = Field(default_factory=list, max_length=30)
    items: list[ItemIn] = Field(min_length=1, max_length=200)


class WorkPlanIn(RequestBody):
    """A matter's work plan (工作方案), filed with the office."""

    division_of_duties: RequiredText = Field(min_length=1, max_length=20000)
    procedure: RequiredText = Field(min_length=1, max_length=20000)
    cooperation: RequiredText = Field(min_length=1, max_length=20000)
    steps: list[Text] = Field(min_length=1, max_length=100)


class ManualIn(RequestBody):
    """A matter's public service manual (服务手册)."""

    implementing_body: RequiredText = Field(min_length=1, max_length=2000)
    legal_basis: RequiredText = Field(min_length=1, max_length=20000)
    measures: RequiredText = Field(min_length=1, max_length=20000)
    rules_and_standards: RequiredText = Field(min_length=1, max_length=20000)
    procedure: RequiredText = Field(min_length=1, max_length=20000)
    enquiries: RequiredText = Field(min_length=1, max_length=2000, description="where to ask")
    complaints: RequiredText = Field(min_length=1, max_length=2000, description="where to complain")


class InspectorIn(RequestBody):
    """An inspector, by certificate number: a certificate appears once in a load (422 otherwise). A field left
    out keeps the stored inspector's value (conflicts declared stay, a deactivated inspector stays inactive); a
    new inspector takes the defaults."""

    department: DepartmentCode | None = Field(None, description="the office names it (422 without); a department "
                                                                "loads its own (403 for another's)")
    name: RequiredText = Field(min_length=1, max_length=100)
    certificate_no: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z\-]+$")
    certificate_valid_until: Date
    fields: list[RequiredText] = Field(default_factory=list, max_length=20, description="fields of expertise")
    division_code: DivisionCode | None = None
    active: StrictBool = Field(True, description="left out: unchanged (a new inspector: true)")
    conflicts: list[ConflictUscc] = Field(default_factory=list, max_length=1000,
                                          description="USCCs the inspector must not inspect (回避); left out: "
                                                      "unchanged (a new inspector: none), [] clears them")


class InspectorChange(RequestBody):
    """The fields to change (at least one; a field left out keeps its value)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: RequiredText = Field(None, min_length=1, max_length=100)  # type: ignore[assignment]
    certificate_valid_until: Date = None  # type: ignore[assignment]
    fields: list[RequiredText] = Field(None, max_length=20)  # type: ignore[assignment]
    active: StrictBool = None  # type: ignore[assignment]
    conflicts: list[ConflictUscc] = Field(None, max_length=1000)  # type: ignore[assignment]


class FilterIn(RequestBody):
    division_code: DivisionCode | None = None
    industry_code: IndustryPrefix | None = None
    domain: Domain | None = None
    responsible_department: DepartmentCode | None = None


def _ratio(credit_class: str) -> Any:
    # The bounds are a ratio's (0..1): which ratios a plan may take depends on its matter (a general matter's cap
    # wins over a band's minimum) and on the proactive_class_a setting, neither of which the document knows; the
    # service refuses a ratio outside them with 409, the reason given.
    b = bands()[credit_class]
    band = f"class {credit_class}'s band {b.min_ratio}–{b.max_ratio}, default {b.default_ratio}"
    return Annotated[number(ge=0, le=1) | None,
                     Field(description=band + ("" if b.proactive else
                           "; not proactively checked: 0, unless the platform's proactive_class_a setting is on")
                           + "; on a general matter at most the cap (409 otherwise)")]


class Ratios(RequestBody):
    """Per credit class, a ratio from 0 to 1, within its class's band (data/credit_bands.csv), and on a general
    matter at most the general matters' cap (a setting, 0.2 by default), which wins over a band's minimum: a
    class whose band starts above the cap takes the cap. A ratio outside these is refused with 409 (a conflict
    with the matter), the field and the allowed ratios named; a class left out takes its band's default (on a
    general matter, capped)."""

    A: _ratio("A") = None  # type: ignore[valid-type]
    B: _ratio("B") = None  # type: ignore[valid-type]
    C: _ratio("C") = None  # type: ignore[valid-type]
    D: _ratio("D") = None  # type: ignore[valid-type]

    def given(self) -> dict[str, float]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class PlanIn(RequestBody):
    """A sampling plan: ``period_end`` is on or after ``period_start``, at most 366 days later (422 otherwise).
    A plan is made under the version of its matter in effect on ``period_start``; it is refused with 409 when no
    version is in effect that day, when that version has no item of the department, or when its filter matches no
    active entity of the directory."""

    department: DepartmentCode | None = Field(None, description="the office names it (422 without); a department "
                                                                "plans for itself (403 for another)")
    matter_code: Code
    period_start: Date
    period_end: Date
    frequency: Integer = Field(1, ge=1, le=12, description="times a year")
    filter: FilterIn = Field(default_factory=FilterIn)
    ratios: Ratios = Field(default_factory=Ratios, description="per credit class, e.g. {\"D\": 0.7}")

    @model_validator(mode="after")
    def _period(self) -> "PlanIn":
        if self.period_end < self.period_start or (self.period_end - self.period_start).days > 366:
            raise ValueError("period_end is on or after period_start, at most a year later")
        return self

    def fields(self) -> dict[str, Any]:
        return {**self.model_dump(), "filter": self.filter.model_dump(mode="json"), "ratios": self.ratios.given()}


class TaskIn(RequestBody):
    """Plans of one matter version and one period, one per department, none in a joint task yet, the lead
    department's among them (409 otherwise)."""

    plan_ids: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-.:]{1,64}$")]] = Field(min_length=1, max_length=20)


class AbandonIn(RequestBody):
    reason: RequiredText = Field(min_length=1, max_length=2000)


class ItemResultIn(RequestBody):
    item_code: Code
    outcome: ItemOutcome
    note: Text = Field("", max_length=2000)


class ResultsIn(RequestBody):
    """One entity's results, for the caller's own items (the office: any; another department's item: 403). A
    clue is raised only for a problem found (422 otherwise); an item not inspected there, one that has a result
    already, or a day outside the task's period is refused with 409."""

    inspected_on: Date
    items: list[ItemResultIn] = Field(min_length=1, max_length=200)
    raise_clue: StrictBool = Field(False, description="raise a clue on the clues service's intake (a problem found)")
    clue_text: Text | None = Field(None, max_length=MAX_CONTENT_CHARS,
                                   description="the clue's text (a clue's at most); default: the problems found")
