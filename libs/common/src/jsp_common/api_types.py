"""Request field types that carry into the published OpenAPI the constraints the services enforce, so a
client generated from the document cannot send what a service will refuse: department, agency and
division codes as enumerations of the platform's data, industry prefixes and USCCs as patterns (a USCC's
check character, which no pattern can state, as ``format: uscc``), text without control characters, numbers
that are not booleans, dates and date-times only in the form the document gives; and the base of every request
body (:class:`RequestBody`)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

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
C0_CONTROLS = r"\x00-\x08\x0B\x0C\x0E-\x1F"  # a regex character range: C0 controls but tab and line breaks
PRINTABLE = rf"^[^{C0_CONTROLS}]*$"
NONBLANK_PRINTABLE = rf"^[^{C0_CONTROLS}]*[^\s\x85{C0_CONTROLS}][^{C0_CONTROLS}]*$"
_CONTROL = re.compile(rf"[{C0_CONTROLS}]")


def printable(v: Any) -> Any:
    """Text (or a list of texts) must not carry NUL or other C0 control characters (tabs and line breaks are fine)."""
    for text in ([v] if isinstance(v, str) else v if isinstance(v, list) else []):
        if isinstance(text, str) and _CONTROL.search(text):
            raise ValueError("contains control characters")
    return v


class RequestBody(BaseModel):
    """The base of a service's request bodies: an unknown field is refused, text is stripped of surrounding blanks
    and carries no control characters (422 with the field, before any use case runs)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, v: Any) -> Any:
        return printable(v)  # before the blanks around a text are trimmed (a lone control character is no blank)


# Text as the services take it, said in the schema: no control characters; where required, not only blanks.
Text = Annotated[str, Field(pattern=PRINTABLE)]
RequiredText = Annotated[str, Field(pattern=NONBLANK_PRINTABLE)]


def _no_bool_number(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


# A number as JSON Schema has it: 1 and 1.5 alike, but not true or false.
Number = Annotated[float, BeforeValidator(_no_bool_number)]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_PATTERN = _ISO_DATE.pattern
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _iso_date(value: object) -> object:
    """Only what the document promises (an RFC 3339 full-date): no Unix seconds such as ``0``, no date-time."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date as YYYY-MM-DD, e.g. 2026-03-02")
    return value


def _rfc3339(value: object) -> object:
    """Only what the document promises (an RFC 3339 date-time with its offset): no Unix seconds such as
    ``0.5``, no date without a time, no time without an offset."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-03-02T09:00:00+08:00")
    return value


def _within_the_calendar(value: datetime) -> datetime:
    """A moment a day or more from the ends of the calendar (years 1 and 9999): its date anywhere (what deadlines,
    filters and the database compute) is then a date too."""
    try:
        utc = value.astimezone(timezone.utc)
        _day_before, _day_after = utc - timedelta(days=1), utc + timedelta(days=1)  # past an end: OverflowError
    except OverflowError:
        raise ValueError("must be a day or more from the ends of the years 0001-9999") from None
    return value


Date = Annotated[date, BeforeValidator(_iso_date)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_within_the_calendar)]


def integer(**bounds: float) -> Any:
    """``Integer`` with bounds (``ge``, ``le``, ...) that reach the schema also where it may be null: ``x:
    integer(ge=1) | None`` (``Integer | None = Field(ge=1)`` would state them as ``ge`` where JSON Schema reads
    ``minimum``)."""
    return Annotated[int, Field(**bounds), BeforeValidator(_no_bool)]  # type: ignore[arg-type]


def number(**bounds: float) -> Any:
    """``Number`` with bounds, as :func:`integer`."""
    return Annotated[float, Field(**bounds), BeforeValidator(_no_bool_number)]  # type: ignore[arg-type]
