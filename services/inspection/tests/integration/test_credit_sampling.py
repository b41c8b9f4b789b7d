"""Credit-based sampling through the service: classes arrive from the risk service's topic, an unrated entity
counts as B, and class D is drawn at its band's ratio over a large generated population."""

from __future__ import annotations

import math
import random

from jsp_common import clock, topics
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import dept, of_type, tail

from inspection.domain.draw import sample_size

from .conftest import new_industry

SAMR = "samr-410100"


async def test_class_d_is_drawn_at_its_ratio_and_unrated_entities_count_as_b(service, bootstrap):
    rng = random.Random()
    usccs = [new_uscc("410105") for _ in range(3000)]
    classes = {u: rng.choice("ACDD") for u in usccs[:2400]}           # the last 600 are not rated yet
    industry = new_industry()
    await service.entities(len(usccs), industry, classes=classes, usccs=usccs)
    await service.inspectors(SAMR, 40)
    matter = await service.matter(co=())
    plan = await service.plan(SAMR, matter["code"], industry, {"D": 0.65, "C": 0.3, "B": 0.05})
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [plan["id"]]})).json()
    async with tail(bootstrap, topics.INSPECTION_DRAWS) as t:
        d = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
        r = await service.post(f"/draws/{d['draw_id']}/perform", dept(SAMR))
        assert r.status_code == 200, r.text
        event = (await t.wait_for(of_type("inspection.draw.performed.v1", task_id=task["id"])))[0].envelope.data
    # Over max_targets_in_event (100 here): the event keeps the snapshots, the lists are in the record only.
    assert not event["listed_in_full"] and event["targets"] == [] and all(s["sample"] == [] for s in event["strata"])
    rec = await service.full_record(d["draw_id"])
    strata = {s["credit_class"]: s for s in rec["plans"][0]["strata"]}
    n_d = sum(1 for c in classes.values() if c == "D")
    assert strata["D"]["size"] == n_d and strata["B"]["size"] == 600 and strata["A"]["sample"] == []
    drawn_d = set(strata["D"]["sample"])
    assert len(drawn_d) == sample_size("0.65", n_d)
    # No part of the population is favoured: in halves split by a character the hash does not see first
    # (the USCC's 10th character), the share of D drawn stays within 4 standard deviations of 0.65.
    for half in (set("0123456789ABCDEFGH"), set("JKLMNPQRTUWXY")):
        members = [u for u in strata["D"]["members"] if u[9] in half]
        share = sum(u in drawn_d for u in members) / len(members)
        assert abs(share - 0.65) < 4 * math.sqrt(0.65 * 0.35 / len(members)), (share, len(members))
    assert len(strata["B"]["sample"]) == 30
    assert {(s["credit_class"], s["digest"]) for s in event["strata"]} == {(c, s["digest"]) for c, s in strata.items()}


async def test_class_a_is_sampled_when_the_platform_says_so(service, monkeypatch):
    """With proactive_class_a on, a plan's ratio for class A was refused 422 by the published bounds (0 only):
    the setting could not be used."""
    industry = new_industry()
    await service.entities(3, industry)
    matter = await service.matter()
    year = clock.today().year
    body = {"matter_code": matter["code"], "period_start": f"{year}-01-01", "period_end": f"{year}-12-31",
            "filter": {"industry_code": industry}, "ratios": {"A": 0.03}}
    refused = await service.post("/plans", dept(SAMR), body)
    assert refused.status_code == 409 and "not proactively checked" in refused.text, refused.text
    monkeypatch.setattr(service.deps.settings, "proactive_class_a", True)
    r = await service.post("/plans", dept(SAMR), body)
    assert r.status_code == 201 and r.json()["ratios"]["A"] == "0.03", r.text
    above = await service.post("/plans", dept(SAMR), {**body, "ratios": {"A": 0.06}})   # the service's bands
    assert above.status_code == 409 and "outside class A's band 0.00–0.05" in above.text, above.text

