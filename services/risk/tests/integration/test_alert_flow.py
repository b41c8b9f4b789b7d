"""Clue and inspection events raise an entity's level: one alert on the general topic and the responsible
departments' topics, its class published; departments see only their own alerts, acknowledge and answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, tail, unique, wait_until


ALERTS = "risk.alerts.v1"
SAMR, NHC = "samr-410100", "nhc-410100"
SAMR_ALERTS, NHC_ALERTS, MEM_ALERTS = (f"dept.{d}.alerts.v1" for d in (SAMR, NHC, "mem-410100"))
CLASSES = "risk.credit-classes.v1"


async def test_substantiated_clues_and_a_failed_inspection_raise_one_alert(service, bootstrap):
    uscc = new_uscc()
    await service.entity(uscc, [SAMR, NHC])
    async with tail(bootstrap, ALERTS, SAMR_ALERTS, NHC_ALERTS, MEM_ALERTS, CLASSES) as t:
        # two substantiated clues: 2 received (2 each) + 2 substantiated (15 each) = 34 -> blue
        for _ in range(2):
            await service.clue_handled(uscc, unique("CL"), SAMR)
        await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="blue"), count=3)
        # a failed inspection item (20) -> 54 -> yellow: one new alert, the blue one superseded
        await service.inspection(uscc, [SAMR], ["correction_ordered", "no_problem"], unique("T"))
        yellow = await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="yellow"), count=3)
        await t.wait_for(of_type("risk.alert.closed.v1", uscc=uscc, reason="superseded"), count=3)
        klass = await t.wait_for(of_type("risk.credit-class.changed.v1", uscc=uscc, credit_class="C"))
    raised = [m for m in t.received if m.is_envelope() and m.envelope.type == "risk.alert.raised.v1"
              and m.envelope.data["uscc"] == uscc]
    # one alert per level, each on the general topic and on each responsible department's topic only
    assert sorted((m.envelope.data["level"], m.topic) for m in raised) == sorted(
        (lv, tp) for lv in ("blue", "yellow") for tp in (ALERTS, SAMR_ALERTS, NHC_ALERTS))
    data = yellow[0].envelope.data
    assert data["previous_level"] == "blue" and data["score"] == 54 and data["departments"] == [NHC, SAMR]
    assert {c["indicator"]: c["points"] for c in data["contributions"]} == {
        "clues_received": 4, "clues_substantiated": 30, "inspection_items_failed": 20}
    assert all(m.key == uscc for m in raised)
    # the first class published (before it the entity counted as unrated, B: complaints alone never made it A)
    assert klass[0].key == uscc and klass[0].envelope.data["previous_class"] is None
    assert "一年内两条以上属实线索" in klass[0].envelope.data["reason"]

    # a replayed inspection result counts once: same level, no new alert
    standing = await service.standing(uscc)
    assert standing["score"] == 54 and standing["level"] == "yellow"

    alert_id = data["alert_id"]
    r = await service.client.get(f"/alerts/{alert_id}", headers=dept(SAMR))
    assert r.status_code == 200 and r.json()["state"] == "open" and r.json()["level"] == "yellow"
    r = await service.client.get(f"/alerts/{alert_id}", headers=dept("mem-410100"))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    listed = (await service.client.get("/alerts", headers=dept("mem-410100"), params={"uscc": uscc})).json()
    assert listed == []
    listed = (await service.client.get("/alerts", headers=dept(NHC), params={"uscc": uscc, "state": "unclosed"})).json()
    assert [a["id"] for a in listed] == [alert_id]

    async with tail(bootstrap, ALERTS, NHC_ALERTS) as t:
        assert (await service.post(f"/alerts/{alert_id}/acknowledgement", dept("mem-410100"))).status_code == 404
        assert (await service.post(f"/alerts/{alert_id}/acknowledgement", OFFICE)).status_code == 403
        r = await service.post(f"/alerts/{alert_id}/acknowledgement", dept(SAMR))
        assert r.status_code == 200 and r.json()["state"] == "acknowledged"
        r = await service.post(f"/alerts/{alert_id}/response", dept(SAMR), {"measures": "已约谈负责人并责令整改"})
        assert r.status_code == 200 and r.json()["state"] == "responded"
        r = await service.post(f"/alerts/{alert_id}/response", dept(SAMR), {"measures": ""})
        assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("measures")
        again = await service.post(f"/alerts/{alert_id}/acknowledgement", dept(SAMR))  # signed already: once
        assert again.status_code == 200 and again.json()["state"] == "responded"
        await t.wait_for(of_type("risk.alert.responded.v1", alert_id=alert_id, department=SAMR), count=2)
        await t.wait_for(of_type("risk.alert.acknowledged.v1", alert_id=alert_id), count=2)
    history = (await service.client.get(f"/alerts/{alert_id}", headers=OFFICE)).json()["history"]
    assert [(h["action"], h["department"]) for h in history] == [("raise", None), ("acknowledge", SAMR),
                                                                 ("respond", SAMR)]


async def test_credit_class_explained_and_corrected_by_the_office(service, bootstrap):
    uscc = new_uscc()
    assert (await service.client.get(f"/entities/{uscc}/credit-class", headers=OFFICE)).status_code == 404
    await service.entity(uscc, [SAMR])

    async def explained():  # registered, nothing known against it: no class published, it counts as B
        r = await service.client.get(f"/entities/{uscc}/credit-class", headers=dept(SAMR))
        return r.json() if r.status_code == 200 else None
    unrated = await wait_until(explained, what="the entity in the risk service's directory")
    assert (unrated["credit_class"], unrated["rated"], unrated["history"]) == ("B", False, [])
    assert (await service.client.get(f"/entities/{uscc}/credit-class", headers=dept(NHC))).status_code == 404
    async with tail(bootstrap, CLASSES) as t:
        await service.inspection(uscc, [SAMR], ["not_found_at_address"], unique("T"))
        first = (await t.wait_for(of_type("risk.credit-class.changed.v1", uscc=uscc)))[0].envelope.data
        assert first["credit_class"] == "D" and first["previous_class"] is None and first["record_version"] == 1
        r = await service.client.get(f"/entities/{uscc}/credit-class", headers=dept(SAMR))
        why = r.json()
        assert r.status_code == 200 and (why["credit_class"], why["rated"]) == ("D", True) and why["counts"] == {"not_found_at_address": 1}
        assert why["rules"] == ["通过登记住所无法联系"] and why["history"][0]["inputs"]["score"] == 25
        assert (await service.client.get(f"/entities/{uscc}/credit-class", headers=dept(NHC))).status_code == 404

        body = {"credit_class": "B", "reason": "经实地核查，企业已在登记住所正常经营"}
        assert (await service.post(f"/entities/{uscc}/credit-class/correction", dept(SAMR), body)).status_code == 403
        r = await service.post(f"/entities/{uscc}/credit-class/correction", OFFICE, {"credit_class": "B", "reason": ""})
        assert r.status_code == 422
        r = await service.post(f"/entities/{uscc}/credit-class/correction", OFFICE, body)
        assert r.status_code == 200 and r.json()["credit_class"] == "B" and r.json()["computed_class"] == "D"
        assert r.json()["correction"]["reason"] == body["reason"] and r.json()["correction"]["by"] == "office-duty"
        corrected = (await t.wait_for(of_type("risk.credit-class.changed.v1", uscc=uscc, record_version=2)))[0]
    assert corrected.envelope.data["corrected_by_office"] is True and corrected.envelope.data["previous_class"] == "D"
    assert corrected.envelope.data["reason"] == body["reason"]
    history = (await service.client.get(f"/entities/{uscc}/credit-class", headers=OFFICE)).json()["history"]
    assert [(h["credit_class"], h["actor"]) for h in history] == [("D", "risk"), ("B", "office-duty")]

    # a code whose check character is wrong, a reason with control characters: refused, nothing recorded
    bad = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    r = await service.post(f"/entities/{bad}/credit-class/correction", OFFICE, body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "uscc"
    r = await service.post(f"/entities/{uscc}/credit-class/correction", OFFICE, {"credit_class": "A", "reason": "ok\x13 fine"})
    assert r.status_code == 422 and "control characters" in r.json()["detail"]
    assert len((await service.client.get(f"/entities/{uscc}/credit-class", headers=OFFICE)).json()["history"]) == 2


async def test_a_correction_sent_again_publishes_nothing(service):
    """The office's correction resent (its answer lost on the way, no Idempotency-Key): the class as it stands, no
    second history row, no new class version, no event with the class it had already."""
    uscc = new_uscc()
    await service.entity(uscc, [SAMR])
    body = {"credit_class": "D", "reason": "经实地核查，企业已停止经营"}

    async def emitted() -> int:
        async with service.deps.db.transaction() as s:
            return (await s.execute(text("SELECT count(*) FROM outbox_batches, unnest(topics, keys) AS e(topic, key) "
                                         "WHERE topic = :t AND key = :k"), {"t": CLASSES, "k": uscc})).scalar_one()

    async def known():
        r = await service.client.get(f"/entities/{uscc}/credit-class", headers=OFFICE)
        return r.status_code == 200
    await wait_until(known, what="the entity in the risk service's directory")
    first = await service.post(f"/entities/{uscc}/credit-class/correction", OFFICE, body)
    assert first.status_code == 200 and first.json()["class_version"] == 1, first.text
    assert await emitted() == 1
    again = await service.post(f"/entities/{uscc}/credit-class/correction", OFFICE, body)
    assert again.status_code == 200 and again.json() == first.json()
    assert [h["credit_class"] for h in again.json()["history"]] == ["D"]
    assert await emitted() == 1
    # another reason for the same class is a new correction, on the record and published
    other = await service.post(f"/entities/{uscc}/credit-class/correction", OFFICE,
                               {"credit_class": "D", "reason": "企业负责人失联"})
    assert other.status_code == 200 and other.json()["class_version"] == 2
    assert other.json()["correction"]["reason"] == "企业负责人失联" and await emitted() == 2


async def test_the_observations_table_is_analysed_as_events_fill_it(service):
    """A first day's observations: reading a poll's entities' observations is planned for the table's size, without
    waiting for autovacuum (turned off for the table here: only the service's own analyses count)."""
    async def analyses() -> int:
        async with service.deps.db.transaction() as s:
            return (await s.execute(text(
                "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'observations'"))).scalar_one()

    async with service.deps.db.transaction() as s:
        await s.execute(text("ALTER TABLE observations SET (autovacuum_enabled = false)"))
    try:
        before = await analyses()
        growth = service.deps.observation_rows  # how many more rows this process writes before it analyses it
        due = growth.rows_until_due()
        last = ""
        for _ in range(due // 2 + 1):  # a clue received and substantiated: two observations
            last = new_uscc()
            await service.clue_handled(last, unique("CL"), SAMR)
        await wait_until(lambda: service.standing(last), what="the last clue's entity scored")
        await wait_until(lambda: _more(analyses, before), what="the observations table analysed by the service")
    finally:
        async with service.deps.db.transaction() as s:
            await s.execute(text("ALTER TABLE observations RESET (autovacuum_enabled)"))


async def _more(count, before: int) -> bool:
    return await count() > before


async def blue_alert(service, bootstrap, uscc: str) -> dict:
    """Samr's business with two substantiated clues (34 points): its blue alert, as raised."""
    await service.entity(uscc, [SAMR])
    async with tail(bootstrap, ALERTS) as t:
        for _ in range(2):
            await service.clue_handled(uscc, unique("CL"), SAMR)
        [raised] = await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="blue"))
    return raised.envelope.data


