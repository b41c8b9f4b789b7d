"""End to end on real Kafka and PostgreSQL: bureau topic -> directory -> department topics and receipts."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

import asyncpg

from jsp_common import clock
from jsp_common.db import asyncpg_dsn
from jsp_testkit.testing import of_type, publish_schedule, tail, unique, until_waiting_or_done
from jsp_common.topics import NOTIFICATIONS, department_topic
from registry.adapters import adjudication as cases
from registry.adapters import entities as records
from registry.usecases import notifications

RECEIPTS = "market.registration-receipts.v1"
INTAKE = "market.registrations.v1"
SAMR_ZZ = department_topic(NOTIFICATIONS, "samr-410100")
MEM_ZZ = department_topic(NOTIFICATIONS, "mem-410100")
MOFCOM_ZZ = department_topic(NOTIFICATIONS, "mofcom-410100")
SAMR_LY = department_topic(NOTIFICATIONS, "samr-410300")
ADJ = "registry.adjudication.v1"
ENTITIES = "registry.entities.v1"
REMINDED = "registry.notification.reminded.v1"
REMINDER_STATE = ("reminder_count", "last_reminded_at", "next_reminder_at", "overdue_since")


def issued_to(topic: str, uscc: str, **match):
    return lambda m: (m.topic == topic and of_type("registry.notification.issued.v1", **match)(m)
                      and m.envelope.data["entity"]["uscc"] == uscc)


async def notified(raw_producer, bootstrap, kit, code: str) -> str:
    """``code`` registered on the bureau topic (a restaurant in Zhengzhou): the id of the notification its city's
    market regulator gets."""
    async with tail(bootstrap, SAMR_ZZ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(code)), code)
        [issued] = await t.wait_for(kit.mine(issued_to(SAMR_ZZ, code)))
    return issued.envelope.data["notification_id"]


async def waiting_for_the_office(raw_producer, bootstrap, kit, name: str) -> tuple[str, dict, str]:
    """A digital-collectibles business no rule assigns, registered: its USCC, its data and its adjudication case."""
    code = kit.new_uscc("410102")
    data = kit.entity_data(code, name=name, industry_code="7215", business_scope="数字藏品运营；企业管理咨询",
                           division_code="410102")
    async with tail(bootstrap, ADJ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", data), code)
        [requested] = await t.wait_for(kit.mine(of_type("registry.adjudication.requested.v1", uscc=code)))
    return code, data, requested.envelope.data["case_id"]


async def remind_all(deps, now: datetime) -> None:
    """The periodic reminder job as of ``now``: every overdue notification in the test database, in batches."""
    while await notifications.remind_overdue(deps, now=now):
        pass


async def test_registration_notifies_departments_and_acknowledgement_clears_overdue(registry, raw_producer,
                                                                                   bootstrap, kit):
    code = kit.new_uscc("410105")  # 金水区: its city's departments (郑州) are responsible
    data = kit.entity_data(code, business_scope="餐饮服务；食品经营；危险化学品经营（不带储存设施）",
                           licences=[{"type": "食品经营许可证", "number": "JY14101050000001"}])
    async with tail(bootstrap, RECEIPTS, SAMR_ZZ, MEM_ZZ, ENTITIES) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", data), code)
        [receipt] = await t.wait_for(kit.mine(of_type("registry.registration.accepted.v1", uscc=code)))
        assert receipt.envelope.data["outcome"] == "applied"
        assert receipt.envelope.data["responsible_departments"] == ["mem-410100", "samr-410100"]
        food = await t.wait_for(kit.mine(issued_to(SAMR_ZZ, code)))
        await t.wait_for(kit.mine(issued_to(MEM_ZZ, code)))
        [changed] = await t.wait_for(kit.mine(of_type("registry.entity.changed.v1", uscc=code)))
        assert changed.key == code
        assert changed.envelope.data["responsible_departments"] == ["mem-410100", "samr-410100"]
    notification_id = food[0].envelope.data["notification_id"]
    samr = kit.department("samr-410100")

    # Each department sees the entity as registered; another department gets 404; a USCC PostgreSQL cannot take
    # is the caller's error.
    seen = await registry.call("GET", f"/entities/{code}", samr)
    assert seen.status_code == 200
    assert {k: seen.json()[k] for k in ("uscc", "name", "licences", "responsible_departments", "established_on")} == {
        "uscc": code, "name": data["name"], "licences": [{**lic, "issued_on": None, "valid_until": None} for lic in data["licences"]],
        "responsible_departments": ["mem-410100", "samr-410100"], "established_on": data["established_on"]}
    assert (await registry.call("GET", f"/entities/{code}", kit.department("nmpa-410000"))).status_code == 404
    bad = await registry.call("GET", "/entities/9141%00", samr)
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert (await registry.call("GET", f"/notifications/{notification_id}",
                                kit.department("mem-410100"))).status_code == 404

    # Not acknowledged in time: a reminder on the department's topic, and the notification shows overdue.
    async with tail(bootstrap, SAMR_ZZ) as t:
        await remind_all(registry.runtime.deps, clock.now() + timedelta(days=30))
        await t.wait_for(kit.mine(of_type("registry.notification.reminded.v1", notification_id=notification_id)))
    listed = (await registry.call("GET", "/notifications", samr, params={"overdue": "true", "uscc": code})).json()
    assert [n["id"] for n in listed["items"]] == [notification_id]

    # Acknowledgement (签收) by the department itself clears the overdue state; the office may not sign for it.
    assert (await registry.call("POST", f"/notifications/{notification_id}/acknowledgement",
                                kit.OFFICE)).status_code == 403
    async with tail(bootstrap, SAMR_ZZ) as t:
        r = await registry.call("POST", f"/notifications/{notification_id}/acknowledgement", samr)
        assert r.status_code == 200, r.text
        assert r.json()["overdue"] is False and r.json()["acknowledged_by"] == "samr-410100-clerk"
        [ack] = await t.wait_for(kit.mine(of_type("registry.notification.acknowledged.v1",
                                                  notification_id=notification_id)))
        assert ack.envelope.data["was_overdue"] is True
    still = (await registry.call("GET", "/notifications", samr, params={"overdue": "true", "uscc": code})).json()
    assert still["total"] == 0

    # The entity's history shows each department its own notifications and the decisions about them only (the
    # other's late acknowledgement was in it).
    for who in ("samr-410100", "mem-410100"):
        seen = (await registry.call("GET", f"/entities/{code}/history", kit.department(who))).json()
        assert {n["department"] for n in seen["notifications"]} == {who}
        assert {d["details"].get("department") for d in seen["decisions"]} <= {None, who}
        assert ("notification_acknowledged" in [d["action"] for d in seen["decisions"]]) == (who == "samr-410100")


async def test_unmatched_entity_waits_in_adjudication_until_the_office_assigns(registry, raw_producer,
                                                                              bootstrap, kit):
    code = kit.new_uscc("410102")
    data = kit.entity_data(code, name="郑州元宇宙数字藏品运营有限公司", industry_code="7215",
                           business_scope="数字藏品运营；企业管理咨询", division_code="410102")
    async with tail(bootstrap, RECEIPTS, ADJ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", data), code)
        [receipt] = await t.wait_for(kit.mine(of_type("registry.registration.accepted.v1", uscc=code)))
        assert receipt.envelope.data["in_adjudication"] is True
        assert receipt.envelope.data["responsible_departments"] == []
        [requested] = await t.wait_for(kit.mine(of_type("registry.adjudication.requested.v1", uscc=code)))
    case_id = requested.envelope.data["case_id"]
    assert await registry.fetchval("SELECT count(*) FROM notifications WHERE uscc = $1", code) == 0

    queue = (await registry.call("GET", "/adjudication", kit.OFFICE)).json()
    assert case_id in [c["id"] for c in queue["items"]]
    assert (await registry.call("GET", "/adjudication", kit.department("samr-410100"))).status_code == 403

    unknown = await registry.call("POST", f"/adjudication/{case_id}/decision", kit.OFFICE,
                                  json={"departments": ["mofcom-410100"], "domains": ["数字藏品"]})
    assert unknown.status_code == 422 and unknown.headers["content-type"] == "application/problem+json"
    # No rule matched, so the entity has no domain: the office names it with the department, or inspection
    # plans drawing by domain never find the entity.
    async with tail(bootstrap, MOFCOM_ZZ, ADJ, ENTITIES) as t:
        r = await registry.call("POST", f"/adjudication/{case_id}/decision", kit.OFFICE,
                                json={"departments": ["mofcom-410100"], "note": "数字藏品平台由商务部门牵头",
                                      "domains": ["other"]})
        assert r.status_code == 200, r.text
        await t.wait_for(kit.mine(of_type("registry.entity.changed.v1", uscc=code, domains=["other"],
                                          responsible_departments=["mofcom-410100"])))
        await t.wait_for(kit.mine(of_type("registry.adjudication.decided.v1", case_id=case_id,
                                          decided_by="office-user")))
        await t.wait_for(kit.mine(issued_to(MOFCOM_ZZ, code, cause="adjudicated")))
    entity = (await registry.call("GET", f"/entities/{code}", kit.department("mofcom-410100"))).json()
    assert entity["assignment_state"] == "assigned" and entity["assignment_source"] == "office"
    assert (await registry.call("POST", f"/adjudication/{case_id}/decision", kit.OFFICE,
                                json={"departments": ["samr-410100"]})).status_code == 409

    # The department disputes it: back in the queue; the decision trail keeps who and when.
    mofcom = kit.department("mofcom-410100")
    r = await registry.call("POST", f"/entities/{code}/disputes", mofcom, json={"reason": "不属于商务部门职责"})
    assert r.status_code == 201, r.text
    history = (await registry.call("GET", f"/entities/{code}/history", kit.OFFICE)).json()
    actions = [(d["action"], d["actor"]) for d in history["decisions"]]
    assert actions == [("adjudication_requested", "registry"), ("adjudication_decided", "office-user"),
                       ("assignment_disputed", "mofcom-410100-clerk")]
    queue = (await registry.call("GET", "/adjudication", kit.OFFICE)).json()
    assert r.json()["case_id"] in [c["id"] for c in queue["items"]]
    # a second dispute of the open case (another department's, or more of the reasons) joins it: the office
    # decides from both
    again = await registry.call("POST", f"/entities/{code}/disputes", mofcom, json={"reason": "平台经营由网信部门监管"})
    assert again.status_code == 201 and again.json()["case_id"] == r.json()["case_id"], again.text
    case = (await registry.call("GET", f"/adjudication/{r.json()['case_id']}", kit.OFFICE)).json()
    assert case["detail"].splitlines() == ["mofcom-410100: 不属于商务部门职责", "mofcom-410100: 平台经营由网信部门监管"]

    # The same dispute sent again (its answer lost on the way, no Idempotency-Key): the case as it stands, nothing
    # recorded or published again (no second line, decision, entity version or event).
    emitted = "SELECT count(*) FROM outbox_batches, unnest(topics, keys) AS e(topic, key) WHERE key = $1"
    events, version = await registry.fetchval(emitted, code), await registry.fetchval(
        "SELECT version FROM entities WHERE uscc = $1", code)
    resent = await registry.call("POST", f"/entities/{code}/disputes", mofcom, json={"reason": "平台经营由网信部门监管"})
    assert resent.status_code == 200, resent.text
    assert resent.json() == {"case_id": r.json()["case_id"], "uscc": code, "status": "open"}
    case = (await registry.call("GET", f"/adjudication/{r.json()['case_id']}", kit.OFFICE)).json()
    assert case["detail"].splitlines() == ["mofcom-410100: 不属于商务部门职责", "mofcom-410100: 平台经营由网信部门监管"]
    history = (await registry.call("GET", f"/entities/{code}/history", kit.OFFICE)).json()
    assert [d["action"] for d in history["decisions"]].count("assignment_disputed") == 2
    assert await registry.fetchval("SELECT version FROM entities WHERE uscc = $1", code) == version
    assert await registry.fetchval(emitted, code) == events


async def test_a_case_withdrawn_when_its_entity_closes_leaves_the_office_s_topic(registry, raw_producer,
                                                                                   bootstrap, kit):
    """The office and the ministries read only the adjudication topic: a case withdrawn when its entity was
    deregistered said nothing there, so their systems listed it as open for good while a decision on it was
    refused."""
    code, data, case_id = await waiting_for_the_office(raw_producer, bootstrap, kit, "郑州元宇宙数字藏品运营有限公司")

    async with tail(bootstrap, ADJ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.deregistered.v1", {
            "uscc": code, "occurred_at": clock.now().isoformat(), "deregistered_on": clock.today().isoformat()}), code)
        [withdrawn] = await t.wait_for(kit.mine(of_type("registry.adjudication.withdrawn.v1", case_id=case_id)),
                                       what="the case's withdrawal")
    assert withdrawn.key == code
    assert {k: withdrawn.envelope.data[k] for k in ("uscc", "name", "reason", "withdrawn_by")} == {
        "uscc": code, "name": data["name"], "reason": "no longer needed after deregistered", "withdrawn_by": "registry"}
    assert [m.envelope.type for m in t.received if kit.mine(lambda m: m.key == code)(m)] == [
        "registry.adjudication.withdrawn.v1"]  # once, and not requested again
    refused = await registry.call("POST", f"/adjudication/{case_id}/decision", kit.OFFICE,
                                  json={"departments": ["mofcom-410100"]})
    assert refused.status_code == 409, refused.text


async def test_bad_input_is_rejected_with_reasons_and_dead_lettered(registry, raw_producer, bootstrap, kit):
    good = kit.new_uscc()
    wrong_check = kit.new_uscc()
    wrong_check = wrong_check[:-1] + ("0" if wrong_check[-1] != "0" else "1")
    unknown_division = kit.new_uscc()
    truncated_key = kit.new_uscc()
    truncated_id = unique("evt")
    truncated = kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(truncated_key),
                                   event_id=truncated_id)[:120]
    nul_name = kit.new_uscc()   # no text of the register may hold a NUL (it was retried, then dead-lettered)
    nul_code = kit.new_uscc()   # nor the code: the receipt, keyed by it, could not be written, and the reason was lost
    bad = (wrong_check, unknown_division, truncated_key, nul_name, nul_code)
    async with tail(bootstrap, RECEIPTS, kit.DLQ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1",
                                                        kit.entity_data(wrong_check)), wrong_check)
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1",
                                                        kit.entity_data(nul_name, name="某某\u0000公司")), nul_name)
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(
            nul_code, uscc=nul_code[:9] + "\u0000" + nul_code[9:])), nul_code)
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1",
                                                        kit.entity_data(unknown_division, division_code="110105")),
                       unknown_division)
        await kit.send(raw_producer, truncated, truncated_key)
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(good)), good)

        # the receipt shows the code's NUL as U+FFFD: dropped, it would read as another entity's code
        shown = {nul_code[:9] + "\ufffd" + nul_code[9:]: nul_code}
        rejected = await t.wait_for(kit.mine(lambda m: of_type("registry.registration.rejected.v1")(m)
                                             and shown.get(m.envelope.data["uscc"], m.envelope.data["uscc"]) in bad),
                                    count=5)
        await t.wait_for(kit.mine(of_type("registry.registration.accepted.v1", uscc=good)))
        by_uscc = {shown.get(m.envelope.data["uscc"], m.envelope.data["uscc"]): m.envelope.data for m in rejected}
        assert by_uscc[wrong_check]["errors"][0]["field"] == "uscc"
        assert "check character" in by_uscc[wrong_check]["errors"][0]["reason"]
        [division_error] = by_uscc[unknown_division]["errors"]
        assert division_error["field"] == "division_code"
        assert "unknown division code '110105'" in division_error["reason"]
        assert [e["field"] for e in by_uscc[nul_name]["errors"]] == ["name"]
        assert [e["field"] for e in by_uscc[nul_code]["errors"]] == ["uscc"]
        cut = by_uscc[truncated_key]
        assert cut["event_id"] == truncated_id and cut["reason"].startswith("not JSON")
        assert cut["topic"] == INTAKE and cut["offset"] is not None and cut["sender"] == kit.BUREAU
        dead = await t.wait_for(lambda m: m.topic == kit.DLQ and m.key in bad, count=5)
        assert all(m.headers["dlq.reason"] for m in dead)
        assert next(m for m in dead if m.key == nul_code).headers["dlq.reason"].startswith(b"schema-invalid")
        assert any(m.value == truncated for m in dead)
    for code in bad:
        assert await registry.fetchval("SELECT count(*) FROM entities WHERE uscc = $1", code) == 0
        assert await registry.fetchval("SELECT count(*) FROM entity_history WHERE uscc = $1", code) == 0
        assert await registry.fetchval("SELECT count(*) FROM notifications WHERE uscc = $1", code) == 0
    assert await registry.fetchval("SELECT count(*) FROM entities WHERE uscc = $1", good) == 1


async def test_changes_apply_in_bureau_order_and_duplicates_are_ignored(registry, raw_producer, bootstrap, kit):
    """Particulars and status each in the bureau's order: a change older than the particulars is superseded, a
    closure older than them still closes the entity, a registration again older than them reopens it and keeps
    them."""
    code = kit.new_uscc()
    t0 = clock.now() - timedelta(days=3)
    registered = kit.entity_data(code, occurred_at=t0.isoformat())
    newer = kit.entity_data(code, name="新名称有限公司", occurred_at=(t0 + timedelta(days=2)).isoformat(),
                            changed_items=["名称"])
    older = kit.entity_data(code, name="旧名称有限公司", occurred_at=(t0 + timedelta(days=1)).isoformat(),
                            changed_items=["名称"])
    first = kit.envelope_bytes("market.entity.registered.v1", registered)
    closed = kit.envelope_bytes("market.entity.deregistered.v1", {  # before the newer change, arriving after it
        "uscc": code, "occurred_at": (t0 + timedelta(days=1, hours=12)).isoformat(),
        "deregistered_on": clock.today().isoformat()})
    accepted = kit.mine(of_type("registry.registration.accepted.v1", uscc=code))
    async with tail(bootstrap, RECEIPTS) as t:
        # the duplicate of the first event is followed by a last event on the same partition, so once that
        # last receipt is in, the duplicate has been consumed too
        for value in (first, kit.envelope_bytes("market.entity.changed.v1", newer),
                      kit.envelope_bytes("market.entity.changed.v1", older), first, closed):
            await kit.send(raw_producer, value, code)
        await t.wait_for(lambda m: accepted(m) and m.envelope.data["original_type"].endswith("deregistered.v1"))
    outcomes = [m.envelope.data["outcome"] for m in t.received if accepted(m)]
    assert outcomes == ["applied", "applied", "superseded", "applied"]  # no second receipt for the duplicate
    entity = (await registry.call("GET", f"/entities/{code}", kit.OFFICE)).json()
    assert entity["name"] == "新名称有限公司" and entity["status"] == "deregistered"
    # A closed entity's assignment is not disputed (nothing is left to supervise; registered again, it is assessed
    # anew): the office would have named a department to supervise a closed business.
    r = await registry.call("POST", f"/entities/{code}/disputes", kit.department("samr-410100"),
                            json={"reason": "不属于本部门职责"})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json", r.text
    assert await registry.fetchval("SELECT count(*) FROM adjudication_cases WHERE uscc = $1", code) == 0
    history = (await registry.call("GET", f"/entities/{code}/history", kit.OFFICE)).json()
    assert [(c["event_type"].split(".")[2], c["outcome"]) for c in history["changes"]] == [
        ("registered", "applied"), ("changed", "superseded"), ("deregistered", "applied"), ("changed", "applied")]

    # Registered again after the closure, before the newer change (the record read back from the database).
    again = kit.entity_data(code, name="再登记有限公司", occurred_at=(t0 + timedelta(days=1, hours=18)).isoformat())
    async with tail(bootstrap, RECEIPTS) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", again), code)
        [receipt] = await t.wait_for(accepted)
    assert receipt.envelope.data["outcome"] == "applied"
    entity = (await registry.call("GET", f"/entities/{code}", kit.OFFICE)).json()
    assert entity["name"] == "新名称有限公司" and entity["status"] == "active"


async def test_a_department_whose_responsibility_ends_is_told_on_its_own_topic(registry, raw_producer, bootstrap,
                                                                             kit):
    code = kit.new_uscc("410105")
    t0 = clock.now() - timedelta(days=2)
    food = kit.entity_data(code, occurred_at=t0.isoformat())  # catering: market regulation
    chemicals = kit.entity_data(code, industry_code="5169", business_scope="危险化学品经营（不带储存设施）",
                                occurred_at=(t0 + timedelta(days=1)).isoformat(), changed_items=["经营范围"])
    async with tail(bootstrap, SAMR_ZZ, MEM_ZZ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", food), code)
        await t.wait_for(kit.mine(issued_to(SAMR_ZZ, code, kind="new_responsibility")))
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.changed.v1", chemicals), code)
        [ended] = await t.wait_for(kit.mine(issued_to(SAMR_ZZ, code, kind="responsibility_ended")))
        await t.wait_for(kit.mine(issued_to(MEM_ZZ, code, kind="new_responsibility")))
    assert ended.envelope.data["cause"] == "changed"
    assert ended.envelope.data["entity"]["uscc"] == code
    # The department no longer sees the entity, but acknowledges (签收) the notice of the end.
    samr = kit.department("samr-410100")
    assert (await registry.call("GET", f"/entities/{code}", samr)).status_code == 404
    ack = await registry.call("POST", f"/notifications/{ended.envelope.data['notification_id']}/acknowledgement",
                              samr)
    assert ack.status_code == 200, ack.text


async def test_an_office_decision_stands_only_in_the_city_where_it_was_made(registry, raw_producer, bootstrap, kit):
    """An entity the office assigned kept its Zhengzhou department when it moved to Luoyang: no Luoyang department
    was told of it (双告知), and Zhengzhou's went on supervising a business outside its city."""
    # A restaurant in Zhengzhou, disputed by its market regulator; the office decides it stays with that department.
    code = kit.new_uscc("410105")
    await notified(raw_producer, bootstrap, kit, code)
    samr_zz = kit.department("samr-410100")
    disputed = await registry.call("POST", f"/entities/{code}/disputes", samr_zz, json={"reason": "请研判"})
    assert disputed.status_code == 201, disputed.text
    decided = await registry.call("POST", f"/adjudication/{disputed.json()['case_id']}/decision", kit.OFFICE,
                                  json={"departments": ["samr-410100"]})
    assert decided.status_code == 200, decided.text
    # Another business no rule matches, which the office gave to Zhengzhou's commerce department.
    other, other_data, case_id = await waiting_for_the_office(raw_producer, bootstrap, kit, "郑州星河数字藏品有限公司")
    decided = await registry.call("POST", f"/adjudication/{case_id}/decision", kit.OFFICE,
                                  json={"departments": ["mofcom-410100"], "domains": ["other"]})
    assert decided.status_code == 200, decided.text

    # Both move to Luoyang (老城区).
    luoyang = {"division_code": "410303", "address": "河南省洛阳市老城区中州东路1号",
               "occurred_at": clock.now().isoformat(), "changed_items": ["住所"]}
    moves = {code: kit.entity_data(code, **luoyang), other: {**other_data, **luoyang}}
    moved = kit.mine(lambda m: of_type("registry.registration.accepted.v1")(m) and m.envelope.data["uscc"] in moves
                     and m.envelope.data["original_type"] == "market.entity.changed.v1")
    async with tail(bootstrap, RECEIPTS, SAMR_LY, SAMR_ZZ, MOFCOM_ZZ, ADJ) as t:
        for c, data in moves.items():
            await kit.send(raw_producer, kit.envelope_bytes("market.entity.changed.v1", data), c)
        receipts = {m.envelope.data["uscc"]: m.envelope.data for m in await t.wait_for(moved, count=2)}
        # The restaurant goes to Luoyang's market regulator as a new registration there would; Zhengzhou's is told
        # its responsibility ended.
        assert (receipts[code]["responsible_departments"], receipts[code]["in_adjudication"]) == (["samr-410300"],
                                                                                                  False)
        await t.wait_for(kit.mine(issued_to(SAMR_LY, code, kind="new_responsibility", cause="changed")))
        await t.wait_for(kit.mine(issued_to(SAMR_ZZ, code, kind="responsibility_ended")))
        # No rule matches the other there either: a new case goes to the office.
        assert (receipts[other]["responsible_departments"], receipts[other]["in_adjudication"]) == ([], True)
        [requested] = await t.wait_for(kit.mine(of_type("registry.adjudication.requested.v1", uscc=other)))
        assert requested.envelope.data["case_id"] != case_id
        await t.wait_for(kit.mine(issued_to(MOFCOM_ZZ, other, kind="responsibility_ended")))
    entity = (await registry.call("GET", f"/entities/{code}", kit.department("samr-410300"))).json()
    assert (entity["responsible_departments"], entity["assignment_source"]) == (["samr-410300"], "rules")
    assert (await registry.call("GET", f"/entities/{code}", samr_zz)).status_code == 404


