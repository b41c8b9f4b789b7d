"""A joint inspection through the front door, as `make demo` runs it: the bureau's registrations reach the
inspection service's replica through the registry; the office publishes the matter; two departments plan;
the lead merges and draws; anyone replays the draw and reads the published result without a token; another
department sees none of the task."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from jsp_testkit.testing import of_type, tail

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
from demo_inspection import joint_inspection  # noqa: E402


async def test_a_joint_inspection_through_the_gateway(front, clients, office, bootstrap):
    bureau = await clients.system("bureau")
    other = await clients.system("department", department="samr-410200")
    async with tail(bootstrap, "inspection.results.v1", "dept.nhc-410100.inspections.v1") as t:
        made = await joint_inspection(front, office["headers"], bureau["headers"], random.Random(), 8)
        await t.wait_for(of_type("inspection.task.assigned.v1", task_id=made["task"]["id"]), what="the nhc part")
        await t.wait_for(of_type("inspection.result.published.v1", uscc=made["published"]), what="the result event")
    feed = (await front.get("/inspection/public/results", params={"since": "2020-01-01T00:00:00Z", "limit": 1000}))
    assert feed.status_code == 200 and made["published"] in {r["uscc"] for r in feed.json()}
    page = await front.get(f"/inspection/public/matters/{made['matter_code']}/manual.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html") and "服务手册" in page.text
    assert "牵头部门 郑州市市场监督管理局" in page.text  # named, not coded
    # a matter without a manual (or not in the list): a page saying so, not an error document
    missing = await front.get("/inspection/public/matters/NO-SUCH-MATTER/manual.html")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "服务手册尚未公布" in missing.text
    assert (await front.get(f"/inspection/tasks/{made['task']['id']}", headers=other["headers"])).status_code == 404
    assert (await front.get(f"/inspection/tasks/{made['task']['id']}")).status_code == 401
    lead = made["departments"]["samr-410100"]
    assert (await front.get(f"/inspection/tasks/{made['task']['id']}", headers=lead)).status_code == 200
