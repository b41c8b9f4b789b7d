"""Request bodies of the risk API (validated before any use case runs)."""

from __future__ import annotations

from pydantic import Field

from jsp_common.api_types import RequestBody, RequiredText, Text
from jsp_common.events.registry import USCC
from jsp_common.events.risk import CreditClass

from ..domain.model import RiskModel


class ResponseBody(RequestBody):
    measures: RequiredText = Field(min_length=1, max_length=2000, description="what the department did (处置措施)")


class CorrectionBody(RequestBody):
    credit_class: CreditClass | None = Field(description="the class to hold; null: back to the computed class")
    reason: RequiredText = Field(min_length=5, max_length=1000, description="why, on the record")


class ModelBody(RequestBody):
    model: RiskModel
    note: Text = Field("", max_length=1000)


class DeviceBody(RequestBody):
    uscc: USCC
    metric: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
