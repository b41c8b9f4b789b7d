"""The cool-down keeps the same level from alerting twice; a falling score closes an alert; an unanswered red
alert escalates to the office after its deadline, once, and raises a clue when raised."""

from __future__ import annotations

from datetime import datetime, timedelta

from jsp_common import clock
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, tail, unique

from risk.usecases.alerts import escalate_due
from risk.usecases.models import rescore_all

ALERTS = "risk.alerts.v1"
MEM = "mem-410300"
MEM_ALERTS = f"dept.{MEM}.alerts.v1"
SUBMISSIONS = "clues.submissions.v1"


async def _model_with_blue_from(service, min_score: float) -> int:
    current = (await service.client.get("/models/current", headers=OFFICE)).json()
    doc = current["model"]
    doc["levels"][0]["min_score"] = min_score
    r = await service.post("/models", OFFICE, {"model": doc, "note": f"blue from {min_score}"})
    assert r.status_code == 201, r.text
    return r.json()["version"]


async def test_cool_down_suppresses_a_duplicate_alert(service, bootstrap):
    uscc = new_uscc("410302")
    await service.entity(uscc, [MEM], division="410302")
    original = (await service.client.get("/models/current", headers=OFFICE)).json()["model"]
    async with tail(bootstrap, ALERTS) as t:
        await service.inspection(uscc, [MEM], ["correction_ordered"], unique("T"))  # 20 points: blue
        await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="blue"))
        # the office raises blue's threshold: the score falls below it and the alert closes
        await _model_with_blue_from(service, 21)
        await rescore_all(service.deps)
        await t.wait_for(of_type("risk.alert.closed.v1", uscc=uscc, reason="score_fell"))
        assert (await service.standing(uscc))["level"] is None
        # and back: blue again, same score, within the cool-down: no second alert
        r = await service.post("/models", OFFICE, {"model": original, "note": "back"})
        assert r.status_code == 201
        await rescore_all(service.deps)
        assert (await service.standing(uscc))["level"] == "blue"
        # a rise within the cool-down alerts again (another failed item: 40 points, yellow)
        await service.inspection(uscc, [MEM], ["correction_ordered"], unique("T"))
        await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="yellow"))
    raised = [m.envelope.data["level"] for m in t.received
              if m.is_envelope() and m.envelope.type == "risk.alert.raised.v1" and m.envelope.data["uscc"] == uscc]
    assert raised == ["blue", "yellow"]


async def test_an_alert_held_back_by_the_cool_down_is_raised_when_it_ends(service, bootstrap):
    """Blue raised, the score falls (closed), and comes back within the cool-down: no alert then, but once the
    cool-down has ended and the level still holds, the periodic job raises it, once (ids from the entity and the
    cool-down's end). A level that moved meanwhile raises nothing from the job."""
    from risk.usecases.cooldown import raise_held_back

    uscc, moved = new_uscc("410302"), new_uscc("410302")
    for u in (uscc, moved):
        await service.entity(u, [MEM], division="410302")
    original = (await service.client.get("/models/current", headers=OFFICE)).json()["model"]
    async with tail(bootstrap, ALERTS) as t:
        for u in (uscc, moved):
            await service.inspection(u, [MEM], ["correction_ordered"], unique("T"))  # 20 points: blue
        [first] = await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="blue"))
        await t.wait_for(of_type("risk.alert.raised.v1", uscc=moved, level="blue"))
        await _model_with_blue_from(service, 21)
        await rescore_all(service.deps)
        await t.wait_for(of_type("risk.alert.closed.v1", uscc=uscc, reason="score_fell"))
        r = await service.post("/models", OFFICE, {"model": original, "note": "back"})
        assert r.status_code == 201
        await rescore_all(service.deps)  # blue again within the cool-down: held back
        standing = await service.standing(uscc)
        assert standing["level"] == "blue" and standing["alert_held_level"] == "blue"
        ends = datetime.fromisoformat(first.envelope.data["raised_at"]) + timedelta(hours=24)
        assert standing["alert_held_until"] == ends
        # the other one's level moves on before the cool-down ends (a new fact: yellow, raised): nothing is held
        # back for it any longer (its level falling back to blue later raises no blue alert from the job)
        await service.inspection(moved, [MEM], ["correction_ordered"], unique("T"))
        await t.wait_for(of_type("risk.alert.raised.v1", uscc=moved, level="yellow"))
        assert (await service.standing(moved))["alert_held_until"] is None

        await raise_held_back(service.deps, now=ends - timedelta(minutes=1))
        assert (await service.standing(uscc))["alert_held_until"] == ends  # not yet
        await raise_held_back(service.deps, now=ends + timedelta(minutes=1))
        again = await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="blue"), count=2)
        await raise_held_back(service.deps, now=ends + timedelta(minutes=2))  # once
    data = again[1].envelope.data
    assert data["alert_id"] != first.envelope.data["alert_id"] and data["score"] == 20
    for u, count in ((uscc, 2), (moved, 2)):
        listed = (await service.client.get("/alerts", headers=OFFICE, params={"uscc": u})).json()
        assert len(listed) == count and (await service.standing(u))["alert_held_until"] is None


async def test_unanswered_red_alert_escalates_once_and_raises_a_clue(service, bootstrap):
    uscc, answered = new_uscc("410302"), new_uscc("410302")
    for u in (uscc, answered):
        await service.entity(u, [MEM], division="410302")
    async with tail(bootstrap, ALERTS, MEM_ALERTS, SUBMISSIONS) as t:
        for u in (uscc, answered):  # 3 failed items (60) + not found at address (25) = 85: red
            await service.inspection(u, [MEM], ["correction_ordered"] * 3 + ["not_found_at_address"], unique("T"))
        reds = await t.wait_for(lambda m: m.is_envelope() and m.envelope.type == "risk.alert.raised.v1"
                                and m.topic == ALERTS and m.envelope.data["uscc"] in (uscc, answered), count=2)
        clue = (await t.wait_for(of_type("clues.clue.submitted.v1", uscc=uscc)))[0].envelope.data
        ids = {m.envelope.data["uscc"]: m.envelope.data for m in reds}
        red = ids[uscc]
        assert red["level"] == "red" and red["actions"] == ["notify_departments", "notify_office",
                                                             "request_inspection", "raise_clue"]
        assert clue["channel"] == "risk" and clue["channel_ref"] == f"alert:{red['alert_id']}"
        assert clue["urgency"] == "urgent" and "red" in clue["content"] and clue["uscc"] == uscc
        r = await service.post(f"/alerts/{ids[answered]['alert_id']}/response", dept(MEM), {"measures": "已现场检查"})
        assert r.status_code == 200
        raised_at = clock.now()
        # before the deadline (24 h) nothing escalates; after it only the unanswered one, and only once
        assert await escalate_due(service.deps, now=raised_at + timedelta(hours=23)) == 0
        assert await escalate_due(service.deps, now=raised_at + timedelta(hours=25)) >= 1
        assert await escalate_due(service.deps, now=raised_at + timedelta(hours=26)) == 0
        esc = await t.wait_for(of_type("risk.alert.escalated.v1", uscc=uscc), count=2)
    assert {m.topic for m in esc} == {ALERTS, MEM_ALERTS}
    assert not [m for m in t.received if m.is_envelope() and m.envelope.type == "risk.alert.escalated.v1"
                and m.envelope.data["uscc"] == answered]
    alert = (await service.client.get(f"/alerts/{red['alert_id']}", headers=OFFICE)).json()
    assert alert["escalated_at"] is not None and alert["history"][-1]["action"] == "escalate"
