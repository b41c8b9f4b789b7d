"""Request bodies of the risk API (validated before any use case runs)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from jsp_common.events.registry import USCC
from jsp_common.events.risk import CreditClass

from ..domain.model import RiskModel


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseBody(_Body):
    measures: str = Field(min_length=1, max_length=2000, description="what the department did (处置措施)")


class CorrectionBody(_Body):
    credit_class: CreditClass | None = Field(description="the class to hold; null: back to the computed class")
    reason: str = Field(min_length=5, max_length=1000, description="why, on the record")


class ModelBody(_Body):
    model: RiskModel
    note: str = Field("", max_length=1000)


class DeviceBody(_Body):
    uscc: USCC
    metric: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