async def test_a_department_that_becomes_responsible_sees_and_answers_the_open_alert(service, bootstrap):
    """The registry moves an entity with an open alert to another department: that department is told on its own
    topic, sees the alert, lists it and acknowledges it (the alert kept the departments named when it was raised:
    404 for it, and its line system never heard of it)."""
    uscc, mem = new_uscc(), dept("mem-410100")
    raised = await blue_alert(service, bootstrap, uscc)
    alert_id = raised["alert_id"]
    assert (await service.client.get(f"/alerts/{alert_id}", headers=mem)).status_code == 404
    async with tail(bootstrap, ALERTS, MEM_ALERTS, SAMR_ALERTS) as t:
        await service.entity(uscc, ["mem-410100"], version=2)  # the office decided it is the emergency bureau's
        told = await t.wait_for(of_type("risk.alert.departments-added.v1", alert_id=alert_id), count=2)
    assert sorted(m.topic for m in told) == sorted([ALERTS, MEM_ALERTS])  # not again to the bureau that has it
    data = told[0].envelope.data
    assert data["added"] == ["mem-410100"] and data["departments"] == sorted([SAMR, "mem-410100"])
    assert data["state"] == "open"
    assert datetime.fromisoformat(data["respond_by"]) == datetime.fromisoformat(raised["respond_by"])
    assert (await service.client.get(f"/alerts/{alert_id}", headers=mem)).status_code == 200
    assert (await service.post(f"/alerts/{alert_id}/acknowledgement", mem)).status_code == 200
    listed = (await service.client.get("/alerts", headers=mem, params={"uscc": uscc})).json()
    assert [a["id"] for a in listed] == [alert_id]
    assert any(h["action"] == "departments_added" and h["details"] == {"added": ["mem-410100"]}
               for h in (await service.client.get(f"/alerts/{alert_id}", headers=OFFICE)).json()["history"])


