"""Adding a department is data: with one more department, regeneration gives it its topics (created on the real
broker by `topics create`), their KafkaTopics and its KafkaUser, which reads only its own prefix; and a clue routed
to a newly added agency reaches its department's topic without a code change."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import subprocess
import sys
import textwrap
import uuid
from importlib.resources import files
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from jsp_common import clock, departments, topics
from jsp_common.offsets import move_group_to_end
from jsp_common.envelope import new_envelope
from jsp_common.events.clues import ClueSubmitted
from jsp_common.principal import Principal, Role
from jsp_common.producer import EventProducer
from jsp_testkit.testing import caller_headers, local_stack_module, of_type, tail, unique, unique_database_url

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_clue_routed_to_a_newly_added_department_reaches_its_topic(settings, bootstrap, tmp_path):
    """The runbook's steps with no code changed: the agency added to the data (here a copy of the list, named by
    JSP_AGENCIES_FILE, as every process of the deployment reads it), `make k8s` generates its KafkaTopics and
    KafkaUser, `topics create` makes its topics, the office adds a routing rule to it, and a clue that rule
    routes reaches the new department's topic from the clues service as released."""
    code = f"t{uuid.uuid4().hex[:6]}"
    agencies = files("jsp_common").joinpath("data", "agencies.csv").read_text(encoding="utf-8")
    data = tmp_path / "agencies.csv"
    data.write_text(agencies.rstrip("\n") + f"\n{code},河南省新设监管局,新设监管局,province;city,food\n", encoding="utf-8")
    env = {**os.environ, "JSP_AGENCIES_FILE": str(data)}
    dept = f"{code}-410100"
    clue_topic = f"dept.{dept}.clues.v1"

    # make k8s: the generator, reading the new list, writes files that differ, with the department's resources.
    generated = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import json, sys
        sys.path.insert(0, "deploy/k8s")
        from generator import kafka, layout
        from jsp_common import topics
        print(json.dumps({"topics": [d["metadata"]["name"] for d in kafka.kafka_topics(topics.REPLICATION["cluster"])],
                          "users": [u["metadata"]["name"] for u in kafka.kafka_users()], "drift": layout.drift()}))
        """)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert generated.returncode == 0, generated.stderr
    made = json.loads(generated.stdout.strip().splitlines()[-1])
    assert clue_topic in made["topics"] and f"dept-{dept}" in made["users"]
    assert any(rel.startswith("kafka-users/") for rel in made["drift"]), made["drift"]

    # The deployment's start-up step creates the new topics on the broker.
    created = subprocess.run([sys.executable, "-m", "jsp_common.topics", "create"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert created.returncode == 0, created.stderr
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        assert {f"dept.{dept}.{kind}.v1" for kind in ("alerts", "clues", "inspections", "notifications")} \
            <= set(await admin.list_topics())
    finally:
        await admin.close()

    # The clues service as released, reading the same list, with consumer groups of its own on the shared broker.
    groups = {"JSP_CLUES_INTAKE_GROUP": unique("clues.intake-newdept"),
              "JSP_CLUES_REPLICA_GROUP": unique("clues.replica-newdept")}
    wanted = [(groups["JSP_CLUES_INTAKE_GROUP"], topics.consumer_groups()["clues.intake"]),
              (groups["JSP_CLUES_REPLICA_GROUP"], topics.consumer_groups()["clues.replica"])]
    for group, names in wanted:
        await topics.create_topics(bootstrap, [topics.Topic(topics.dead_letter_topic(n, group), "key", (), (), (),
                                                            "test dead letters", partitions=1) for n in names])
        await move_group_to_end(group, names, bootstrap_servers=bootstrap)
    stack = local_stack_module(ROOT).Stack(
        ["clues"], ports={"clues": _free_port()}, log_dir=ROOT / ".local" / "e2e-logs",
        env={"JSP_AGENCIES_FILE": str(data), "JSP_OUTBOX_POLL_INTERVAL_S": "0.1"},
        per_service={"clues": {"JSP_CLUES_DATABASE_URL": unique_database_url(settings, "clues_newdept"), **groups}})
    await asyncio.to_thread(stack.start_all)
    try:
        office = caller_headers(Principal(subject="office-user", kind="person", roles=[Role.OFFICE],
                                          department="office-410000", division="410000"), "clues")
        keyword = f"新设事项{code}"
        async with httpx.AsyncClient(base_url=stack.services["clues"].url, timeout=30) as client:
            rule = await client.post("/routing-rules", headers=office, json={
                "keyword": keyword, "domain": "food", "lead_agency": code, "priority": 1000})
        assert rule.status_code == 201, rule.text

        ref = unique("web")
        clue = new_envelope(type=ClueSubmitted.event_type, source="/website", subject=ref, data=ClueSubmitted(
            channel="website", channel_ref=ref, content=f"群众反映{keyword}存在问题，请核查", received_at=clock.now(),
            address="河南省郑州市中原区建设西路100号", division_code="410102").model_dump(mode="json"))
        producer = EventProducer(client_id="new-department-test", bootstrap_servers=bootstrap)
        await producer.start()
        try:
            async with tail(bootstrap, clue_topic) as out:
                await producer.publish(topics.CHANNEL_SUBMISSIONS["website"], clue, key=ref)
                [dispatched] = await out.wait_for(of_type("clues.clue.dispatched.v1", channel_ref=ref), timeout=60,
                                                  what=f"the clue on {clue_topic}")
        finally:
            await producer.stop()
        assert (dispatched.envelope.data["department"], dispatched.envelope.data["role"]) == (dept, "lead")
    finally:
        await asyncio.to_thread(stack.stop_all)
