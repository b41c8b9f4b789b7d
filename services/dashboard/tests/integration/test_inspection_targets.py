"""Planned visits in the read model: an abandoned draw's targets are gone whichever arrives first, the
abandonment (inspection.draws.v1) or a department's part of the task (its own topic, another consumer)."""

from __future__ import annotations

from sqlalchemy import text

from jsp_common import clock, topics
from jsp_common.db import Database
from jsp_common.envelope import new_envelope
from jsp_common.events.inspection import AssignedTarget, DrawAbandoned, TaskAssigned
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import unique

from .test_entities import taken_in

SAMR = "samr-410100"


async def test_an_abandoned_draw_s_targets_are_gone_whichever_arrives_first(dashboard_settings, raw_producer,
                                                                           dashboard):
    db = Database(dashboard_settings.database_url)
    try:
        for abandonment_first in (False, True):
            draw_id, task_id, uscc, at = unique("DR"), unique("JT"), new_uscc(), clock.now()
            part = TaskAssigned(task_id=task_id, draw_id=draw_id, matter_code="M1", matter_version=1,
                                lead_department=SAMR, department=SAMR, period_start=at.date(), period_end=at.date(),
                                assigned_at=at, targets=[AssignedTarget(
                                    uscc=uscc, entity_name="某某餐馆", items=["S1"], joint_departments=[SAMR],
                                    inspectors=["IN-1", "IN-2"], team=["IN-1", "IN-2"])])
            abandoned = DrawAbandoned(draw_id=draw_id, task_id=task_id, seed_hash="a" * 64, seed="b" * 64,
                                      status="abandoned", reason="抽取有误", at=at)
            sent = [(topics.department_topic(topics.DEPARTMENT_INSPECTIONS, SAMR), part),
                    (topics.INSPECTION_DRAWS, abandoned)][::-1 if abandonment_first else 1]
            ids = []
            for topic, data in sent:
                env = new_envelope(type=data.event_type, source="/test", data=data.model_dump(mode="json"))
                await raw_producer.send(topic, env.to_bytes(), key=task_id.encode())
                ids.append(env.id)
                await raw_producer.flush()
                await taken_in(db, dashboard_settings.read_model_group, ids, what="the draw's events")
            async with db.transaction() as s:
                left = (await s.execute(text("SELECT count(*) FROM inspection_targets WHERE draw_id = :d"),
                                        {"d": draw_id})).scalar_one()
            assert left == 0, abandonment_first
    finally:
        await db.dispose()
