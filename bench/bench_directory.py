"""The directory at provincial scale (10,000,000 generated entities at scale 1).

1. ``python -m registry import`` of the generated file into an empty directory, in its own process as an
   operator runs it (row checks in its worker processes, COPY, the directory's indexes built after), beside
   ``psql \\copy`` of the same file into a table with the same columns, a primary key and the name, division,
   industry and status indexes; the importer's peak memory is the sum of the resident memory of its process and
   its workers, sampled every 0.2 s.
2. Over that directory, entity lookups by USCC through the registry's own read (``Database.first`` on a pooled
   connection, outside a transaction, as ``GET /entities/{uscc}`` runs it) beside a bare asyncpg ``fetchrow`` of
   the same rows: p99 of 2,000.
3. Name searches as the office makes them (a page of 50 and the count, ``GET /entities?name=``): two-character
   names (a trade word in one name of seven, a brand in one of ten, a rare pair), four characters, each 20
   times: p99, beside reading every name for the substring once (the search without its index).
"""

from __future__ import annotations

import asyncio
import csv
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from bench_registry import copy_baseline_ddl
from harness import ROOT, BenchEnv, Figure, percentile, psql_path, rss_mib
from jsp_common.db import Database, asyncpg_dsn
from jsp_common.uscc import with_check_char
from registry.domain import import_rows
from registry.__main__ import SERVICE_DIR

COLUMNS = list(import_rows.COLUMNS)
# (division, industry, business scope, licence)
CASES = [
    ("410105", "6210", "餐饮服务；食品经营（销售预包装食品）", "食品经营许可证"),
    ("410305", "5169", "危险化学品经营（不带储存设施）；化工产品销售", "危险化学品经营许可证"),
    ("410204", "4511", "燃气经营；燃气器具安装维修", "燃气经营许可证"),
    ("410502", "4790", "房屋建筑工程施工；住宅室内装饰装修", "建筑业企业资质证书"),
    ("411302", "5251", "药品零售；第二类医疗器械销售", "药品经营许可证"),
]
BRANDS = ["好味道", "鑫源", "华安", "豫鼎", "中原", "恒通", "金盾", "瑞丰", "宏达", "嘉禾"]
TRADES = ["商贸", "科技", "餐饮管理", "建筑工程", "医药", "燃气", "化工"]
# the characters of names' middle part: pairs of them are the rare two-character names
POOL = ("安邦宝博昌辰诚达德鼎东多丰福富冠广国海瀚浩和恒弘鸿华辉汇吉佳嘉健金锦晶景久聚骏凯康坤朗乐力立利联良林隆龙茂美"
        "民明铭南宁鹏平祺启乾强勤青庆荣瑞润森山尚盛胜晟仕顺思泰腾天通同拓万旺威伟文祥翔鑫信星兴旭轩雅亚阳耀业一宜"
        "益毅银英盈永友宇裕源远悦越云泽展兆正之志智中众卓资梓")
def name_of(rng: random.Random) -> str:
    return f"{rng.choice(BRANDS)}{rng.choice(POOL)}{rng.choice(POOL)}{rng.choice(TRADES)}有限公司"