async def test_reminders_count_with_a_schedule_published_while_running(registry, raw_producer, bootstrap, kit):
    """The office publishes a year's holidays; the running registry's reminders skip them, no restart."""
    year = 2096  # this test's own year: no other test publishes it
    holiday = date(year, 1, 9)  # a Monday
    friday, tuesday, wednesday = (holiday + timedelta(days=n) for n in (-3, 1, 2))
    notification_id = await notified(raw_producer, bootstrap, kit, kit.new_uscc("410105"))
    samr = kit.department("samr-410100")
    deps = registry.runtime.deps
    await publish_schedule(raw_producer, year, [holiday], calendar=deps.calendar)

    async def remind_at(day: date, hour: int) -> int:
        """Run the periodic reminder scan as of ``day`` at ``hour``; the notification's reminder count."""
        await remind_all(deps, datetime.combine(day, time(hour), clock.TZ))
        r = await registry.call("GET", f"/notifications/{notification_id}", samr)
        return r.json()["reminder_count"]

    # Overdue long since: reminded, and again at the end of the next working day: Tuesday, not the holiday.
    first = await remind_at(friday, 10)
    assert first >= 1
    assert await remind_at(tuesday, 12) == first
    assert await remind_at(wednesday, 9) == first + 1


async def test_a_reminder_sent_again_after_a_restore_keeps_its_id(registry, raw_producer, bootstrap, kit):
    """A reminder sent again from a restored database is the one the department has (same event id)."""
    notification_id = await notified(raw_producer, bootstrap, kit, kit.new_uscc("410105"))
    conn = await asyncpg.connect(asyncpg_dsn(registry.runtime.settings.database_url))
    try:
        columns = ", ".join(REMINDER_STATE)
        before = await conn.fetchrow(f"SELECT {columns} FROM notifications WHERE id = $1", notification_id)

        async def remind(now) -> list[str]:
            """The periodic job as of ``now``: the ids of this notification's reminders on the department's topic."""
            async with tail(bootstrap, SAMR_ZZ) as t:
                await remind_all(registry.runtime.deps, now)
                got = await t.wait_for(kit.mine(of_type(REMINDED, notification_id=notification_id)))
            return [m.envelope.id for m in got]

        overdue = clock.now() + timedelta(days=30)
        [first] = await remind(overdue)

        # The database restored to before the job ran (the row as it was), and the job runs again.
        await conn.execute(f"UPDATE notifications SET ({columns}) = ($2, $3, $4, $5) WHERE id = $1",
                           notification_id, *before.values())
        assert await remind(overdue) == [first]  # the same reminder: consumers' inboxes skip it

        # The next reminder, due a working week later, is a new one.
        [second] = await remind(overdue + timedelta(days=10))
        assert second != first
        assert await conn.fetchval("SELECT reminder_count FROM notifications WHERE id = $1", notification_id) == 2
    finally:
        await conn.close()


async def test_the_office_s_decision_and_a_change_of_the_entity_at_the_same_moment_do_not_deadlock(
        registry, raw_producer, bootstrap, kit):
    """The intake of a market event locks the entity, then its adjudication case (withdrawn when a rule now
    matches); the office's decision on the case must take them in the same order, or each waits for the other."""
    code, _, case_id = await waiting_for_the_office(raw_producer, bootstrap, kit, "郑州星链数字藏品有限公司")

    async with registry.runtime.db.transaction() as s:
        await records.load_record(s, code, lock=True)   # a change of the entity under way, as the intake makes one
        decided = asyncio.create_task(registry.call("POST", f"/adjudication/{case_id}/decision", kit.OFFICE,
                                                    json={"departments": ["mofcom-410100"]}))
        await until_waiting_or_done(registry.runtime.db, decided, what="the decision")
        assert (await cases.case_for_decision(s, case_id)).status == "open"   # ... then its case
    r = await decided
    assert r.status_code == 200 and r.json()["departments"] == ["mofcom-410100"], r.text