async def test_an_alert_whose_plan_notifies_no_department_is_not_given_the_responsible_ones(service):
    """A level whose plan notifies no department (``notify_departments: false``) raises its alert for none; any later
    record of the entity from the registry gave it every responsible department, each told on its own topic."""
    from jsp_common import clock
    from risk.adapters import alert_rows
    from risk.adapters import repository as repo

    quiet, notified = new_uscc(), new_uscc()
    for uscc in (quiet, notified):
        await service.entity(uscc, [SAMR])

    async def replicated() -> bool:
        async with service.deps.db.transaction() as s:
            return all([await repo.entity(s, u) for u in (quiet, notified)])
    await wait_until(replicated, what="both entities in the replica")
    now = clock.now()
    async with service.deps.db.transaction() as s:
        for uscc, actions in ((quiet, []), (notified, ["notify_departments"])):
            await alert_rows.insert_alert(s, {
                "id": unique("alert"), "uscc": uscc, "level": "blue", "previous_level": None, "state": "open",
                "score": 30, "raised_score": 30, "model_version": 1, "departments": [], "contributions": [],
                "actions": actions, "escalate": False, "respond_by": None, "raised_at": now})
        changed = await alert_rows.follow_responsibility(s, [quiet, notified], now)
    assert [(a["uscc"], a["added"]) for a in changed] == [(notified, [SAMR])]


