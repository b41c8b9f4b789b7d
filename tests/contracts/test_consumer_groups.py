"""The topic catalogue names exactly the consumer groups the services run, on the topics they read: the
dead-letter topics, Kafka users, KEDA ScaledObjects and lag checks are all generated from it, so a group listed
there that no service runs would be a dead-letter topic nobody writes and a lag that never drains.

The dashboard's reads of every department's own topics are described on those topics (a reader of every
department's topic, granted by prefix), not listed as a group with dead-letter topics: they are left out of the
first test, and read with a Kafka group of their own (``topics.departments_group``), which the second checks."""

from __future__ import annotations

import importlib
from collections import defaultdict

import pytest_asyncio

from jsp_common import topics


@pytest_asyncio.fixture
async def loops_run() -> list[tuple[str, str, list[str]]]:
    """Each consumer loop the services build (as ``serve`` does, nothing started): its group, the Kafka group it
    joins, the topics it reads."""
    run = []
    for service in topics.SERVICES:
        runtime = importlib.import_module(f"{service}.bootstrap").build()
        for loop in runtime.consumers:
            run.append((loop.group, loop.group_id, list(loop.topics)))
            await loop.stop()
        await runtime.db.dispose()
    return run


async def test_the_catalogue_lists_every_group_the_services_run_on_the_topics_they_read(loops_run):
    run: dict[str, set[str]] = defaultdict(set)
    for group, _, names in loops_run:
        run[group] |= {t for t in names if not t.startswith("dept.")}
    assert {g: set(names) for g, names in topics.consumer_groups().items()} == dict(run)


async def test_every_kafka_group_joined_is_a_catalogue_group_or_a_department_readers_own(loops_run):
    """The Kafka users are granted exactly these groups: a service joining another would be refused by the broker."""
    readers = {g for t in topics.CATALOGUE for g in t.department_readers}
    granted = set(topics.consumer_groups()) | {topics.departments_group(g) for g in readers}
    assert {kafka_group for _, kafka_group, _ in loops_run} == granted
    for group, kafka_group, names in loops_run:  # a department reader's own group reads only departments' topics
        if kafka_group != group:
            assert group in readers and all(t.startswith("dept.") for t in names), (group, kafka_group)
