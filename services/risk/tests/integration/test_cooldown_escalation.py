"""The cool-down keeps the same level from alerting twice; a falling score closes an alert; an unanswered red
alert escalates to the office after its deadline, once, and raises a clue when raised."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import asyncpg

from jsp_common import clock
from jsp_common.db import asyncpg_dsn
from jsp_common.migrations import upgrade
from jsp_common.outbox import SessionTx
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, tail, unique, unique_database_url

from risk.usecases import scoring
from risk.usecases.alerts import escalate_due
from risk.usecases.models import rescore_all

SERVICE_DIR = Path(__file__).resolve().parents[2]
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


async def _observed(service, uscc: str, rows: list[tuple[str, str, datetime]], now: datetime) -> None:
    """Observations (indicator, ref, at) of ``uscc`` recorded at ``now`` (as the indicator events' handler does)."""
    async with service.deps.db.transaction() as session:
        await scoring.observe(service.deps, SessionTx(session, "/test"), [
            {"uscc": uscc, "indicator": i, "ref": f"{uscc}:{ref}", "at": at} for i, ref, at in rows],
            departments={uscc: [MEM]}, now=now)


async def _rescored(service, uscc: str, now: datetime) -> float:
    async with service.deps.db.transaction() as session:
        return (await scoring.rescore(service.deps, SessionTx(session, "/test"), [uscc], now=now))[uscc].score


async def test_the_cool_down_compares_with_the_score_an_alert_was_raised_at(service, bootstrap):
    """An open alert's score follows re-scorings at its level; the cool-down compares a returning score with the
    score the alert was raised at. Orange raised at 75, re-scored to 65, closed at 55, back at 70 within the
    cool-down: held back (70 is not above 75). Orange raised at 60, re-scored to 75, closed at 55, back at 65:
    raised (65 is above 60)."""
    t0 = clock.now()
    hour = timedelta(hours=1)
    ages = t0 - timedelta(days=30)  # a device window observed then leaves its 30-day window an hour later
    held, raised = new_uscc("410302"), new_uscc("410302")
    async with tail(bootstrap, ALERTS) as t:
        # 40 + 15 for a year, 10 until t0 + 1 h, 10 until t0 + 3 h: 75
        await _observed(service, held, [("inspection_items_failed", "i1", t0), ("inspection_items_failed", "i2", t0),
                                        ("clues_substantiated", "c1", t0), ("lift_faults", "l1", ages + hour),
                                        ("cold_chain_excursion", "k1", ages + 3 * hour)], t0)
        # 40 for a year, 20 until t0 + 3 h: 60
        await _observed(service, raised, [("inspection_items_failed", "i1", t0), ("inspection_items_failed", "i2", t0),
                                          ("cold_chain_excursion", "k1", ages + 3 * hour),
                                          ("cold_chain_excursion", "k2", ages + 3 * hour)], t0)
        first = {m.envelope.data["uscc"]: m.envelope.data for m in await t.wait_for(
            lambda m: m.is_envelope() and m.envelope.type == "risk.alert.raised.v1"
            and m.envelope.data["uscc"] in (held, raised), count=2)}
        assert (first[held]["level"], first[held]["score"]) == ("orange", 75)
        assert (first[raised]["level"], first[raised]["score"]) == ("orange", 60)
        assert await _rescored(service, held, t0 + 2 * hour) == 65  # orange still: the open alert's score is 65
        await _observed(service, raised, [("clues_substantiated", "c1", t0 + 2 * hour)], t0 + 2 * hour)  # 75
        for uscc in (held, raised):
            assert await _rescored(service, uscc, t0 + 4 * hour) == 55
        await t.wait_for(lambda m: m.is_envelope() and m.envelope.type == "risk.alert.closed.v1"
                         and m.envelope.data["uscc"] in (held, raised), count=2)
        await _observed(service, held, [("clues_substantiated", "c2", t0 + 5 * hour)], t0 + 5 * hour)  # 70
        await _observed(service, raised, [("cold_chain_excursion", "k3", t0 + 5 * hour)], t0 + 5 * hour)  # 65
        again = (await t.wait_for(of_type("risk.alert.raised.v1", uscc=raised), count=2))[-1]
        assert again.envelope.data["score"] == 65 and again.envelope.data["alert_id"] != first[raised]["alert_id"]
    standing = await service.standing(held)
    assert (standing["score"], standing["level"], standing["alert_held_level"]) == (70, "orange", "orange")
    assert [e.data["score"] for e in t.events("risk.alert.raised.v1", topic=ALERTS) if e.data["uscc"] == held] == [75]


async def test_alerts_raised_before_keep_the_score_they_were_raised_at(settings):
    """A database of alerts raised before the score at raising was kept: each takes the score its raising recorded
    in its history (an alert re-scored since has another), else its current one."""
    url = unique_database_url(settings, "risk_raised_score")
    await upgrade(SERVICE_DIR, url, "0006")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for alert_id, score in (("RA-rescored", 62.0), ("RA-no-history", 45.0)):
            await conn.execute("INSERT INTO alerts (id, uscc, level, state, score, model_version, raised_at) "
                               "VALUES ($1, $2, 'orange', 'closed', $3, 1, now())", alert_id, new_uscc(), score)
        await conn.execute("INSERT INTO alert_history (alert_id, at, action, actor, details) VALUES "
                           "('RA-rescored', now(), 'raise', 'risk', '{\"score\": 75, \"previous_level\": null}'), "
                           "('RA-rescored', now(), 'close', 'risk', '{\"score\": 58, \"reason\": \"score_fell\"}')")
        await upgrade(SERVICE_DIR, url)
        rows = dict(await conn.fetch("SELECT id, raised_score FROM alerts ORDER BY id"))
    finally:
        await conn.close()
    assert rows == {"RA-no-history": 45.0, "RA-rescored": 75.0}


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
