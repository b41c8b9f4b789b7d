"""Case transfer to public security with its statutory timers, a case coming back from the police (also sent
twice at once), and matching a clue without USCC by name and place against the registry replica."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import text

from jsp_common import clock
from jsp_common.clock import TZ
from jsp_common.events.registry import EntityChanged
from jsp_common.outbox import SessionTx
from jsp_common.principal import Principal, Role
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import (OFFICE, dept, of_type, principal, publish_schedule, tail, unique,
                                 until_waiting_or_done, wait_until)

from clues.adapters import transfers as transfer_rows
from clues.api.schemas import IncomingCaseBody
from clues.usecases import transfers
from clues.usecases.transfers import scan_transfer_timers

from .conftest import clock_at

POLICE_REPLIES = "clues.replies.public-security.v1"
TRANSFERS = "clues.case-transfers.v1"


async def _accepted_clue(service, bootstrap, content: str, address: str, lead: str) -> str:
    no = unique("WO")
    async with tail(bootstrap, f"dept.{lead}.clues.v1") as t:
        await service.work_order(no, content, address=address, uscc=new_uscc(), urgency="complex")
        clue_id = (await t.wait_for(of_type("clues.clue.dispatched.v1", channel_ref=no)))[0].envelope.data["clue_id"]
    for path in ("accept", "verify"):
        assert (await service.post(f"/clues/{clue_id}/{path}", dept(lead))).status_code == 200
    return clue_id


async def test_transfer_to_public_security_with_timers(service, bootstrap):
    clue_id = await _accepted_clue(service, bootstrap, "郑州市惠济区某药店大量销售假药，涉案金额巨大。",
                                   "河南省郑州市惠济区天河路3号", "samr-410100")
    samr, mps = dept("samr-410100"), dept("mps-410100")
    r = await service.post(f"/clues/{clue_id}/case-transfers", samr,
                           {"documents": ["transfer_letter"], "team": ["王执法"]})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"team", "documents"}
    r = await service.post(f"/clues/{clue_id}/case-transfers", samr, {   # the police's decision would be its own
        "documents": ["transfer_letter", "investigation_report", "seized_items_list", "test_reports"],
        "team": ["王执法", "李执法"], "police_department": "samr-410100"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "police_department", r.text
    async with tail(bootstrap, TRANSFERS) as t:
        r = await service.post(f"/clues/{clue_id}/case-transfers", samr, {
            "documents": ["transfer_letter", "investigation_report", "seized_items_list", "test_reports"],
            "team": ["王执法", "李执法"]})
        assert r.status_code == 200, r.text
        tr = r.json()
        twice = await service.post(f"/clues/{clue_id}/case-transfers", samr, {
            "documents": ["transfer_letter", "investigation_report"], "team": ["王执法", "李执法"]})
        assert twice.status_code == 409 and twice.json()["transfer_id"] == tr["id"], twice.text  # one case, once
        requested = (await t.wait_for(of_type("clues.case.transfer-changed.v1", transfer_id=tr["id"])))[0].envelope
        assert requested.data["status"] == "pending_approval" and requested.data["police_department"] == "mps-410100"
        assert requested.data["procuratorate_department"] == "procuratorate-410100"
        # the end of the third working day after the request (the request's day not counted)
        approval_by = datetime.fromisoformat(requested.data["approval_deadline"])
        assert approval_by == service.deps.calendar.add_workdays(datetime.fromisoformat(tr["requested_at"]), 3)
        assert tr["approval_deadline_workdays"] == 3 and tr["approval_deadline_provisional"] is False

        # Nobody approved within 3 working days: the approval timer is announced as overdue, once.
        await scan_transfer_timers(service.deps, now=approval_by)  # its last second still counts
        late = approval_by + timedelta(hours=1)
        await scan_transfer_timers(service.deps, now=late)
        await scan_transfer_timers(service.deps, now=late)
        await t.wait_for(of_type("clues.case.transfer-changed.v1", transfer_id=tr["id"], change="timer_overdue",
                                 overdue=["approval"]))

        assert (await service.post(f"/case-transfers/{tr['id']}/police-decision", mps,
                                   {"open_case": True})).status_code == 409
        r = await service.post(f"/case-transfers/{tr['id']}/approval", samr, {"approved": True})
        handover_by = datetime.fromisoformat(r.json()["handover_deadline"])
        assert timedelta(hours=23) < handover_by - clock.now() <= timedelta(hours=24)
        r = await service.post(f"/case-transfers/{tr['id']}/handover", samr, {"documents": ["photos", "test_reports"]})
        assert r.json()["status"] == "handed_over"
        # documents given at handover are added to the file: the letter and the report the law requires stay on it
        assert r.json()["documents"] == ["transfer_letter", "investigation_report", "seized_items_list",
                                         "test_reports", "photos"]
        assert datetime.fromisoformat(r.json()["decision_deadline"]) == service.deps.calendar.add_workdays(
            datetime.fromisoformat(r.json()["handed_over_at"]), 3)
        assert (await service.client.get(f"/case-transfers/{tr['id']}", headers=dept("samr-410300"))).status_code == 404
        assert (await service.post(f"/case-transfers/{tr['id']}/police-decision", samr,
                                   {"open_case": True})).status_code == 403
        r = await service.post(f"/case-transfers/{tr['id']}/police-decision", mps,
                               {"open_case": True, "reason": "涉嫌生产销售假药罪", "case_ref": "郑公立字〔2026〕88号"})
        assert r.json()["status"] == "case_opened"
        # the case is the police's now: it is not transferred again
        again = await service.post(f"/clues/{clue_id}/case-transfers", samr, {
            "documents": ["transfer_letter", "investigation_report"], "team": ["王执法", "李执法"]})
        assert again.status_code == 409 and again.json()["transfer_status"] == "case_opened", again.text
        assert "郑公立字〔2026〕88号" in again.json()["detail"]
        changes = await t.wait_for(of_type("clues.case.transfer-changed.v1", transfer_id=tr["id"]), count=5)
    assert [m.envelope.data["change"] for m in changes] == ["requested", "timer_overdue", "approved", "handed_over",
                                                            "case_opened"]
    actions = [h["action"] for h in (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()["history"]]
    assert "transfer_case" in actions


async def test_the_case_team_s_size_is_the_setting_s(service, bootstrap, monkeypatch):
    """Where the place requires three officials on a case team, a team of two is refused, saying so."""
    clue_id = await _accepted_clue(service, bootstrap, "郑州市金水区某诊所销售假药，患者服用后不适。",
                                   "河南省郑州市金水区花园路5号", "samr-410100")
    monkeypatch.setattr(service.deps.settings, "transfer_min_team", 3)
    file = ["transfer_letter", "investigation_report"]
    r = await service.post(f"/clues/{clue_id}/case-transfers", dept("samr-410100"),
                           {"documents": file, "team": ["王执法", "李执法"]})
    assert r.status_code == 422 and r.json()["errors"] == [
        {"field": "team", "reason": "at least 3 officials form the case team"}], r.text
    r = await service.post(f"/clues/{clue_id}/case-transfers", dept("samr-410100"),
                           {"documents": file, "team": ["王执法", "李执法", "赵执法"]})
    assert r.status_code == 200 and r.json()["status"] == "pending_approval", r.text


async def test_timers_are_announced_however_many_transfers_wait_for_the_police(service, bootstrap):
    """Transfers handed over whose police decision never comes stay open, their timer announced: they filled the
    scan's page (five hundred; two here) at every scan, and newer transfers' timers were never announced."""
    samr = dept("samr-410100")

    async def handed_over() -> dict:
        clue_id = await _accepted_clue(service, bootstrap, "郑州市惠济区某药店销售假药，涉案金额巨大。",
                                       "河南省郑州市惠济区天河路3号", "samr-410100")
        tr = (await service.post(f"/clues/{clue_id}/case-transfers", samr, {
            "documents": ["transfer_letter", "investigation_report"], "team": ["王执法", "李执法"]})).json()
        for path, body in (("approval", {"approved": True}), ("handover", {})):
            r = await service.post(f"/case-transfers/{tr['id']}/{path}", samr, body)
            assert r.status_code == 200
        return r.json()

    async def overdue(transfer_id: str) -> list[str]:
        return (await service.client.get(f"/case-transfers/{transfer_id}", headers=OFFICE)).json()["overdue"]

    waiting = [await handed_over() for _ in range(2)]
    after_decision_days = max(datetime.fromisoformat(t["decision_deadline"]) for t in waiting) + timedelta(seconds=1)
    await scan_transfer_timers(service.deps, now=after_decision_days, page=2)
    assert [await overdue(t["id"]) for t in waiting] == [["police_decision"]] * 2
    newer = (await handed_over())["id"]
    await scan_transfer_timers(service.deps, now=after_decision_days + timedelta(hours=1), page=2)
    assert await overdue(newer) == ["police_decision"]


async def _requested_at(service, bootstrap, monkeypatch, moment: datetime) -> dict:
    """A case Zhengzhou's market regulator accepted, its transfer requested by the case team at ``moment``."""
    clue_id = await _accepted_clue(service, bootstrap, "郑州市惠济区某药店销售假药，涉案金额巨大。",
                                   "河南省郑州市惠济区天河路3号", "samr-410100")
    with clock_at(monkeypatch, moment):
        r = await service.post(f"/clues/{clue_id}/case-transfers", dept("samr-410100"), {
            "documents": ["transfer_letter", "investigation_report"], "team": ["王执法", "李执法"]})
    assert r.status_code == 200, r.text
    return r.json()


