"""Scores follow time: an entity's observations leave their indicators' windows and the daily re-scoring job
lowers its level and class, closing its alert and publishing its class, though no new fact about it arrives (real
Kafka and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from jsp_common import clock
from jsp_common.outbox import SessionTx
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import of_type, tail

from risk.usecases import ageing, scoring

# A database of its own: the job re-scores every entity with a standing at a clock moved a year on, other modules'
# too.
RISK_DATABASE = "risk_test_scores_age"
ALERTS = "risk.alerts.v1"
CLASSES = "risk.credit-classes.v1"
MEM = "mem-410300"


async def test_the_daily_job_rescores_an_entity_as_its_observations_leave_their_windows(service, bootstrap,
                                                                                          monkeypatch):
    uscc = new_uscc("410302")
    day0 = clock.now()
    async with service.deps.db.transaction() as session:  # a run of an earlier test run was for a later day
        await session.execute(text("DELETE FROM job_runs"))
    # a failed inspection item counts for a year (20), three gas windows out of range for 30 days (90), a silent
    # detector for 7 (5): 115 points, red, class D
    rows = [{"uscc": uscc, "indicator": "inspection_items_failed", "ref": f"T:{uscc}:item-0", "at": day0},
            *({"uscc": uscc, "indicator": "gas_over_limit", "ref": f"gas-{uscc}:{n}", "at": day0} for n in range(3)),
            {"uscc": uscc, "indicator": "gas_detector_silent", "ref": f"gas-{uscc}:silent", "at": day0}]
    async with tail(bootstrap, ALERTS, CLASSES) as t:
        async with service.deps.db.transaction() as session:
            await scoring.observe(service.deps, SessionTx(session, "/test"), rows, departments={uscc: [MEM]},
                                  now=day0)
        [red] = await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="red"))
        await t.wait_for(of_type("risk.credit-class.changed.v1", uscc=uscc, credit_class="D"))
        assert (await service.standing(uscc))["score"] == 115

        real = clock.now
        for days in (31, 366):
            moment, start = day0 + timedelta(days=days), real()
            monkeypatch.setattr(clock, "now", lambda: moment + (real() - start))
            assert await ageing.rescore_when_due(service.deps) is not None
            assert await ageing.rescore_when_due(service.deps) is None  # once a day
            standing = await service.standing(uscc)
            if days == 31:  # the 30-day observations left their windows: 20 points, blue, class B
                assert (standing["score"], standing["level"], standing["credit_class"]) == (20, "blue", "B")
                [closed] = await t.wait_for(of_type("risk.alert.closed.v1", uscc=uscc))
                [changed] = await t.wait_for(of_type("risk.credit-class.changed.v1", uscc=uscc, credit_class="B"))
            else:  # and the year's too: no level, class B
                assert (standing["score"], standing["level"], standing["credit_class"]) == (0, None, "B")
    assert closed.envelope.data["alert_id"] == red.envelope.data["alert_id"]
    assert closed.envelope.data["reason"] == "score_fell"
    assert changed.envelope.data["previous_class"] == "D"
    # nothing else was raised on the way down (a fall raises no lower level) and the class moved once
    assert [e.data["credit_class"] for e in t.events("risk.credit-class.changed.v1") if e.data["uscc"] == uscc] == [
        "D", "B"]
    assert [e.data["level"] for e in t.events("risk.alert.raised.v1", topic=ALERTS) if e.data["uscc"] == uscc] == [
        "red"]
