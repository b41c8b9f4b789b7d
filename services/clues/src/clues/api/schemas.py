"""Request bodies of the clues API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool

from jsp_common.api_types import (NONBLANK_PRINTABLE, PRINTABLE, AgencyCode, DepartmentCode, DivisionCode, Integer,
                                  RequestBody, Uscc, integer)
from jsp_common.domains import Domain
from jsp_common.events.clues import (MAX_ADDRESS_CHARS, MAX_CONTENT_CHARS, MAX_SHORT_CHARS, Channel, Finding,
                                     Urgency, _ClueFields)

# Text as the service takes it (no control characters; a required text not only blanks), said in the schema.
Text = Annotated[str, Field(pattern=PRINTABLE)]
Required = Annotated[str, Field(pattern=NONBLANK_PRINTABLE)]
ChannelOrAll = Literal[tuple([c.value for c in Channel] + ["*"])]  # type: ignore[valid-type]

class DispatchBody(RequestBody):
    lead: DepartmentCode = Field(description="lead department (主办), e.g. samr-410100")
    co: list[DepartmentCode] = Field(default_factory=list, max_length=20, description="co-handling departments (协办)")
    domain: Domain | None = None
    note: Text | None = Field(None, max_length=1000)
    arbitrate: StrictBool = Field(False, description="arbitration (仲裁) of a returned clue: it cannot be returned again")


class ReturnBody(RequestBody):
    reason: Required = Field(min_length=1, max_length=1000)


class HandleBody(RequestBody):
    finding: Finding
    measures: Required = Field(min_length=1, max_length=MAX_CONTENT_CHARS)


class ReplyBody(RequestBody):
    text: Text | None = Field(None, max_length=MAX_CONTENT_CHARS)


class RevisitBody(RequestBody):
    satisfied: StrictBool
    comment: Text | None = Field(None, max_length=1000)


class ExtensionBody(RequestBody):
    workdays: Integer = Field(ge=1, le=365)
    reason: Required = Field(min_length=1, max_length=1000)


class DecisionBody(RequestBody):
    approved: StrictBool
    note: Text | None = Field(None, max_length=1000)


class RuleBody(RequestBody):
    keyword: Required = Field(min_length=1, max_length=50)
    domain: Domain
    lead_agency: AgencyCode
    co_agencies: list[AgencyCode] = Field(default_factory=list, max_length=20)
    priority: Integer = Field(0, ge=-1000, le=1000)
    enabled: StrictBool = True


class RulePatch(RequestBody):
    keyword: Required | None = Field(None, min_length=1, max_length=50)
    domain: Domain | None = None
    lead_agency: AgencyCode | None = None
    co_agencies: list[AgencyCode] | None = Field(None, max_length=20)
    priority: integer(ge=-1000, le=1000) | None = None
    enabled: StrictBool | None = None


class PolicyBody(RequestBody):
    channel: ChannelOrAll = Field(description="a channel, or * for every channel")
    urgency: Urgency
    category: Required = Field("*", max_length=MAX_SHORT_CHARS, description=(
        "the work order's category (order type, e.g. 咨询 or 投诉) as its sender names it, or * for every category; "
        "a category's own policy wins over the general one"))
    workdays: Integer = Field(ge=1, le=60)


class TransferBody(RequestBody):
    documents: list[Text] = Field(max_length=100, description="file contents: transfer_letter, investigation_report, "
                                             "seized_items_list, test_reports, ...")
    team: list[Required] = Field(max_length=50, description="the case team: at least two officials")
    police_department: DepartmentCode | None = Field(None, description="default: the public security bureau of the place")


class ApprovalBody(RequestBody):
    approved: StrictBool
    reason: Text | None = Field(None, max_length=1000)


class HandoverBody(RequestBody):
    documents: list[Text] | None = Field(None, max_length=100)


class PoliceDecisionBody(RequestBody):
    open_case: StrictBool = Field(description="true: a criminal case is opened (立案); false: declined (不予立案)")
    reason: Text | None = Field(None, max_length=1000)
    case_ref: Text | None = Field(None, max_length=100)


class IncomingCaseBody(_ClueFields):
    """A case sent back by the police for administrative handling."""

    # the checks of the intake, stated in the schema (an empty division or USCC is left out, not sent blank)
    division_code: DivisionCode | None = Field(None, description="Henan division code (GB/T 2260) if known")
    uscc: Uscc | None = Field(None, description="its unified social credit code, when given")
    address: Text | None = Field(None, max_length=MAX_ADDRESS_CHARS, description="Place of the matter")
    business_name: Text | None = Field(None, max_length=MAX_SHORT_CHARS, description="The business concerned")
    category: Text | None = Field(None, max_length=MAX_SHORT_CHARS, description="The sender's category")
    content: Required = Field(min_length=1, max_length=MAX_CONTENT_CHARS, description="The case, Chinese free text")

    case_ref: str = Field(min_length=1, max_length=64, pattern=r"^[^\s/\x00-\x1F]+$")
    documents: list[Text] = Field(default_factory=list, max_length=100)