async def test_transfer_timers_count_working_days_across_the_national_day(service, bootstrap, monkeypatch):
    """Asked on Wed 30 Sep 2026 at 16:00, the head's three days ran out on Sat 3 Oct at 16:00, in the middle of the
    National Day holiday (1-7 Oct): three working days end with the make-up Saturday 10 Oct. Handed over on Mon 12
    Oct at 9:00, the police have until the end of Thursday, not Thursday 9:00."""
    samr = dept("samr-410100")
    tr = await _requested_at(service, bootstrap, monkeypatch, datetime(2026, 9, 30, 16, tzinfo=TZ))
    assert datetime.fromisoformat(tr["approval_deadline"]) == datetime(2026, 10, 10, 23, 59, 59, tzinfo=TZ)

    async def overdue() -> list[str]:
        return (await service.client.get(f"/case-transfers/{tr['id']}", headers=OFFICE)).json()["overdue"]
    await scan_transfer_timers(service.deps, now=datetime(2026, 10, 3, 16, 1, tzinfo=TZ))
    await scan_transfer_timers(service.deps, now=datetime(2026, 10, 10, 23, 59, 59, tzinfo=TZ))
    assert await overdue() == []
    await scan_transfer_timers(service.deps, now=datetime(2026, 10, 11, 0, 0, 1, tzinfo=TZ))
    assert await overdue() == ["approval"]

    with clock_at(monkeypatch, datetime(2026, 10, 12, 9, tzinfo=TZ)):
        for path, body in (("approval", {"approved": True}), ("handover", {})):
            r = await service.post(f"/case-transfers/{tr['id']}/{path}", samr, body)
            assert r.status_code == 200, r.text
    handover_by = datetime.fromisoformat(r.json()["handover_deadline"]) - datetime(2026, 10, 13, 9, tzinfo=TZ)
    assert timedelta(0) <= handover_by < timedelta(minutes=1)  # 24 hours, counted as hours
    decide_by = datetime.fromisoformat(r.json()["decision_deadline"])
    assert decide_by == datetime(2026, 10, 15, 23, 59, 59, tzinfo=TZ)
    await scan_transfer_timers(service.deps, now=datetime(2026, 10, 15, 9, 1, tzinfo=TZ))
    assert await overdue() == ["approval"]
    await scan_transfer_timers(service.deps, now=decide_by + timedelta(seconds=1))
    assert await overdue() == ["approval", "police_decision"]


