"""Inspection figure: the merge and draw of a joint task over 1,000,000 entities with five departments'
plans (per credit class, one seed, merged by USCC, two inspectors per entity from 5 × 3,000), beside only
reading that population (USCC and credit class) from PostgreSQL in the same run. Target: the draw costs
less than the read. The draw is the service's own path (``usecases/draws.draw_input`` then
``domain/joint.conclude``): PostgreSQL snapshots the population, keeps its members for the record and ranks it
in one statement, returning only the samples; the service merges them and draws the teams.

Printed beside it, against the same read: each of the two parts, and the published algorithm's floor in the
database: every member's rank (one SHA-256 each) computed over the population and nothing else (no sort, nothing
kept or returned). Where the floor and the service's part together exceed the read, no statement can meet the
target on this machine while the teams are drawn by the service."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import asyncpg

from harness import BenchEnv, Figure
from jsp_common import clock
from jsp_common.db import asyncpg_dsn

SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "inspection"
DEPARTMENTS = ("samr-410100", "nhc-410100", "mem-410100", "mohurd-410100", "mee-410100")

FILL = """
TRUNCATE replica_entities, credit_classes, draw_populations, results, targets, draws, tasks, plans CASCADE;
INSERT INTO replica_entities (uscc, name, division_code, city_code, status, industry_code, responsible_departments,
                              domains, version)
SELECT '9141' || lpad(upper(to_hex(i)), 14, '0'), 'bench ' || i, '410102', '410100', 'active', '6210',
       ARRAY['samr-410100', 'nhc-410100'], ARRAY['food'], 1
FROM generate_series(1, $1) AS i;
INSERT INTO credit_classes (uscc, credit_class, record_version, changed_at)
SELECT uscc, (ARRAY['A','A','A','B','B','B','B','C','C','D'])[1 + abs(hashtext(uscc)) % 10], 1, now()
FROM replica_entities WHERE abs(hashtext(uscc || 'rated')) % 10 < 7;
TRUNCATE inspectors;
INSERT INTO inspectors (id, department, name, certificate_no, certificate_valid_until, division_code)
SELECT d || '/' || lpad(k::text, 5, '0'), d, 'bench ' || k, 'C' || k, DATE '2030-12-31', '410100'
FROM unnest(ARRAY['samr-410100', 'nhc-410100', 'mem-410100', 'mohurd-410100', 'mee-410100']) AS d,
     generate_series(0, 2999) AS k;
