"""Request field types that carry into the published OpenAPI the constraints the services enforce, so a
client generated from the document cannot send what a service will refuse: department, agency and
division codes as enumerations of the platform's data, industry prefixes and USCCs as patterns (a USCC's
check character, which no pattern can state, as ``format: uscc``), text without control characters; and the base
of every request body (:class:`RequestBody`)."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from . import departments, divisions, industries, uscc


@cache
def _department_codes() -> tuple[str, ...]:
    return tuple(sorted(d.code for d in departments.all_departments()))


@cache
def _agency_codes() -> tuple[str, ...]:
    return tuple(sorted(a.code for a in departments.agencies()))


@cache
def _division_codes() -> tuple[str, ...]:
    return tuple(sorted(d.code for d in divisions.all_divisions()))


def _industry_prefix_pattern() -> str:
    rows = industries.all_industries()
    sections = "".join(sorted({i.code for i in rows if i.level == "section"}))
    lower = sections.lower()
    two = industries.digits_pattern(sorted({i.code for i in rows if i.level == "division"}))
    return f"^(?:[{sections}{lower}]|{two}[0-9]{{0,2}})$"


DepartmentCode = Annotated[Literal[_department_codes()],  # type: ignore[valid-type]
                           Field(description="department code: agency and division, e.g. samr-410100 "
                                             "(GET /public/departments lists them)")]
AgencyCode = Annotated[Literal[_agency_codes()], Field(description="agency code, e.g. samr")]  # type: ignore[valid-type]
DivisionCode = Annotated[Literal[_division_codes()],  # type: ignore[valid-type]
                         Field(description="Henan administrative division code (GB/T 2260), e.g. 410102")]
IndustryPrefix = Annotated[str, Field(pattern=_industry_prefix_pattern(),
                                      description="GB/T 4754-2017: a section letter, or 2-4 digits of a known "
                                                  "division ('C', '14', '526', '5265')")]
USCC_PATTERN = f"^[{uscc.ALPHABET}]{{18}}$"
Uscc = Annotated[str, Field(pattern=USCC_PATTERN, json_schema_extra={"format": "uscc"},
                            description="unified social credit code (统一社会信用代码, GB 32100-2015), 18 "
                                        "characters with a valid check character")]


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


# An integer as JSON Schema has it: 8 and 8.0 alike, but not true or false.
Integer = Annotated[int, BeforeValidator(_no_bool)]
# Free text: no C0 control character but tab and line breaks; and, where required, not only blanks.
PRINTABLE = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F]*$"
NONBLANK_PRINTABLE = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F]*[^\s\x00-\x08\x0B\x0C\x0E-\x1F][^\x00-\x08\x0B\x0C\x0E-\x1F]*$"


def printable(v: Any) -> Any:
    """Text (or a list of texts) must not carry NUL or other C0 control characters (tabs and line breaks are fine)."""
    for text in ([v] if isinstance(v, str) else v if isinstance(v, list) else []):
        if isinstance(text, str) and any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
            raise ValueError("contains control characters")
    return v


class RequestBody(BaseModel):
    """The base of a service's request bodies: an unknown field is refused, text is stripped of surrounding blanks
    and carries no control characters (422 with the field, before any use case runs)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, v: Any) -> Any:
        return printable(v)
