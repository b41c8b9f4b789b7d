"""The dashboard on real Kafka and PostgreSQL, in a consumer group of its own (the end-to-end stack's dashboard
later reads the same topics)."""

from __future__ import annotations

from pathlib import Path

import pytest_asyncio

from jsp_common import topics
from jsp_common.envelope import new_envelope
from jsp_common.topics import Topic, create_topics, dead_letter_topic
from jsp_testkit.testing import OFFICE, running_service, wait_until

from dashboard.app import create_app
from dashboard.bootstrap import build
from dashboard.settings import Settings
from dashboard.subscriptions import kafka_groups

SERVICE_DIR = Path(__file__).resolve().parents[2]
TEST_GROUP = "dashboard.read-model-test"
SAMR = "samr-410100"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dashboard_settings(settings) -> Settings:
    return Settings(database_url=f"{settings.postgres_url.rstrip('/')}/dashboard_test", read_model_group=TEST_GROUP)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dashboard_service(dashboard_settings, settings, kafka_topics):
    """The dashboard running (its read model's group, its change feed) and a client of its app."""
    s = dashboard_settings
    # Its dead-letter topic for every department's clues topic (the catalogue has the real group's).
    await create_topics(settings.kafka_bootstrap_servers, [
        Topic(dead_letter_topic(topics.department_topic(topics.DEPARTMENT_CLUES, SAMR), TEST_GROUP), "clue_id",
              (), (), (), "test", partitions=1)])
    async with running_service(s, service_dir=SERVICE_DIR, build=build, create_app=create_app,
                               start_from_end=kafka_groups(s.read_model_group).items()) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dashboard(dashboard_service):
    return dashboard_service[1]


async def send(producer, topic: str, data, key: str) -> None:
    env = new_envelope(type=data.event_type, source="/test", data=data.model_dump(mode="json"))
    await producer.send_and_wait(topic, env.to_bytes(), key=key.encode())


async def page_showing(client, path: str, text: str) -> str:
    async def shown():
        html = (await client.get(path, headers=OFFICE)).text
        return html if text in html else None
    return await wait_until(shown, timeout=60, what=f"{text!r} on {path}")
