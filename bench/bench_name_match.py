"""The clues intake's name matching at directory scale: a work order without a USCC is matched to the business
by name and place, among the replica's entities of its city that share most of the name's two-character pieces
(``clues.adapters.directory.entity_candidates``, 50 candidates each, a poll's names in one statement). The
clues replica is filled with 1,000,000 generated entities (names as the directory bench makes them, a fifth in
Zhengzhou) and 100 of their names are matched in one poll, beside looking the same 100 entities up by USCC
(the path of a work order that carries one), in the same run. No target is set; the figure says what the name
path costs as the directory grows (Henan's holds about ten million)."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path

import asyncpg

from bench_directory import name_of
from clues.adapters import directory
from clues.domain.text import search_grams
from harness import BenchEnv, Figure
from jsp_common import divisions
from jsp_common.db import Database, asyncpg_dsn
from jsp_common.migrations import upgrade
from jsp_common.uscc import with_check_char

SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "clues"
ASKED = 100
COLUMNS = ["uscc", "name", "address", "division_code", "city_code", "status", "responsible_departments", "version",
           "changed_at", "name_grams"]


def _replica_rows(n: int, rng: random.Random) -> tuple[bytes, list[tuple[str, str, str]]]:
    """COPY text of ``n`` replica rows, and each row's (USCC, name, city); a fifth in the first city (Zhengzhou),
    the rest spread over the others, each in its city's first district (the city itself when it has none)."""
    places = [(c.code, next(iter(divisions.children(c.code)), c).code) for c in divisions.cities()]
    out, made = io.StringIO(), []
    for i in range(n):
        city, division = places[0] if i % 5 == 0 else places[1 + i % (len(places) - 1)]
        uscc, name = with_check_char(f"92{division}{i:09d}"), name_of(rng)
        made.append((uscc, name, city))
        out.write(f"{uscc}\t{name}\t某路{i}号\t{division}\t{city}\tactive\t{{samr-410100}}\t1\t"
                  f"2026-01-01 00:00:00+08\t{{{','.join(search_grams(name))}}}\n")
    return out.getvalue().encode(), made


async def run(env: BenchEnv) -> list[Figure]:
    n = env.n(1_000_000)
    db_url = f"{env.postgres_url.rstrip('/')}/clues_name_match_bench"
    await upgrade(SERVICE_DIR, db_url)
    rng = random.Random(3)
    data, made = _replica_rows(n, rng)
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        await conn.execute("TRUNCATE replica_entities")
        await conn.copy_to_table("replica_entities", source=io.BytesIO(data), columns=COLUMNS)
        await conn.execute("ANALYZE replica_entities")
    finally:
        await conn.close()
    asked = rng.sample(made, ASKED)
    db = Database(db_url)
    try:
        async with db.transaction() as session:  # warm: the statements prepared, the index read once
            await directory.entity_candidates(session, [(search_grams(asked[0][1]), asked[0][2])], limit=50)
            await directory.entities_by_uscc(session, [asked[0][0]])
        started = time.perf_counter()
        async with db.transaction() as session:
            found = await directory.entity_candidates(session, [(search_grams(name), city) for _, name, city in asked],
                                                      limit=50)
        by_name = (time.perf_counter() - started) * 1000 / ASKED
        started = time.perf_counter()
        async with db.transaction() as session:
            await directory.entities_by_uscc(session, [uscc for uscc, _, _ in asked])
        by_uscc = (time.perf_counter() - started) * 1000 / ASKED
    finally:
        await db.dispose()
    missed = sum(1 for (uscc, _, _), cands in zip(asked, found) if uscc not in {c["uscc"] for c in cands})
    day = 65_000 * 0.35 * by_name / 1000 / 3600
    return [Figure(f"clues: a work order's name-match candidates among {n:,} entities, per name (a poll of {ASKED})",
                   by_name, by_uscc, "ms", higher_is_better=False,
                   note=f"baseline: the same entities looked up by USCC; {missed} of {ASKED} names lacked their own "
                        f"entity among the candidates; at this cost a Henan day's work orders without a USCC "
                        f"(about 35% of 65,000) take {day:.1f} hours of database time")]