def generate(path: Path, n: int) -> list[str]:
    """The file, and 2,000 of its USCCs (for the lookups)."""
    rng, sample = random.Random(7), []
    every = max(1, n // 2000)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, restval="")
        w.writeheader()
        for i in range(n):
            division, industry, scope, licence = CASES[i % len(CASES)]
            uscc = with_check_char(f"92{division}{i:09d}")
            if i % every == 0:
                sample.append(uscc)
            w.writerow({"uscc": uscc, "name": name_of(rng), "entity_type": "有限责任公司", "legal_representative": "李四",
                        "address": f"河南省某市某区某路{i % 9999}号", "division_code": division,
                        "industry_code": industry, "business_scope": scope, "licences": licence,
                        "established_on": f"20{rng.randint(10, 23)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                        "status": "存续"})
    return sample


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants now (MiB), from /proc."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            children = open(f"/proc/{p}/task/{p}/children").read().split()
        except OSError:  # gone meanwhile
            continue
        rss = rss_mib(p)
        total += 0.0 if math.isnan(rss) else rss
        todo.extend(int(c) for c in children)
    return total


async def _sampled(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Seconds, peak resident MiB (the process and its children, every 0.2 s) and output of ``cmd``."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, text=True)
        started, peak = time.perf_counter(), 0.0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mib(proc.pid))
            await asyncio.sleep(0.2)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {text[-500:]}")
    return seconds, peak, text


async def _lookups(url: str, sample: list[str]) -> tuple[list[float], list[float]]:
    from registry.adapters import entities as records

    db, conn = Database(url), await asyncpg.connect(asyncpg_dsn(url))
    ours, bare = [], []
    try:
        for uscc in sample:
            started = time.perf_counter()
            row = await records.entity_row(db, uscc)
            ours.append(1000 * (time.perf_counter() - started))
            assert row is not None
            started = time.perf_counter()
            await conn.fetchrow("SELECT * FROM entities WHERE uscc = $1", uscc)
            bare.append(1000 * (time.perf_counter() - started))
    finally:
        await conn.close()
        await db.dispose()
    return ours, bare


async def _searches(url: str, queries: list[str], rounds: int = 20) -> tuple[list[float], float, dict]:
    from registry.bootstrap import build_deps
    from registry.settings import Settings
    from registry.usecases import directory

    db, conn = Database(url), await asyncpg.connect(asyncpg_dsn(url))
    deps = build_deps(Settings(database_url=url), db, "/bench/registry")
    times, found = [], {}
    try:
        for _ in range(rounds):
            for q in queries:
                started = time.perf_counter()
                async with db.transaction() as session:
                    total, capped, _ = await directory.search(deps, session, limit=50, offset=0, name=q)
                times.append(1000 * (time.perf_counter() - started))
                found[q] = f"{total:,}{'+' if capped else ''}"
        started = time.perf_counter()
        await conn.fetchval("SELECT count(*) FROM entities WHERE strpos(name, $1) > 0", queries[0])
        scan = 1000 * (time.perf_counter() - started)
    finally:
        await conn.close()
        await db.dispose()
    return times, scan, found


async def run(env: BenchEnv) -> list[Figure]:
    from jsp_common.migrations import upgrade

    n = env.n(10_000_000, minimum=10_000)
    url = f"{env.postgres_url.rstrip('/')}/registry_directory_bench"
    await upgrade(SERVICE_DIR, url)
    rng = random.Random(11)
    pair = rng.choice(POOL) + rng.choice(POOL)
    queries = ["科技", "华安", pair, f"{pair}{TRADES[0]}"]
    with tempfile.TemporaryDirectory(dir=ROOT / ".local") as tmp:
        path = Path(tmp) / "directory.csv"
        sample = await asyncio.to_thread(generate, path, n)
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute("TRUNCATE entities, adjudication_cases, notifications")
        finally:
            await conn.close()
        seconds, peak, report = await _sampled(
            [sys.executable, "-m", "registry", "import", str(path), "--no-progress",
             "--rejects", str(path.with_suffix(".rejects.csv"))], env={**os.environ, "JSP_REGISTRY_DATABASE_URL": url})
        if f"loaded {n} " not in report or "rejected 0;" not in report:
            raise RuntimeError(f"the import did not load every row: {report[-500:]}")
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute(copy_baseline_ddl("directory_copy_baseline"))
        finally:
            await conn.close()
        copy = (f"\\copy directory_copy_baseline ({', '.join(COLUMNS)}) FROM '{path}' "
                "WITH (FORMAT csv, HEADER true)")
        copy_seconds, copy_peak, _ = await _sampled([psql_path(), asyncpg_dsn(url), "-v", "ON_ERROR_STOP=1", "-q",
                                                      "-c", copy])
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute("DROP TABLE directory_copy_baseline")
        finally:
            await conn.close()
    ours, bare = await _lookups(url, sample)
    times, scan, found = await _searches(url, queries)
    searched = ", ".join(f"{q} {m}" for q, m in found.items())
    return [
        Figure("directory import rows/s (python -m registry import)", n / seconds, n / copy_seconds, "rows/s",
               note=f"{n:,} generated entities into an empty directory, own process; baseline psql \\copy into "
                    f"an indexed table; target >= 0.7"),
        Figure("directory import: the importer's peak resident memory", peak, copy_peak, "MiB",
               higher_is_better=False, note="its process and workers, sampled every 0.2 s; baseline: psql \\copy's "
                                            "process; target < 500 MB (477 MiB)"),
        Figure("entity lookup by USCC, p99", percentile(ours, 99), percentile(bare, 99), "ms", higher_is_better=False,
               note=f"{len(ours):,} lookups over {n:,} entities, the registry's read (Database.first); baseline "
                    "asyncpg fetchrow; target < 10 ms"),
        Figure("name search with its count, p99", percentile(times, 99), scan, "ms", higher_is_better=False,
               note=f"a page of 50 and the count, {len(times)} searches ({searched}); baseline: reading every "
                    f"name once for '{queries[0]}'; target < 300 ms"),
    ]
