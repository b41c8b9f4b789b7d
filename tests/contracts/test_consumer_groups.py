"""The topic catalogue names exactly the consumer groups the services run, on the topics they read: the
dead-letter topics, Kafka users, KEDA ScaledObjects and lag checks are all generated from it, so a group listed
there that no service runs would be a dead-letter topic nobody writes and a lag that never drains.

The dashboard's reads of every department's own topics are described on those topics (a reader of every
department's topic, granted by prefix), not listed as a group with dead-letter topics: they are left out here."""

from __future__ import annotations

import importlib
from collections import defaultdict

import pytest_asyncio

from jsp_common import topics


@pytest_asyncio.fixture
async def groups_run() -> dict[str, set[str]]:
    """Each consumer group the services build (as ``serve`` does, nothing started): the topics it reads."""
    run: dict[str, set[str]] = defaultdict(set)
    for service in topics.SERVICES:
        runtime = importlib.import_module(f"{service}.bootstrap").build()
        for loop in runtime.consumers:
            run[loop.group] |= {t for t in loop.topics if not t.startswith("dept.")}
            await loop.stop()
        await runtime.db.dispose()
    return dict(run)


async def test_the_catalogue_lists_every_group_the_services_run_on_the_topics_they_read(groups_run):
    assert {g: set(names) for g, names in topics.consumer_groups().items()} == groups_run
