"""Events owned by the inspection service.

* ``inspection.result.published.v1`` on ``inspection.results.v1`` (keyed by USCC): the published result
  (一公开) of one joint inspection of one entity, one outcome per inspected item. The risk service takes
  failed items as indicator inputs; the public feed shows the same record.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .base import EventData, event
from .registry import USCC, DepartmentCode


class ItemOutcome(StrEnum):
    """What the team found for one inspection item (检查结果)."""

    NO_PROBLEM = "no_problem"                  # 未发现问题
    CORRECTION_ORDERED = "correction_ordered"  # 发现问题，责令改正
    REFERRED_FOR_CASE = "referred_for_case"    # 发现问题，移送立案
    NOT_COOPERATING = "not_cooperating"        # 不配合检查
    NOT_FOUND_AT_ADDRESS = "not_found_at_address"  # 通过登记的住所（经营场所）无法联系


class ItemResult(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    item_code: str = Field(min_length=1, max_length=64, description="the inspection item of the matter")
    department: DepartmentCode = Field(description="the department that owns the item")
    outcome: ItemOutcome
    note: str = Field("", max_length=2000)


@event("inspection.result.published.v1")
class InspectionResultPublished(EventData):
    """The result of one entity's joint inspection, published (双随机、一公开)."""

    uscc: USCC
    entity_name: str = Field(min_length=1, max_length=200)
    task_id: str = Field(min_length=1, max_length=64, description="the joint inspection task")
    matter_code: str = Field(min_length=1, max_length=64, description="the key supervision matter (重点事项)")
    lead_department: DepartmentCode
    departments: list[DepartmentCode] = Field(min_length=1, description="every department whose items were inspected")
    inspected_on: date
    items: list[ItemResult] = Field(min_length=1)
    problems_found: bool = Field(description="true when any item's outcome is other than no_problem")
    published_at: datetime
