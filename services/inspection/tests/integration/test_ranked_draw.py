"""The draw is ranked inside PostgreSQL (so a million members never pass through the service); the database
must compute exactly the published algorithm: the same ranks and order as the domain's Python, the same
snapshots, and a record that replays identically in Python."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import date
from decimal import Decimal

from jsp_common import clock

from inspection.adapters import directory, ranking, tasks
from inspection.domain import draw, joint

from .conftest import OFFICE, dept, new_industry, new_uscc

SAMR, NHC = "samr-410100", "nhc-410100"


async def test_the_database_ranks_a_population_exactly_as_the_published_algorithm(service):
    industry = new_industry()
    usccs = await service.entities(60, industry, classes={})
    seed = draw.new_seed()
    for ratios, k in (([("B", Decimal(1)), ("C", Decimal("0.3"))], 60), ([("B", Decimal("0.05"))], 3),
                      ([("B", Decimal("0.05")), ("B", Decimal("0.125"))], 8)):  # the largest sample: 7.5 -> 8
        async with service.deps.db.transaction() as s:
            population, _ = await directory.population(s, {"industry_code": industry}, year=2026, yearly_cap=99)
            draw_id = await _draw(s, seed)
            snapshots, lowest, ranks = await ranking.draw_population(
                s, draw_id, 0, {"industry_code": industry}, year=2026, yearly_cap=99, seed=seed, ratios=ratios)
            size = await ranking.kept_size(s, draw_id, 0, "B")
            kept = b"".join([await ranking.kept_slice(s, draw_id, 0, "B", k, 100) for k in range(0, size, 100)])
            missing = await ranking.kept_size(s, draw_id, 0, "C")
            await s.rollback()
        assert sorted(c.uscc for c in population) == sorted(usccs)
        assert snapshots == {"B": draw.snapshot(usccs)}
        assert kept == "\n".join(sorted(usccs)).encode() and missing is None
        assert hashlib.sha256(kept).hexdigest() == snapshots["B"].digest
        assert lowest["B"] == draw.take_lowest(seed, usccs, k) and lowest.get("C", []) == []
        assert k == max(draw.sample_size(r, 60) for c, r in ratios if c == "B")
        assert ranks == {u: draw.rank(seed, u) for u in lowest["B"]}


async def _draw(s, seed: str) -> str:
    """A draw row for the kept populations to belong to (rolled back with the test's transaction)."""
    suffix = uuid.uuid4().hex[:8]
    task = await tasks.add_task(s, {
        "id": f"T-{suffix}", "matter_code": "M", "matter_version": 1, "lead_department": SAMR, "departments": [SAMR],
        "plan_ids": [], "period_start": date(2026, 1, 1), "period_end": date(2026, 12, 31), "created_by": "test",
        "created_at": clock.now()})
    await tasks.add_draw(s, {"id": f"D-{suffix}", "task_id": task["id"], "seed": seed, "seed_hash": draw.seed_hash(seed),
                             "status": "announced", "announced_at": clock.now(), "actor": "test"})
    return f"D-{suffix}"


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

    rec = await service.full_record(announced["draw_id"])
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