async def test_a_provisional_transfer_timer_is_counted_again_when_its_year_s_schedule_arrives(
        service, bootstrap, raw_producer, monkeypatch):
    """Asked on Wed 30 Dec of a year whose next year's schedule is not out: three working days counted Monday to
    Friday end on Mon 4 Jan, provisionally, and the timer is announced as run out once that passed. The schedule
    then makes 1 Jan a holiday: the deadline is the end of Tue 5 Jan, final, announced to the line systems, and the
    timer is announced again (under a new id) only once that day has passed too."""
    year = 2076  # this test's own years: 30 Dec 2076 is a Wednesday, as 30 Dec 2026
    await publish_schedule(raw_producer, year, [date(year, 10, 1)], calendar=service.deps.calendar)
    transfer_id = (await _requested_at(service, bootstrap, monkeypatch, datetime(year, 12, 30, 16, tzinfo=TZ)))["id"]

    async def transfer() -> dict:
        return (await service.client.get(f"/case-transfers/{transfer_id}", headers=OFFICE)).json()
    asked = await transfer()
    assert datetime.fromisoformat(asked["approval_deadline"]) == datetime(year + 1, 1, 4, 23, 59, 59, tzinfo=TZ)
    assert asked["approval_deadline_provisional"] is True
    timer_overdue = of_type("clues.case.transfer-changed.v1", transfer_id=transfer_id, change="timer_overdue")
    async with tail(bootstrap, TRANSFERS) as t:
        await scan_transfer_timers(service.deps, now=datetime(year + 1, 1, 5, 0, 0, 1, tzinfo=TZ))
        [first] = await t.wait_for(timer_overdue)
        await publish_schedule(raw_producer, year + 1, [date(year + 1, 1, 1)], calendar=service.deps.calendar)
        [recounted] = await t.wait_for(of_type("clues.case.transfer-changed.v1", transfer_id=transfer_id,
                                               change="deadline_recounted"))
        assert recounted.envelope.data["overdue"] == []  # announced for a day that was a holiday
        assert datetime.fromisoformat(recounted.envelope.data["approval_deadline"]) == datetime(
            year + 1, 1, 5, 23, 59, 59, tzinfo=TZ)
        assert f"{year + 1} (revision" in recounted.envelope.data["reason"]
        assert f"{year + 1}-01-04T23:59:59+08:00" in recounted.envelope.data["reason"]  # the one it replaced
        now = await transfer()
        assert now["approval_deadline_provisional"] is False and now["overdue"] == []
        await scan_transfer_timers(service.deps, now=datetime(year + 1, 1, 5, 12, tzinfo=TZ))
        assert (await transfer())["overdue"] == []
        await scan_transfer_timers(service.deps, now=datetime(year + 1, 1, 6, 0, 0, 1, tzinfo=TZ))
        [_, again] = await t.wait_for(timer_overdue, count=2)
    assert again.envelope.id != first.envelope.id and again.envelope.data["overdue"] == ["approval"]