VACUUM ANALYZE replica_entities;
VACUUM ANALYZE credit_classes;
"""
READ = ("SELECT e.uscc, coalesce(c.credit_class, 'B') FROM replica_entities e "
        "LEFT JOIN credit_classes c ON c.uscc = e.uscc WHERE e.status = 'active' ORDER BY e.uscc")


ASKS = ({"B": "0.05", "C": "0.21", "D": "0.61"}, {"B": "0.1", "C": "0.3", "D": "0.7"},
        {"B": "0.05", "C": "0.25", "D": "0.65"}, {"B": "0.08", "C": "0.4", "D": "0.8"}, {"B": "0.2", "C": "0.6", "D": "1.0"})


async def run(env: BenchEnv) -> list[Figure]:
    from jsp_common.db import Database
    from jsp_common.migrations import upgrade

    from inspection.adapters import tasks as repo
    from inspection.deps import Deps
    from inspection.domain import draw, joint
    from inspection.settings import Settings
    from inspection.usecases import draws

    n = env.n(1_000_000)
    settings = Settings(database_url=f"{env.postgres_url.rstrip('/')}/inspection_bench", max_targets_per_inspector=10_000)
    await upgrade(SERVICE_DIR, settings.database_url)
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        for statement in FILL.split(";\n"):
            if statement.strip():
                await conn.execute(statement, n) if "$1" in statement else await conn.execute(statement)
        started = time.perf_counter()
        rows = await conn.fetch(READ)
        read_s = time.perf_counter() - started
        del rows
        seed = draw.new_seed()
        started = time.perf_counter()
        await conn.fetchval(_floor(seed, settings.max_inspections_per_entity_per_year))
        floor_s = time.perf_counter() - started
    finally:
        await conn.close()

    # Five departments' plans over the same population, merged in one joint task; 3,000 inspectors each.
    db = Database(settings.database_url)
    try:
        async with db.transaction() as s:
            plan_ids = []
            for k, (d, ratios) in enumerate(zip(DEPARTMENTS, ASKS)):
                plan_ids.append((await repo.add_plan(s, {
                    "id": f"BENCH-P{k}", "department": d, "matter_code": "BENCH", "matter_version": 1,
                    "period_start": date(2026, 1, 1), "period_end": date(2026, 12, 31), "frequency": 1,
                    "filter": {"industry_code": "62"}, "ratios": {"A": "0", **ratios}, "items": [f"{d}:item"],
                    "population_at_creation": n, "created_by": "bench", "created_at": clock.now()}))["id"])
            task = await repo.add_task(s, {
                "id": "BENCH-T", "matter_code": "BENCH", "matter_version": 1, "lead_department": DEPARTMENTS[0],
                "departments": sorted(DEPARTMENTS), "plan_ids": plan_ids, "period_start": date(2026, 1, 1),
                "period_end": date(2026, 12, 31), "created_by": "bench", "created_at": clock.now()})
            await repo.add_draw(s, {"id": "BENCH-D", "task_id": task["id"], "seed": seed, "seed_hash": draw.seed_hash(seed),
                                    "status": "announced", "announced_at": clock.now(), "actor": "bench"})
        deps = Deps(settings, db, None, "bench")  # type: ignore[arg-type] - the draw needs no calendar
        async with db.transaction() as s:
            started = time.perf_counter()
            inp, strata, ranks, _ = await draws.draw_input(deps, _Tx(s), task, seed, "BENCH-D")
            concluding = time.perf_counter()
            out = joint.conclude(inp, strata, ranks)
            draw_s, service_s = time.perf_counter() - started, time.perf_counter() - concluding
            await s.rollback()
    finally:
        await db.dispose()
    sampled = sum(len(st.sample) for sts in out.strata.values() for st in sts)
    return [Figure("joint draw: merge and draw, 5 plans", draw_s, read_s, "s", higher_is_better=False,
                   note=f"{n:,} entities, {sampled:,} sampled by 5 departments, {len(out.targets):,} joint visits "
                        f"with their teams (PostgreSQL snapshots, keeps and ranks the population in one statement, "
                        f"the service merges and "
                        f"draws the teams); baseline: reading the population (USCC, credit class) from PostgreSQL"),
            Figure("of which the database's part: snapshot, keep, rank (and the plans, pools, loads read)",
                   draw_s - service_s, read_s, "s", higher_is_better=False),
            Figure("of which the service's part: merge the samples, draw the teams", service_s, read_s, "s",
                   higher_is_better=False),
            Figure("floor: every member's rank alone in PostgreSQL (SHA-256 each; no sort, nothing kept or returned)",
                   floor_s, read_s, "s", higher_is_better=False,
                   note="with the service's part, what any statement ranking every member adds up to at least")]


def _floor(seed: str, yearly_cap: int) -> str:
    """Every member of the bench's population ranked as the draw ranks it (``adapters/ranking.py``), counted."""
    from sqlalchemy import func, select
    from sqlalchemy.dialects import postgresql

    from inspection.adapters import ranking

    pop = ranking._population({"industry_code": "62"}, year=2026, yearly_cap=yearly_cap).subquery()
    q = select(func.count(ranking._rank(seed, pop.c.uscc)))
    return str(q.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


class _Tx:
    """What the draw reads through: the transaction's session (nothing is emitted)."""

    def __init__(self, session):
        self.session = session
