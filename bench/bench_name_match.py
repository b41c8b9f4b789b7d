"""The clues intake's name matching at directory scale: a work order without a USCC is matched to the business
by name and place among the replica's entities of its city sharing the name's two-character pieces
(``clues.usecases.matching.match_by_name``: first by the name's distinctive pieces, again by all of them where that
does not settle it; 50 candidates each, a poll's names in one statement per look). The clues replica is filled
with 1,000,000 generated entities (names as the directory bench makes them, a fifth in Zhengzhou) and analysed;
100 of their names (with their addresses) and 25 names of businesses not in the directory are matched in one
poll (each way twice, the second timed, its pages in the cache), beside looking the same 100 entities up by USCC
(the path of a work order that carries one) and beside the look-up by every piece at once (the matching before the
first look), in the same run. No target is set; the figures say what the name path costs as the directory grows
(Henan's holds about ten million)."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path
from types import SimpleNamespace

import asyncpg

from bench_directory import POOL, TRADES, name_of
from clues.adapters import directory
from clues.settings import Settings
from clues.usecases.matching import match_by_name
from harness import BenchEnv, Figure
from jsp_common import divisions
from jsp_common.cached import Refreshing
from jsp_common.db import Database, asyncpg_dsn
from jsp_common.migrations import upgrade
from jsp_common.uscc import with_check_char

SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "clues"
ASKED, ABSENT = 100, 25
COLUMNS = ["uscc", "name", "address", "division_code", "city_code", "status", "responsible_departments", "version",
           "changed_at", "name_grams", "place_grams"]


def _replica_rows(n: int, rng: random.Random) -> tuple[bytes, list[tuple[str, str, str, str]]]:
    """COPY text of ``n`` replica rows, and each row's (USCC, name, address, division); a fifth in the first
    city (Zhengzhou), the rest spread over the others, each in its city's first district (the city itself when it
    has none)."""
    places = [(c.code, next(iter(divisions.children(c.code)), c).code) for c in divisions.cities()]
    out, made = io.StringIO(), []
    for i in range(n):
        city, division = places[0] if i % 5 == 0 else places[1 + i % (len(places) - 1)]
        uscc, name, address = with_check_char(f"92{division}{i:09d}"), name_of(rng), f"某路{i}号"
        made.append((uscc, name, address, division))
        grams = directory.name_columns(name, city)
        out.write(f"{uscc}\t{name}\t{address}\t{division}\t{city}\tactive\t{{samr-410100}}\t1\t"
                  f"2026-01-01 00:00:00+08\t{{{','.join(grams['name_grams'])}}}\t{{{','.join(grams['place_grams'])}}}\n")
    return out.getvalue().encode(), made


async def _match(db: Database, settings: Settings, shares: dict, wanted: list) -> tuple[float, list]:
    """Milliseconds per name of matching ``wanted`` in one poll (the pieces' shares as the service reads
    them), and the matches."""
    async def given(_session) -> dict:
        return shares

    deps = SimpleNamespace(settings=settings, name_gram_shares=Refreshing(given, 3600))
    started = time.perf_counter()
    async with db.transaction() as session:
        found = await match_by_name(deps, session, wanted)  # type: ignore[arg-type] - needs settings and shares
    return (time.perf_counter() - started) * 1000 / len(wanted), found


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
        # As a replica long in service: its rows vacuumed (no hint bits left to write on first read), analysed,
        # and written out.
        await conn.execute("VACUUM ANALYZE replica_entities")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    asked = rng.sample(made, ASKED)
    # Businesses not in the directory: a brand no entity has, the trade words every city is full of.
    absent = [(f"新月{rng.choice(POOL)}{rng.choice(POOL)}{rng.choice(TRADES)}有限公司", f"某街{k}号", asked[k][3])
              for k in range(ABSENT)]
    present = [(name, address, division) for _, name, address, division in asked]
    settings, db = Settings(), Database(db_url)
    timed: dict[tuple[str, bool], tuple[float, list]] = {}
    try:
        async with db.transaction() as session:
            shares = await directory.name_gram_shares(session)
            await directory.entities_by_uscc(session, [asked[0][0]])  # warm: the statements prepared
        for _ in range(2):  # the second time of each timed, the pages it reads in the cache (a busy service's state)
            for group, wanted in (("present", present), ("absent", absent)):
                timed[group, False] = await _match(db, settings, {}, wanted)  # no statistics: every piece at once
                timed[group, True] = await _match(db, settings, shares, wanted)
        started = time.perf_counter()
        async with db.transaction() as session:
            await directory.entities_by_uscc(session, [uscc for uscc, _, _, _ in asked])
        by_uscc = (time.perf_counter() - started) * 1000 / ASKED
    finally:
        await db.dispose()
    (by_name, found), (absent_ms, absent_found) = timed["present", True], timed["absent", True]
    missed = sum(1 for (uscc, *_), (entity, _, _) in zip(asked, found) if entity is None or entity["uscc"] != uscc)
    wrong = sum(1 for entity, _, _ in absent_found if entity is not None)
    changed = sum(1 for g in ("present", "absent") for a, b in zip(timed[g, True][1], timed[g, False][1])
                  if (a[0] or {}).get("uscc") != (b[0] or {}).get("uscc"))
    mean = (ASKED * by_name + ABSENT * absent_ms) / (ASKED + ABSENT)
    day = 65_000 * 0.35 * mean / 1000 / 3600
    return [Figure(f"clues: matching a work order's business by name among {n:,} entities, per name "
                   f"(a poll of {ASKED} names of entities)", by_name, by_uscc, "ms", higher_is_better=False,
                   note=f"baseline: the same entities looked up by USCC; looked up by every piece at once "
                        f"{timed['present', False][0]:.1f} ms; {missed} of {ASKED} not matched to their own entity"),
            Figure(f"clues: the same for {ABSENT} businesses not in the directory, per name", absent_ms,
                   timed["absent", False][0], "ms", higher_is_better=False,
                   note=f"baseline: looked up by every piece at once; {wrong} of {ABSENT} matched to another "
                        f"entity; {changed} of {ASKED + ABSENT} matches differ between the two ways; at these costs "
                        f"a Henan day's work orders without a USCC (about 35% of 65,000, a fifth of them about "
                        f"businesses not in the directory) take {day:.2f} hours of database time")]