async def test_case_sent_back_by_police_becomes_an_accepted_clue(service, bootstrap):
    ref = unique("PS")
    mps = dept("mps-410700")
    async with tail(bootstrap, TRANSFERS, "dept.samr-410700.clues.v1", POLICE_REPLIES) as t:
        case = {"case_ref": ref, "content": "经审查不构成犯罪，移回行政处理：新乡市红旗区某超市销售过期食品。",
                "received_at": clock.now().isoformat(), "address": "河南省新乡市红旗区", "uscc": new_uscc("410702"),
                "documents": ["case_return_letter"]}
        r = await service.post("/case-transfers/incoming", mps, case)
        assert r.status_code == 201, r.text
        clue_id, tr = r.json()["clue"]["id"], r.json()["transfer"]
        assert r.json()["clue"]["channel"] == "public_security" and tr["status"] == "received"
        await t.wait_for(of_type("clues.clue.dispatched.v1", clue_id=clue_id, department="samr-410700"))
        assert (await service.post(f"/clues/{clue_id}/accept", dept("samr-410700"))).status_code == 200
        await t.wait_for(of_type("clues.case.transfer-changed.v1", transfer_id=tr["id"], status="accepted"))
        for path, body in (("verify", None), ("handle", {"finding": "substantiated", "measures": "罚款20万元"}),
                           ("reply", {"text": "经核查属实，已处罚款20万元。"})):
            assert (await service.post(f"/clues/{clue_id}/{path}", dept("samr-410700"), body)).status_code == 200
        # The police read the outcome of the case they sent back on their topic, and only there: no other channel
        # reads the police case number, the finding and the measures.
        told = (await t.wait_for(of_type("clues.reply.published.v1", channel_ref=ref)))[0]
        assert told.topic == POLICE_REPLIES and told.key == ref and told.envelope.data["measures"] == "罚款20万元"
        async with service.deps.db.transaction() as s:
            keyed_by_ref = await s.scalars(text("SELECT DISTINCT topic FROM outbox_batches, unnest(topics, keys) "
                                                "AS e(topic, key) WHERE key = :k"), {"k": ref})
            assert set(keyed_by_ref) == {POLICE_REPLIES}
        # a second case about the same business, much the same: transferred too, not linked to the first (a
        # linked clue is never accepted, so its transfer stayed received for good)
        again = await service.post("/case-transfers/incoming", mps, {**case, "case_ref": unique("PS")})
        assert again.status_code == 201 and again.json()["clue"]["state"] != "linked", again.text
        await t.wait_for(of_type("clues.clue.dispatched.v1", clue_id=again.json()["clue"]["id"]))
    assert (await service.post("/case-transfers/incoming", dept("samr-410700"), {
        "case_ref": unique("PS"), "content": "x", "received_at": clock.now().isoformat()})).status_code == 403
    # another public security department's case under the same reference: refused, not answered with this one
    other = await service.post("/case-transfers/incoming", dept("mps-410300"), {**case, "address": "河南省洛阳市"})
    assert other.status_code == 409 and "clue" not in other.json(), other.text
    resent = await service.post("/case-transfers/incoming", OFFICE, case)    # the office may send it for them
    assert resent.status_code == 201 and resent.json()["clue"]["id"] == clue_id, resent.text
    # A city's office sending one for its police: the police of the place have it, not the office.
    city_office = principal(Role.OFFICE, department="office-410700", subject="office@410700")
    sent = await service.post("/case-transfers/incoming", city_office, {**case, "case_ref": unique("PS")})
    assert sent.status_code == 201 and sent.json()["transfer"]["police_department"] == "mps-410700", sent.text


