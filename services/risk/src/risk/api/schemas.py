"""Request bodies of the risk API (validated before any use case runs)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jsp_common.api_types import RequiredText, Text
from jsp_common.events.registry import USCC
from jsp_common.events.risk import CreditClass

from ..domain.model import RiskModel


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _printable(cls, v: Any) -> Any:
        """Text carries no NUL or other control characters (tabs and line breaks are fine)."""
        if isinstance(v, str) and any(ord(ch) < 32 and ch not in "\t\n\r" for ch in v):
            raise ValueError("contains control characters")
        return v


class ResponseBody(_Body):
    measures: RequiredText = Field(min_length=1, max_length=2000, description="what the department did (处置措施)")


class CorrectionBody(_Body):
    credit_class: CreditClass | None = Field(description="the class to hold; null: back to the computed class")
    reason: RequiredText = Field(min_length=5, max_length=1000, description="why, on the record")


class ModelBody(_Body):
    model: RiskModel
    note: Text = Field("", max_length=1000)


class DeviceBody(_Body):
    uscc: USCC
    metric: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
