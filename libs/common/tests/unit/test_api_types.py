"""The constraints the published documents state are exactly those the checks enforce."""

import re

from pydantic import TypeAdapter, ValidationError

from jsp_common import departments, industries
from jsp_common.api_types import AgencyCode, DepartmentCode, IndustryPrefix


def _accepted_class(code: str) -> bool:
    try:
        return industries.validate_class(code) == code
    except industries.UnknownIndustry:
        return False


def test_the_industry_class_pattern_accepts_exactly_the_classes_the_check_accepts():
    pattern = re.compile(industries.class_code_pattern())
    every = [f"{n:04d}" for n in range(10_000)]
    assert [c for c in every if pattern.match(c)] == [c for c in every if _accepted_class(c)]


def test_industry_prefixes_match_the_rules_check():
    prefix = TypeAdapter(IndustryPrefix)
    for ok in ("C", "c", "14", "526", "5265"):
        prefix.validate_python(ok)
    for bad in ("U", "99", "12345", ""):
        try:
            prefix.validate_python(bad)
        except ValidationError:
            continue
        raise AssertionError(f"{bad!r} accepted")


def test_codes_are_the_enumerations_of_the_data():
    assert set(TypeAdapter(DepartmentCode).json_schema()["enum"]) == {d.code for d in departments.all_departments()}
    assert set(TypeAdapter(AgencyCode).json_schema()["enum"]) == {a.code for a in departments.agencies()}
