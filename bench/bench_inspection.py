"""Inspection figure: the merge and draw of a joint task over 1,000,000 entities with five departments'
plans (per credit class, one seed, merged by USCC, two inspectors per entity from 5 × 3,000), beside only
reading that population (USCC and credit class) from PostgreSQL in the same run. Target: the draw costs
less than the read."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import asyncpg

from harness import BenchEnv, Figure
from jsp_common.db import asyncpg_dsn

SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "inspection"
DEPARTMENTS = ("samr-410100", "nhc-410100", "mem-410100", "mohurd-410100", "mee-410100")

FILL = """
TRUNCATE replica_entities, credit_classes;
INSERT INTO replica_entities (uscc, name, division_code, city_code, status, industry_code, responsible_departments,
                              domains, version)
SELECT '9141' || lpad(upper(to_hex(i)), 14, '0'), 'bench ' || i, '410102', '410100', 'active', '6210',
       ARRAY['samr-410100', 'nhc-410100'], ARRAY['food'], 1
FROM generate_series(1, $1) AS i;
INSERT INTO credit_classes (uscc, credit_class, record_version, changed_at)
SELECT uscc, (ARRAY['A','A','A','B','B','B','B','C','C','D'])[1 + abs(hashtext(uscc)) % 10], 1, now()
FROM replica_entities WHERE abs(hashtext(uscc || 'rated')) % 10 < 7;
VACUUM ANALYZE replica_entities;
VACUUM ANALYZE credit_classes;
"""
READ = ("SELECT e.uscc, coalesce(c.credit_class, 'B') FROM replica_entities e "
        "LEFT JOIN credit_classes c ON c.uscc = e.uscc WHERE e.status = 'active' ORDER BY e.uscc")


async def run(env: BenchEnv) -> list[Figure]:
    from jsp_common.migrations import upgrade

    from inspection.domain import draw, joint
    from inspection.domain.assignment import Inspector, Rules
    from inspection.domain.sampling import Candidate, resolve_ratios
    from inspection.settings import Settings

    n = env.n(1_000_000)
    settings = Settings(database_url=f"{env.postgres_url.rstrip('/')}/inspection_bench")
    await upgrade(SERVICE_DIR, settings.database_url)
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        for statement in FILL.split(";\n"):
            if statement.strip():
                await conn.execute(statement, n) if "$1" in statement else await conn.execute(statement)
        started = time.perf_counter()
        rows = await conn.fetch(READ)
        read_s = time.perf_counter() - started
    finally:
        await conn.close()

    population = [Candidate(u, c) for u, c in rows]
    asks = ({"B": 0.05, "C": 0.21, "D": 0.61}, {"B": 0.1, "C": 0.3, "D": 0.7}, {"B": 0.05, "C": 0.25, "D": 0.65},
            {"B": 0.08, "C": 0.4, "D": 0.8}, {"B": 0.2, "C": 0.6, "D": 1.0})
    plans = [joint.PlanInput(f"P{k}", d, (f"{d}:item",), resolve_ratios(a, key_matter=True, general_cap=Decimal("0.2"),
                                                                         proactive_a=False), population)
             for k, (d, a) in enumerate(zip(DEPARTMENTS, asks))]
    pools = {d: [Inspector(f"{d}/{k:05d}", d, f"C{k}", date(2030, 12, 31)) for k in range(3000)] for d in DEPARTMENTS}
    inp = joint.DrawInput(seed=draw.new_seed(), lead=DEPARTMENTS[0], plans=plans, pools=pools,
                          rules=Rules(cap_per_inspector=10_000))
    started = time.perf_counter()
    out = joint.perform(inp)
    draw_s = time.perf_counter() - started
    sampled = sum(len(s.sample) for st in out.strata.values() for s in st)
    return [Figure("joint draw: merge and draw, 5 plans", draw_s, read_s, "s", higher_is_better=False,
                   note=f"{len(rows):,} entities, {sampled:,} sampled by 5 departments, {len(out.targets):,} joint "
                        f"visits with their teams; baseline: reading the population (USCC, credit class) from "
                        f"PostgreSQL")]
