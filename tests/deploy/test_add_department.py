"""Adding a department is data: with one more department, regeneration gives it its two topics (created on
the real broker by `topics create`), their KafkaTopics and its KafkaUser, which reads only its own prefix."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from jsp_common import departments, topics
from jsp_testkit.testing import unique

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy/k8s"))

import validate  # noqa: E402
from generator import kafka  # noqa: E402


async def test_a_new_department_gets_its_topics_kafka_topics_and_user(monkeypatch, bootstrap):
    existing = departments.all_departments()
    code = f"samr-{unique('d').split('-')[-1][:6]}"
    new = dataclasses.replace(existing[0], code=code, name="新设部门")
    monkeypatch.setattr(departments, "all_departments", lambda: (*existing, new))

    mine = [t for t in topics.all_topics() if t.name.startswith(f"dept.{code}.")]
    assert sorted(t.name for t in mine) == [f"dept.{code}.{kind}.v1"
                                            for kind in ("alerts", "clues", "inspections", "notifications")]
    created = await topics.create_topics(bootstrap, mine)
    assert sorted(created) == sorted(t.name for t in mine)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        assert {t.name for t in mine} <= set(await admin.list_topics())
    finally:
        await admin.close()

    kafka_topics = {d["metadata"]["name"]: d for d in kafka.kafka_topics(topics.REPLICATION["cluster"])}
    for t in mine:
        assert kafka_topics[t.name]["spec"]["replicas"] == 3
        assert validate.validate(kafka_topics[t.name]) is None
    [user] = [u for u in kafka.kafka_users() if u["metadata"]["name"] == f"dept-{code}"]
    assert validate.validate(user) is None
    assert [a["resource"] for a in user["spec"]["authorization"]["acls"]] == [
        {"type": "topic", "name": f"dept.{code}.", "patternType": "prefix"},
        {"type": "group", "name": f"{code}.", "patternType": "prefix"},
        {"type": "topic", "name": "reference.workday-schedules.v1", "patternType": "literal"}]  # reference data