async def test_an_account_with_the_office_role_acts_only_for_a_department_the_alert_names(service, bootstrap):
    """An account holding both the office and the department roles sees every alert (the office's right), but
    acknowledges and answers only for a department the alert names: the office does not answer for a department."""
    from jsp_common.principal import Role
    from jsp_testkit.testing import principal

    uscc = new_uscc()
    both_mem = principal(Role.OFFICE, Role.DEPARTMENT, department="mem-410100", subject="officer@mem-410100")
    both_samr = principal(Role.OFFICE, Role.DEPARTMENT, department=SAMR, subject="officer@samr-410100")
    raised = await blue_alert(service, bootstrap, uscc)
    alert_id = raised["alert_id"]
    assert (await service.client.get(f"/alerts/{alert_id}", headers=both_mem)).status_code == 200
    r = await service.post(f"/alerts/{alert_id}/acknowledgement", both_mem)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert (await service.post(f"/alerts/{alert_id}/response", both_mem, {"measures": "已处置"})).status_code == 403
    alert = (await service.client.get(f"/alerts/{alert_id}", headers=OFFICE)).json()
    assert alert["state"] == "open" and [h["action"] for h in alert["history"]] == ["raise"]
    r = await service.post(f"/alerts/{alert_id}/response", both_samr, {"measures": "已约谈负责人"})
    assert r.status_code == 200 and r.json()["state"] == "responded"
    history = (await service.client.get(f"/alerts/{alert_id}", headers=OFFICE)).json()["history"]
    assert [(h["action"], h["department"]) for h in history] == [("raise", None), ("respond", SAMR)]


async def test_the_office_cannot_correct_the_class_of_a_uscc_nothing_is_known_about(service):
    """A valid USCC the directory does not hold and nothing was observed about: the correction is 404 and writes
    nothing (no standing, no class published), so the explanation stays 404 as well."""
    uscc = new_uscc()
    body = {"credit_class": "D", "reason": "误录的统一社会信用代码"}
    r = await service.post(f"/entities/{uscc}/credit-class/correction", OFFICE, body)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert await service.standing(uscc) is None
    assert (await service.client.get(f"/entities/{uscc}/credit-class", headers=OFFICE)).status_code == 404
