"""Request bodies of the clues API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jsp_common.domains import Domain
from jsp_common.events.clues import MAX_CONTENT_CHARS, Finding, Urgency, _ClueFields, _printable

class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, v: Any) -> Any:
        return _printable(v)


class DispatchBody(Body):
    lead: str = Field(description="lead department (主办), e.g. samr-410100")
    co: list[str] = Field(default_factory=list, max_length=20, description="co-handling departments (协办)")
    domain: Domain | None = None
    note: str | None = Field(None, max_length=1000)
    arbitrate: bool = Field(False, description="arbitration (仲裁) of a returned clue: it cannot be returned again")


class ReturnBody(Body):
    reason: str = Field(min_length=1, max_length=1000)


class HandleBody(Body):
    finding: Finding
    measures: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)


class ReplyBody(Body):
    text: str | None = Field(None, max_length=MAX_CONTENT_CHARS)


class RevisitBody(Body):
    satisfied: bool
    comment: str | None = Field(None, max_length=1000)


class ExtensionBody(Body):
    workdays: int = Field(ge=1, le=365)
    reason: str = Field(min_length=1, max_length=1000)


class DecisionBody(Body):
    approved: bool
    note: str | None = Field(None, max_length=1000)


class RuleBody(Body):
    keyword: str = Field(min_length=1, max_length=50)
    domain: Domain
    lead_agency: str
    co_agencies: list[str] = Field(default_factory=list, max_length=20)
    priority: int = Field(0, ge=-1000, le=1000)
    enabled: bool = True


class RulePatch(Body):
    keyword: str | None = Field(None, min_length=1, max_length=50)
    domain: Domain | None = None
    lead_agency: str | None = None
    co_agencies: list[str] | None = None
    priority: int | None = Field(None, ge=-1000, le=1000)
    enabled: bool | None = None


class PolicyBody(Body):
    channel: str = Field(description="a channel, or * for every channel")
    urgency: Urgency
    workdays: int = Field(ge=1, le=60)


class TransferBody(Body):
    documents: list[str] = Field(max_length=100, description="file contents: transfer_letter, investigation_report, "
                                             "seized_items_list, test_reports, ...")
    team: list[str] = Field(max_length=50, description="the case team: at least two officials")
    police_department: str | None = Field(None, description="default: the public security bureau of the place")


class ApprovalBody(Body):
    approved: bool
    reason: str | None = Field(None, max_length=1000)


class HandoverBody(Body):
    documents: list[str] | None = Field(None, max_length=100)


class PoliceDecisionBody(Body):
    open_case: bool = Field(description="true: a criminal case is opened (立案); false: declined (不予立案)")
    reason: str | None = Field(None, max_length=1000)
    case_ref: str | None = Field(None, max_length=100)


class IncomingCaseBody(_ClueFields):
    """A case sent back by the police for administrative handling."""

    case_ref: str = Field(min_length=1, max_length=64, pattern=r"^[^\s/]+$")
    documents: list[str] = Field(default_factory=list, max_length=100)
