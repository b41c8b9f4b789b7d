"""A plan is made under the version of its matter in effect on the first day of its period: a department plans
the next period ahead under the version that will govern it, and every department's plan of one period has the
same version, so the lead merges them into one joint task."""

from __future__ import annotations

from datetime import date, timedelta

from jsp_common import clock
from jsp_testkit.testing import OFFICE, dept, unique

from .conftest import new_industry

SAMR, NHC = "samr-410100", "nhc-410100"
NEXT_YEAR = clock.today().year + 1
NEXT_PERIOD = {"start": date(NEXT_YEAR, 1, 1).isoformat(), "end": date(NEXT_YEAR, 12, 31).isoformat()}


def _version(code: str, *, co: list[str], effective_from: date) -> dict:
    return {"code": code, "name": "餐饮食品安全联合抽查", "domain": "food", "division_code": "410100", "kind": "key",
            "lead_department": SAMR, "cooperating_departments": co, "legal_basis": "《食品安全法》",
            "items": [{"code": f"{code}-S1", "department": SAMR, "title": "经营许可与进货查验"}]
            + [{"code": f"{code}-{d[:3].upper()}1", "department": d, "title": "从业人员健康"} for d in co],
            "effective_from": effective_from.isoformat()}


async def _publish(service, version: dict) -> int:
    r = await service.post("/batches", OFFICE, {"division_code": "410100", "title": "批次", "matters": [version]})
    assert r.status_code == 201, r.text
    return r.json()["accepted"][0]["version"]


async def test_a_plan_for_the_next_period_is_made_under_the_version_that_will_be_in_effect_then(service):
    """Version 2, published today and effective on 1 January, adds nhc as a cooperating department. A plan for
    next year took the version in effect today (1, superseded for the whole period); nhc, not in version 1, was
    refused (409) until 1 January, and then its plan (version 2) and samr's (version 1) made no joint task."""
    industry = new_industry()
    await service.entities(3, industry)
    code = unique("AHEAD").replace("-", "")[:40]
    assert await _publish(service, _version(code, co=[], effective_from=date(2025, 1, 1))) == 1
    assert await _publish(service, _version(code, co=[NHC], effective_from=date(NEXT_YEAR, 1, 1))) == 2

    samr = await service.plan(SAMR, code, industry, {"B": 0.2}, **NEXT_PERIOD)
    nhc = await service.plan(NHC, code, industry, {"B": 0.1}, **NEXT_PERIOD)
    assert (samr["matter_version"], nhc["matter_version"]) == (2, 2)
    assert nhc["items"] == [f"{code}-NHC1"]
    r = await service.post("/tasks", dept(SAMR), {"plan_ids": [samr["id"], nhc["id"]]})
    assert r.status_code == 201, r.text
    assert r.json()["matter_version"] == 2 and r.json()["departments"] == [NHC, SAMR]

    # This period's plan is still made under the version in effect when this period began.
    this_year = {"start": date(NEXT_YEAR - 1, 1, 1).isoformat(), "end": date(NEXT_YEAR - 1, 12, 31).isoformat()}
    assert (await service.plan(SAMR, code, industry, {"B": 0.2}, **this_year))["matter_version"] == 1


async def test_a_matter_is_planned_for_from_before_its_first_day_but_no_period_starts_before_it(service):
    """A matter whose first version takes effect on 1 January could not be planned for before that day (404)."""
    industry = new_industry()
    await service.entities(2, industry)
    code = unique("NEW").replace("-", "")[:40]
    await _publish(service, _version(code, co=[NHC], effective_from=date(NEXT_YEAR, 1, 1)))
    plan = await service.plan(NHC, code, industry, {"B": 0.1}, **NEXT_PERIOD)
    assert plan["matter_version"] == 1

    # A period that begins before the matter takes effect: the list holds no version for its first day (409).
    r = await service.post("/plans", dept(NHC), {
        "matter_code": code, "period_start": clock.today().isoformat(),
        "period_end": (clock.today() + timedelta(days=300)).isoformat(),
        "filter": {"industry_code": industry}})
    assert r.status_code == 409, r.text
    assert r.json()["errors"] == [{"field": "period_start", "reason": (
        f"matter {code} takes effect on {NEXT_YEAR}-01-01: a plan's period begins on that day or later")}]
    r = await service.post("/plans", dept(NHC), {
        "matter_code": "NO-SUCH-MATTER", "period_start": NEXT_PERIOD["start"], "period_end": NEXT_PERIOD["end"]})
    assert r.status_code == 404, r.text
