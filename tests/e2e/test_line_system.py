"""A line system built from docs/asyncapi.yaml alone, with kcat (the README's quickstart): the bureau's
system produces a registration, the department's system reads its notification with its own consumer
group; both messages are checked against the document's schemas."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
import zlib

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from jsp_testkit import samples
from jsp_common import topics
from jsp_common.contracts_export import DOCS
from jsp_common.partitioner import KeyPartitioner
from jsp_testkit.testing import unique, wait_until

DEPARTMENT = "samr-410100"


@pytest.fixture(scope="module")
def asyncapi() -> dict:
    return yaml.safe_load((DOCS / "asyncapi.yaml").read_text())


def payload_validator(doc: dict, channel_address: str, event_type: str) -> Draft202012Validator:
    """The schema of ``event_type``'s messages on the channel at ``channel_address``, as a generator reads it."""
    [channel] = [c for c in doc["channels"].values() if c["address"] == channel_address]
    [message] = [doc["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]] for ref in channel["messages"].values()
                 if doc["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]["name"] == event_type]
    registry = Registry().with_resource("urn:asyncapi", DRAFT202012.create_resource(doc))
    return Draft202012Validator({"$ref": "urn:asyncapi" + message["payload"]["$ref"]}, registry=registry)


def kcat(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["kcat", *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is installed by `make test`")
async def test_a_registration_produced_with_kcat_reaches_the_department_reading_with_kcat(stack, bootstrap, asyncapi):
    data = samples.registration()
    county = "410102"
    partitions = list(range(topics.by_name(topics.MARKET_REGISTRATIONS).partitions))
    uscc = samples.new_uscc(county)
    while KeyPartitioner().partition(uscc.encode(), partitions) == zlib.crc32(uscc.encode()) % len(partitions):
        uscc = samples.new_uscc(county)  # one that librdkafka's default partitioner (CRC32) would put elsewhere
    data.update(uscc=uscc, division_code=county, industry_code="5221",
                business_scope="预包装食品销售；散装食品销售；食品经营", name=f"郑州{unique('食品')[-6:]}商贸有限公司",
                address="河南省郑州市中原区建设西路100号")
    envelope = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/bureau/henan-samr",
                "type": "market.entity.registered.v1", "time": data["occurred_at"],
                "datacontenttype": "application/json", "data": data}
    registrations = payload_validator(asyncapi, "market.registrations.v1", "market.entity.registered.v1")
    assert list(registrations.iter_errors(envelope)) == []
    kcat("-P", "-b", bootstrap, "-t", "market.registrations.v1", "-K", "|", "-X", "topic.partitioner=murmur2_random",
         stdin=f"{data['uscc']}|{json.dumps(envelope, ensure_ascii=False)}\n")
    # where the platform's own events of this entity go, so none overtakes another
    sent = kcat("-C", "-b", bootstrap, "-t", "market.registrations.v1", "-o", "beginning", "-e", "-f", "%k %p\n")
    assert f"{uscc} {KeyPartitioner().partition(uscc.encode(), partitions)}" in sent.splitlines()

    topic = asyncapi["channels"]["dept_department_notifications_v1"]["address"].format(department=DEPARTMENT)
    group = f"{DEPARTMENT}.{unique('notifications')}"  # a group of the department's own prefix

    async def read_own() -> list[dict]:
        out = await asyncio.to_thread(kcat, "-C", "-b", bootstrap, "-G", group, "-X", "auto.offset.reset=earliest",
                                      "-e", "-f", "%k\t%s\n", topic)
        return [json.loads(line.split("\t", 1)[1]) for line in out.splitlines()
                if line.startswith(data["uscc"] + "\t")]

    [issued, *_] = await wait_until(read_own, timeout=90, interval=1, what="the department's notification")
    notifications = payload_validator(asyncapi, "dept.{department}.notifications.v1", issued["type"])
    assert list(notifications.iter_errors(issued)) == []
    assert issued["type"] == "registry.notification.issued.v1"
    assert issued["data"]["department"] == DEPARTMENT and issued["data"]["entity"]["uscc"] == data["uscc"]
