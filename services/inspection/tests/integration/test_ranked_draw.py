"""The draw is ranked inside PostgreSQL (so a million members never pass through the service); the database
must compute exactly the published algorithm: the same ranks and order as the domain's Python, the same
snapshots, and a record that replays identically in Python."""

from __future__ import annotations

import random

from inspection.adapters import directory, ranking
from inspection.domain import draw, joint

from .conftest import OFFICE, dept, new_industry, new_uscc

SAMR, NHC = "samr-410100", "nhc-410100"


async def test_the_database_ranks_a_population_exactly_as_the_published_algorithm(service):
    industry = new_industry()
    usccs = await service.entities(60, industry, classes={})
    seed = draw.new_seed()
    async with service.deps.db.transaction() as s:
        population, _ = await directory.population(s, {"industry_code": industry}, year=2026, yearly_cap=99)
        lowest, ranks = await ranking.lowest(s, {"industry_code": industry}, year=2026, yearly_cap=99, seed=seed,
                                             need={"B": 60, "C": 0})
    assert sorted(c.uscc for c in population) == sorted(usccs)
    assert lowest == {"B": draw.take_lowest(seed, usccs, 60), "C": []}
    assert ranks == {u: draw.rank(seed, u) for u in usccs}
    async with service.deps.db.transaction() as s:
        lowest, _ = await ranking.lowest(s, {"industry_code": industry}, year=2026, yearly_cap=99, seed=seed,
                                         need={"B": 7})
    assert lowest["B"] == draw.take_lowest(seed, usccs, 7)


async def test_a_draw_over_every_credit_class_replays_identically_from_its_public_record(service):
    industry = new_industry()
    usccs = [new_uscc() for _ in range(90)]
    classes = {u: random.choice("ABCD") for u in usccs[:70]}   # the other 20 are unrated: class B
    await service.entities(90, industry, classes=classes, usccs=usccs)
    await service.inspectors(SAMR, 4)
    await service.inspectors(NHC, 4)
    matter = await service.matter()
    p1 = await service.plan(SAMR, matter["code"], industry, {"B": 0.1, "C": 0.3, "D": 0.7})
    p2 = await service.plan(NHC, matter["code"], industry, {"B": 0.2, "C": 0.5, "D": 1.0})
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [p1["id"], p2["id"]]})).json()
    announced = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
    r = await service.post(f"/draws/{announced['draw_id']}/perform", dept(SAMR))
    assert r.status_code == 200, r.text

    rec = (await service.get(f"/public/draws/{announced['draw_id']}")).json()["record"]
    assert joint.verify(rec) == []
    by_class = {c: sorted(u for u in usccs if classes.get(u, "B") == c) for c in "ABCD"}
    for plan in rec["plans"]:
        assert {s["credit_class"]: s["members"] for s in plan["strata"] if s["members"]} == \
            {c: m for c, m in by_class.items() if m}
        for s in plan["strata"]:
            assert "population" not in s
            snap = draw.snapshot(s["members"])
            assert (s["size"], s["digest"]) == (snap.size, snap.digest)
            assert s["sample"] == draw.take_lowest(rec["seed"], s["members"], draw.sample_size(s["ratio"], s["size"]))
    assert len((await service.get(f"/tasks/{task['id']}", OFFICE)).json()["targets"]) == len(rec["targets"]) > 0