async def test_a_case_sent_back_twice_at_the_same_moment_is_one_clue_and_one_transfer(service):
    """A police system resending a case (its first request timed out, say) while the first is being taken in."""
    ref, mps = unique("PS"), "mps-410700"
    case = {"case_ref": ref, "content": "经审查不构成犯罪，移回行政处理：新乡市卫滨区某药店销售过期药品。",
            "received_at": clock.now(), "address": "河南省新乡市卫滨区", "uscc": new_uscc("410703")}
    police = Principal(subject=f"system@{mps}", roles=[Role.DEPARTMENT], department=mps)
    async with service.deps.db.transaction() as s:
        clue, first = await transfers.receive_from_police(service.deps, SessionTx(s, "/test", f"case {ref}"), police,
                                                          case_ref=ref, fields=IncomingCaseBody(**case), documents=[])
        again = asyncio.create_task(service.post("/case-transfers/incoming", dept(mps),
                                                 {**case, "received_at": case["received_at"].isoformat()}))
        await until_waiting_or_done(service.deps.db, again, what="the resent case")
    r = await again
    assert r.status_code == 201, r.text
    assert (r.json()["clue"]["id"], r.json()["transfer"]["id"]) == (clue["id"], first["id"])
    async with service.deps.db.transaction() as s:
        got = await transfer_rows.transfers_of_clue(s, clue["id"], direction="from_police")
        assert [t["id"] for t in got] == [first["id"]]


