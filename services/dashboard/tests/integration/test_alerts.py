"""Risk alerts in the read model: an alert's departments are every department its events named, in whatever order
the events arrive (the risk service adds a department that becomes responsible for the entity)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from jsp_common import clock, topics
from jsp_common.db import Database
from jsp_common.envelope import Envelope, new_envelope
from jsp_common.events.risk import (RiskAlertAcknowledged, RiskAlertDepartmentsAdded, RiskAlertRaised,
                                    RiskAlertResponded)
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import unique

from .test_entities import taken_in

SAMR, MEM = "samr-410100", "mem-410100"


def alert_events(alert_id: str, uscc: str) -> list[tuple[str, bytes]]:
    """Raised for samr; acknowledged by mem, made responsible for the entity meanwhile."""
    now = clock.now()
    raised = RiskAlertRaised(alert_id=alert_id, uscc=uscc, level="blue", departments=[SAMR], score=30,
                             model_version=1, raised_at=now)
    acknowledged = RiskAlertAcknowledged(alert_id=alert_id, uscc=uscc, level="blue", departments=[MEM, SAMR],
                                         department=MEM, by="mem-clerk", at=now)
    envs = [new_envelope(type=d.event_type, source="/test", data=d.model_dump(mode="json"))
            for d in (raised, acknowledged)]
    return [(env.id, env.to_bytes()) for env in envs]


async def test_an_alert_s_departments_are_all_its_events_named_in_either_order(dashboard_settings, raw_producer,
                                                                              dashboard):
    db = Database(dashboard_settings.database_url)
    try:
        for order in (1, -1):     # raised then acknowledged, and the acknowledgement first
            alert_id, uscc = unique("RA"), new_uscc()
            sent = alert_events(alert_id, uscc)[::order]
            for _, value in sent:
                await raw_producer.send(topics.RISK_ALERTS, value, key=uscc.encode())
            await raw_producer.flush()
            await taken_in(db, dashboard_settings.read_model_group, [i for i, _ in sent], what="the alert's events")
            async with db.transaction() as s:
                row = (await s.execute(text("SELECT departments, state FROM risk_alerts WHERE alert_id = :a"),
                                       {"a": alert_id})).one()
            assert (row.departments, row.state) == ([MEM, SAMR], "acknowledged"), order
    finally:
        await db.dispose()


async def test_a_department_the_risk_service_adds_is_taken_in_and_the_alert_s_state_stands(dashboard_settings,
                                                                                          raw_producer, dashboard):
    """Acknowledged and answered by samr, then mem made responsible and acknowledging: the alert names both, is
    still answered, and keeps samr's acknowledgement's moment."""
    alert_id, uscc, now = unique("RA"), new_uscc(), clock.now()
    raised = Envelope.from_bytes(alert_events(alert_id, uscc)[0][1])
    samr_acknowledged = RiskAlertAcknowledged(alert_id=alert_id, uscc=uscc, level="blue", departments=[SAMR],
                                              department=SAMR, by="samr-clerk", at=now)
    answered = RiskAlertResponded(alert_id=alert_id, uscc=uscc, level="blue", departments=[SAMR], department=SAMR,
                                  by="samr-clerk", measures="已责令整改", at=now)
    added = RiskAlertDepartmentsAdded(alert_id=alert_id, uscc=uscc, level="blue", departments=[MEM, SAMR],
                                      added=[MEM], state="responded", raised_at=now, at=now)
    mem_acknowledged = RiskAlertAcknowledged(alert_id=alert_id, uscc=uscc, level="blue", departments=[MEM, SAMR],
                                             department=MEM, by="mem-clerk", at=now + timedelta(hours=1))
    sent = [raised, *(new_envelope(type=d.event_type, source="/test", data=d.model_dump(mode="json"))
                      for d in (samr_acknowledged, answered, added, mem_acknowledged))]
    db = Database(dashboard_settings.database_url)
    try:
        for env in sent:
            await raw_producer.send(topics.RISK_ALERTS, env.to_bytes(), key=uscc.encode())
        await raw_producer.flush()
        await taken_in(db, dashboard_settings.read_model_group, [e.id for e in sent], what="the alert's events")
        async with db.transaction() as s:
            row = (await s.execute(text("SELECT departments, state, acknowledged_at FROM risk_alerts "
                                        "WHERE alert_id = :a"), {"a": alert_id})).one()
        assert (row.departments, row.state, row.acknowledged_at) == ([MEM, SAMR], "responded", now)
    finally:
        await db.dispose()
