"""Planned visits in the read model: an abandoned draw's targets are gone whichever arrives first, the
abandonment (inspection.draws.v1) or a department's part of the task (its own topic, another consumer); a
visit whose entity's record comes after the task takes the entity's city then."""

from __future__ import annotations

from sqlalchemy import text

from jsp_common import clock, topics
from jsp_common.db import Database
from jsp_common.envelope import new_envelope
from jsp_common.events.inspection import AssignedTarget, DrawAbandoned, TaskAssigned
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import unique

from .test_entities import record, taken_in

SAMR = "samr-410100"


def assigned(draw_id: str, task_id: str, uscc: str) -> TaskAssigned:
    """samr's part of a joint task: one entity to visit."""
    at = clock.now()
    return TaskAssigned(task_id=task_id, draw_id=draw_id, matter_code="M1", matter_version=1, lead_department=SAMR,
                        department=SAMR, period_start=at.date(), period_end=at.date(), assigned_at=at,
                        targets=[AssignedTarget(uscc=uscc, entity_name="某某餐馆", items=["S1"],
                                                joint_departments=[SAMR], inspectors=["IN-1", "IN-2"],
                                                team=["IN-1", "IN-2"])])


async def send(raw_producer, topic: str, data, key: str) -> str:
    env = new_envelope(type=data.event_type, source="/test", data=data.model_dump(mode="json"))
    await raw_producer.send(topic, env.to_bytes(), key=key.encode())
    await raw_producer.flush()
    return env.id


async def test_a_visit_takes_its_city_from_an_entity_record_that_comes_after_the_task(dashboard_settings,
                                                                                      raw_producer, dashboard):
    """A rebuild applies the small department topics before most of the directory: the targets stayed without a
    city (the office's table by city counted them as province-level, the city's list left them out)."""
    db = Database(dashboard_settings.database_url)
    task_id, uscc = unique("JT"), new_uscc("410105")
    try:
        first = await send(raw_producer, topics.department_topic(topics.DEPARTMENT_INSPECTIONS, SAMR),
                           assigned(unique("DR"), task_id, uscc), task_id)
        await taken_in(db, dashboard_settings.read_model_group, [first], what="the task")
        event_id, value = record(uscc, 1, "某某餐馆", 1)
        await raw_producer.send(topics.REGISTRY_ENTITIES, value, key=uscc.encode())
        await raw_producer.flush()
        await taken_in(db, dashboard_settings.read_model_group, [event_id], what="the entity's record")
        async with db.transaction() as s:
            city = (await s.execute(text("SELECT city_code FROM inspection_targets WHERE task_id = :t"),
                                    {"t": task_id})).scalar_one()
        assert city == "410100"
    finally:
        await db.dispose()


async def test_an_abandoned_draw_s_targets_are_gone_whichever_arrives_first(dashboard_settings, raw_producer,
                                                                           dashboard):
    db = Database(dashboard_settings.database_url)
    try:
        for abandonment_first in (False, True):
            draw_id, task_id = unique("DR"), unique("JT")
            abandoned = DrawAbandoned(draw_id=draw_id, task_id=task_id, seed_hash="a" * 64, seed="b" * 64,
                                      status="abandoned", reason="抽取有误", at=clock.now())
            part = assigned(draw_id, task_id, new_uscc())
            sent = [(topics.department_topic(topics.DEPARTMENT_INSPECTIONS, SAMR), part),
                    (topics.INSPECTION_DRAWS, abandoned)][::-1 if abandonment_first else 1]
            for topic, data in sent:     # one after the other
                applied = await send(raw_producer, topic, data, task_id)
                await taken_in(db, dashboard_settings.read_model_group, [applied], what="the draw's event")
            async with db.transaction() as s:
                left = (await s.execute(text("SELECT count(*) FROM inspection_targets WHERE draw_id = :d"),
                                        {"d": draw_id})).scalar_one()
            assert left == 0, abandonment_first
    finally:
        await db.dispose()