async def test_clue_without_uscc_matched_by_name_and_place(service, bootstrap):
    uscc = new_uscc("410105")
    name = f"郑州{unique('')[-6:].upper()}味坊餐饮管理有限公司"
    record = EntityChanged(
        uscc=uscc, name=name, entity_type="有限责任公司", address="河南省郑州市金水区农业路18号",
        division_code="410105", city_code="410100", industry_code="6210", status="active",
        established_on="2020-05-01", responsible_departments=["samr-410100", "nhc-410100", "mee-410100"], domains=["food"],
        assignment_state="assigned", assignment_source="rules", record_version=3,
        last_changed_at=clock.now(), updated_at=clock.now())
    await service.send("registry.entities.v1", "registry.entity.changed.v1", record.model_dump(mode="json"), uscc)
    # An older version arriving late does not overwrite the replica.
    stale = record.model_copy(update={"record_version": 1, "name": "旧名称"})
    await service.send("registry.entities.v1", "registry.entity.changed.v1", stale.model_dump(mode="json"), uscc)

    async def replicated():
        async with service.deps.db.transaction() as s:
            from clues.adapters.directory import entity
            return await entity(s, uscc)
    await wait_until(replicated, what="the replica row")

    no = unique("WO")
    short = name.removeprefix("郑州").removesuffix("管理有限公司")
    async with tail(bootstrap, "dept.samr-410100.clues.v1", "dept.nhc-410100.clues.v1") as t:
        await service.work_order(no, f"金水区{short}店门口污水横流，后厨食品变质。", business_name=short,
                                 address="郑州市金水区农业路18号")
        lead = (await t.wait_for(of_type("clues.clue.dispatched.v1", channel_ref=no, role="lead")))[0].envelope.data
        co = (await t.wait_for(of_type("clues.clue.dispatched.v1", channel_ref=no, role="co")))[0]
    assert lead["uscc"] == uscc and lead["business_name"] == short
    assert 0.6 <= lead["match_confidence"] < 1.0
    # The business's departments that cover the domain co-handle (nhc); the environment bureau does not.
    assert lead["department"] == "samr-410100" and co.topic == "dept.nhc-410100.clues.v1"
    assert lead["co_departments"] == ["nhc-410100"]
    row = await service.clue("hotline", no)
    assert row["match_method"] == "name_place"
    # A poll's clues without USCC are matched together (their candidates in one statement), each to its own.
    from clues.usecases.matching import match_by_name
    async with service.deps.db.transaction() as s:
        matches = await match_by_name(service.deps, s, [
            (f"无名{unique('')[-6:]}小吃", "郑州市二七区大学路1号", "410103"), (None, None, "410105"),
            (short, "郑州市金水区农业路18号", "410105")])
    assert [m[1] for m in matches] == [None, None, "name_place"] and matches[2][0]["uscc"] == uscc
    assert (await replicated())["name"] == name


