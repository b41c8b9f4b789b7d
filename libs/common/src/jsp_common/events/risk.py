"""Events owned by the risk service.

* ``risk.credit-class.changed.v1`` on ``risk.credit-classes.v1`` (compacted, keyed by USCC): an entity's
  credit risk class (信用风险分类) under SAMR's four bands: A low, B general, C fairly high, D high risk.
  The inspection service keeps the latest class per entity for its credit-based sampling ratios; an entity
  without a class counts as B. ``record_version`` rises with every change of one entity, so a replica applies
  only newer records.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from .base import EventData, event
from .registry import USCC


class CreditClass(StrEnum):
    """SAMR's credit risk classes (信用风险分类)."""

    A = "A"  # 低风险
    B = "B"  # 一般风险
    C = "C"  # 较高风险
    D = "D"  # 高风险


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
