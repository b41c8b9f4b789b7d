"""Topics are created with the replication of the environment (jsp_common.topics.REPLICATION), the same
figures the Kubernetes generator writes into the KafkaTopics: locally one copy, on a cluster three with two
in sync; the single test broker refuses the cluster's three copies instead of creating fewer."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from jsp_testkit.testing import unique
from jsp_common.topics import REPLICATION, Topic, create_topics


async def _min_isr(bootstrap: str, name: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [resp] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        configs = {c[0]: c[1] for c in resp.resources[0][4]}
        return configs["min.insync.replicas"]
    finally:
        await admin.close()


async def test_local_replication_keeps_one_copy(bootstrap):
    name = unique("test.replication")
    await create_topics(bootstrap, [Topic(name, "k", (), (), (), "test")], replication=REPLICATION["local"])
    assert await _min_isr(bootstrap, name) == "1"


async def test_the_cluster_replication_is_refused_by_a_single_broker(bootstrap):
    name = unique("test.replication")
    with pytest.raises(RuntimeError, match="Kafka refused to create topics"):
        await create_topics(bootstrap, [Topic(name, "k", (), (), (), "test")], replication=REPLICATION["cluster"])
    assert REPLICATION["cluster"] == type(REPLICATION["cluster"])(replicas=3, min_insync_replicas=2)