async def test_names_are_matched_by_their_distinctive_pieces_and_by_all_when_those_do_not_settle_it(service):
    """With the replica analysed, a name's common pieces (here 餐饮, 饮管, 管理) are left out of the first look;
    an entity holding only those is still found when it is the best match (the second look)."""
    from clues.adapters.directory import name_columns, name_gram_shares
    from clues.adapters.tables import entities
    from clues.domain.name_lookup import plan
    from clues.domain.text import search_grams
    from clues.usecases.matching import match_by_name

    tag, rng = unique("")[-6:].upper(), random.Random(5)
    plain = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉"
    rows = [{"uscc": new_uscc("410305"), "name": f"洛阳{rng.choice(plain)}{rng.choice(plain)}{piece}{rng.choice(plain)}有限公司",
             "address": f"洛阳市西工区某路{k}号"} for k in range(300) for piece in ("餐饮", "饮管", "管理")]
    brand = {"uscc": new_uscc("410305"), "name": f"洛阳{tag}味坊餐饮管理有限公司", "address": "洛阳市西工区中州路18号"}
    plain_name = {"uscc": new_uscc("410305"), "name": "洛阳餐饮管理有限公司", "address": "洛阳市西工区唐宫路9号"}
    added = rows + [brand, plain_name]
    async with service.deps.db.transaction() as s:
        await s.execute(entities.insert(), [{**r, "division_code": "410305", "city_code": "410300", "status": "active",
                                             "version": 1, **name_columns(r["name"], "410300")} for r in added])
        await s.execute(text("ANALYZE replica_entities"))
    try:
        async with service.deps.db.transaction() as s:
            shares = await name_gram_shares(s)
            common = min(shares.get(p, 0.0) for p in ("餐饮", "饮管", "管理"))
        asked = [(f"{tag}味坊餐饮管理", "西工区中州路18号", "410305"),         # the brand: the first look finds it
                 (f"{tag}乙餐饮管理", "洛阳市西工区唐宫路9号", "410305"),     # only the plain name, inside it
                 ("丁卯商行", "洛阳市西工区某路1号", "410305")]              # not in the directory
        deps = replace(service.deps, settings=service.deps.settings.model_copy(update={"match_common_share": common}))
        # The plain name holds none of the second name's distinctive pieces: only the second look can find it.
        second = plan(asked[1][0], has_address=True, shares=shares, common_share=common)
        assert common > 0 and not set(search_grams(plain_name["name"])) & set(second.first)
        async with service.deps.db.transaction() as s:
            matches = await match_by_name(deps, s, asked)
        assert [(m[0] or {}).get("uscc") for m in matches] == [brand["uscc"], plain_name["uscc"], None]
        assert matches[1][2] == 0.92  # names 0.9 alike (one inside the other), the same address
    finally:
        async with service.deps.db.transaction() as s:
            await s.execute(entities.delete().where(entities.c.uscc.in_([r["uscc"] for r in added])))
            await s.execute(text("ANALYZE replica_entities"))


async def test_the_replica_is_rebuilt_from_the_log_while_the_service_runs(service, settings):
    """``python -m clues replay-replica`` (beside the running service) restores a replica row that was lost,
    with the service's own column (the name's bigrams), from the compacted directory topic."""
    from sqlalchemy import delete, select

    from clues.adapters.tables import entities

    uscc = new_uscc("410105")
    record = EntityChanged(
        uscc=uscc, name=f"郑州{unique('')[-6:].upper()}烩面馆有限公司", entity_type="有限责任公司",
        address="河南省郑州市二七区大学路1号", division_code="410103", city_code="410100", industry_code="6210",
        status="active", established_on="2021-03-01", responsible_departments=["samr-410100"], domains=["food"],
        assignment_state="assigned", assignment_source="rules", record_version=2, last_changed_at=clock.now(),
        updated_at=clock.now())
    await service.send("registry.entities.v1", "registry.entity.changed.v1", record.model_dump(mode="json"), uscc)

    async def row():
        async with service.deps.db.transaction() as s:
            return (await s.execute(select(entities).where(entities.c.uscc == uscc))).mappings().first()
    kept = dict(await wait_until(row, what="the replica row"))
    async with service.deps.db.transaction() as s:
        await s.execute(delete(entities).where(entities.c.uscc == uscc))

    env = {**os.environ, "JSP_CLUES_DATABASE_URL": service.deps.settings.database_url,
           "JSP_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "clues", "replay-replica"], env=env,
                                   capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "replica rebuilt from registry.entities.v1" in done.stdout
    again = dict(await row())
    columns = ("name", "version", "name_grams", "place_grams")
    assert {k: again[k] for k in columns} == {k: kept[k] for k in columns}
