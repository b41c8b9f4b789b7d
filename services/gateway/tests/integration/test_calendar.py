"""The office maintains the working-day schedule through the gateway: bad uploads are refused with
field-level reasons and change nothing; good ones are kept as revisions and published for the services."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import delete

from jsp_common import clock
from jsp_common.outbox import SessionTx
from jsp_common.principal import Principal, Role
from jsp_common.topics import WORKDAY_SCHEDULES
from jsp_common.workdays import WorkCalendar
from jsp_testkit.testing import of_type, tail, until_waiting_or_done

from gateway.adapters.tables import workday_schedules
from gateway.usecases import calendar

from .conftest import is_problem

YEAR = 2093  # this test's own years: the services of other tests never count deadlines through them
NEVER = 2094  # only ever refused
FIRST = 2095  # uploaded for the first time by two at once
PUBLISHED = "reference.workday-schedule.published.v1"


async def test_a_bad_upload_is_refused_with_every_reason_and_nothing_is_kept(gw, actors):
    office = actors["office"]["headers"]
    body = {"holidays": [f"{NEVER}-01-01", f"{NEVER}-01-01", f"{NEVER + 1}-01-02"],
            "makeup_workdays": [f"{NEVER}-01-06"], "notice": "test"}  # 6 Jan 2094 is a Wednesday
    resp = await gw.http.put(f"/calendar/years/{NEVER}", json=body, headers=office)
    assert resp.status_code == 422 and is_problem(resp), resp.text
    fields = {e["field"]: e["reason"] for e in resp.json()["errors"]}
    assert "more than once" in fields["holidays[1]"]
    assert f"is not in {NEVER}" in fields["holidays[2]"]
    assert "Saturday or Sunday" in fields["makeup_workdays[0]"]
    empty = await gw.http.put(f"/calendar/years/{NEVER}", json={"holidays": []}, headers=office)
    assert empty.status_code == 422 and [e["field"] for e in empty.json()["errors"]] == ["body.holidays"]  # minItems
    assert (await gw.http.get(f"/calendar/years/{NEVER}", headers=office)).status_code == 404
    assert (await gw.http.put(f"/calendar/days/{NEVER}-01-02", json={"is_workday": False},
                              headers=office)).status_code == 409


async def test_uploads_and_corrections_are_revisions_published_for_every_service(gw, actors, bootstrap):
    office = actors["office"]["headers"]
    body = {"holidays": [f"{YEAR}-01-01", f"{YEAR}-01-02"], "makeup_workdays": [f"{YEAR}-01-10"],
            "notice": "国办发明电〔2092〕1号"}
    held = await gw.http.get(f"/calendar/years/{YEAR}", headers=office)  # a developer's earlier run, if any
    before = held.json()["revision"] if held.status_code == 200 else 0
    async with tail(bootstrap, WORKDAY_SCHEDULES) as t:
        first = await gw.http.put(f"/calendar/years/{YEAR}", json=body, headers=office)
        assert first.status_code == (201 if before == 0 else 200), first.text
        assert first.json()["revision"] == before + 1
        assert first.json()["updated_by"] == actors["office"]["client_id"]
        fixed = await gw.http.put(f"/calendar/days/{YEAR}-01-02", json={"is_workday": True}, headers=office)
        assert fixed.status_code == 200 and fixed.json()["revision"] == before + 2
        assert fixed.json()["holidays"] == [f"{YEAR}-01-01"]
        [msg] = await t.wait_for(of_type(PUBLISHED, year=YEAR, revision=before + 2))
    assert msg.key == str(YEAR) and msg.envelope.data["makeup_workdays"] == [f"{YEAR}-01-10"]
    denied = await gw.http.put(f"/calendar/years/{YEAR}", json=body, headers=actors["department"]["headers"])
    assert denied.status_code == 403

    seen = await gw.http.get("/calendar/years", headers=actors["department"]["headers"])
    assert seen.status_code == 200
    cover = seen.json()
    assert {"year": YEAR, "source": "uploaded", "revision": before + 2}.items() <= next(
        y for y in cover["years"] if y["year"] == YEAR).items()
    today = clock.today()
    library_until = WorkCalendar().known_until(today)  # the uploaded far year does not extend the known span
    assert cover["known_until"] == library_until.isoformat()
    soon = (library_until - today).days < gw.runtime.deps.settings.workday_calendar_warn_days
    assert (cover["warning"] is not None) == soon
    if soon:
        assert f"PUT /calendar/years/{library_until.year + 1}" in cover["warning"]


async def test_two_first_uploads_of_a_year_at_the_same_moment_are_its_first_two_revisions(gw, actors, bootstrap):
    """Every service applies a year's newest revision and passes over one it has: two uploads of a year nobody
    uploaded before, at once, must not both be its revision 1 (the services would keep the first, the
    gateway show the second)."""
    async with gw.runtime.db.transaction() as s:  # a developer's earlier run, if any
        await s.execute(delete(workday_schedules).where(workday_schedules.c.year == FIRST))
    office = Principal(subject=actors["office"]["client_id"], roles=[Role.OFFICE])
    async with tail(bootstrap, WORKDAY_SCHEDULES) as t:
        async with gw.runtime.db.transaction() as s:
            await calendar.upload_year(SessionTx(s, gw.runtime.source), office, FIRST, holidays_=[date(FIRST, 1, 1)],
                                       makeup_workdays=[], notice="first")
            second = asyncio.create_task(gw.http.put(f"/calendar/years/{FIRST}", headers=actors["office"]["headers"],
                                                     json={"holidays": [f"{FIRST}-01-01", f"{FIRST}-01-02"]}))
            await until_waiting_or_done(gw.runtime.db, second, what="the second upload")
        r = await second
        assert r.status_code == 200 and r.json()["revision"] == 2, r.text
        published = await t.wait_for(of_type(PUBLISHED, year=FIRST), count=2)
    assert sorted((m.envelope.data["revision"], len(m.envelope.data["holidays"])) for m in published) == [(1, 1), (2, 2)]
    assert (await gw.http.get(f"/calendar/years/{FIRST}", headers=actors["office"]["headers"])).json()["revision"] == 2
