"""Registry figures.

1. Registration events per second and p50/p99 latency from the bureau topic to the department
   notification topics, through the real registry intake (consumer loop, inbox, validation, history,
   rules, notification rows, receipts, entity replica events, outbox relay), beside a bare aiokafka
   consume-and-produce loop forwarding each registration to the same three topics in the same run; each
   pipeline in its own process.
2. Bulk import rows per second for generated entities (1,000,000 at scale 1) through
   ``registry import`` (streaming, row checks and rules in worker processes, COPY, the directory's indexes),
   beside ``psql \\copy`` of the same file into a table with its columns, a primary key and the name
   bigram, division, industry and status indexes (the directory has these and three more: city,
   departments, unpublished).
3. Over that directory, the office's rule maintenance: a rule dry-run (a new rule that moves no entity, and
   one that moves a sixth of them) beside reading every entity the rules could look at (the floor of
   evaluating them all), and re-assessment after publishing a version that moves nobody beside one
   ``UPDATE`` re-stamping the same rows.
"""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path

import asyncpg

from harness import (BenchEnv, Figure, core_alone, correlate_by_key, measure_pipeline, pipeline_figures, psql_copy,
                     random_uscc, service_process)
from jsp_common import clock
from jsp_common.offsets import move_group_to_end
from jsp_common.db import asyncpg_dsn
from jsp_common.envelope import new_envelope
from jsp_common.uscc import with_check_char
from registry.domain import import_rows
from registry.__main__ import SERVICE_DIR

INTAKE = "market.registrations.v1"
RECEIPTS = "market.registration-receipts.v1"
ENTITIES = "registry.entities.v1"

# (division, industry, business scope, licence, responsible department): one per key domain and city.
CASES = [
    ("410105", "6210", "餐饮服务；食品经营（销售预包装食品）", "食品经营许可证", "samr-410100"),
    ("410305", "5169", "危险化学品经营（不带储存设施）；化工产品销售", "危险化学品经营许可证", "mem-410300"),
    ("410204", "4511", "燃气经营；燃气器具安装维修", "燃气经营许可证", "mohurd-410200"),
    ("410702", "6635", "小额贷款；融资担保", "", "finance-410700"),
    ("410502", "4790", "房屋建筑工程施工；住宅室内装饰装修", "建筑业企业资质证书", "mohurd-410500"),
    ("411302", "5251", "药品零售；第二类医疗器械销售", "药品经营许可证", "samr-411300"),
]
TOPICS = sorted({f"dept.{c[4]}.notifications.v1" for c in CASES})
NAMES = ["好味道", "鑫源", "华安", "豫鼎", "中原", "恒通", "金盾", "瑞丰", "宏达", "嘉禾"]



def make_message(routes: dict[str, str]):
    def build(i: int) -> tuple[str, str, bytes]:
        division, industry, scope, licence, dept = CASES[i % len(CASES)]
        code = random_uscc(division)
        routes[code] = f"dept.{dept}.notifications.v1"
        data = {"uscc": code, "name": f"{random.choice(NAMES)}{i}有限公司", "entity_type": "有限责任公司",
                "legal_representative": "张三", "address": f"河南省某市某区某路{i}号", "division_code": division,
                "industry_code": industry, "business_scope": scope,
                "licences": [{"type": licence}] if licence else [], "established_on": clock.today().isoformat(),
                "occurred_at": clock.now().isoformat()}
        env = new_envelope(type="market.entity.registered.v1", source="/bench/bureau", data=data, subject=code)
        route = ",".join((routes[code], RECEIPTS, ENTITIES)).encode()
        return code, code, env.to_bytes(), [("bench-route", route)]
    return build


BENCH_SERVICE = "registry-bench"
BENCH_GROUP = "registry.intake-bench"
_OURS = f'"source":"/jsp/{BENCH_SERVICE}"'.encode()


def correlate_ours(record) -> str | None:
    """A notification issued by the registry under test (its key is the USCC). As cheap as the baseline's
    correlation (no JSON parsing in the measuring process); the source tells it from another registry that
    may consume the same bureau topic on the shared broker."""
    if (b"registry.notification.issued.v1" not in [v for k, v in record.headers or () if k == "ce_type"]
            or _OURS not in record.value):
        return None
    return record.key.decode() if record.key else None



async def _skip_backlog(env: BenchEnv, group: str) -> None:
    """Start the intake group at the end of its topic: earlier messages are not ours to count."""
    await move_group_to_end(group, [INTAKE], bootstrap_servers=env.bootstrap)


async def _measure(env: BenchEnv, routes: dict[str, str], correlate, n: int, cpu_pid: int | None = None):
    build = make_message(routes)
    await measure_pipeline(env, in_topic=INTAKE, out_topics=TOPICS, make_message=build, correlate=correlate,
                           n_throughput=100, n_latency=1)  # warm-up: connections, statement caches
    return await measure_pipeline(env, in_topic=INTAKE, out_topics=TOPICS, make_message=build, correlate=correlate,
                                  n_throughput=n, n_latency=300, latency_rate=100, cpu_pid=cpu_pid)


async def _events(env: BenchEnv, settings) -> list[Figure]:
    n = env.n(5000)
    await _skip_backlog(env, settings.intake_group)
    routes: dict[str, str] = {}
    # Each pipeline runs in its own process, as in production, started and assigned before the clock starts;
    # then a short warm-up and the same message count and pacing for both. The baseline forwards each
    # registration to the same topics the registry writes for it: the department's notification topic, the
    # bureau's receipts and the directory's entity records.
    async with service_process("bench/service_consumers.py", "registry", settings.database_url, settings.service_name,
                               settings.intake_group) as proc:
        ours = await _measure(env, routes, correlate_ours, n, proc.pid)
    async with service_process("bench/bare_loop.py", INTAKE) as proc:
        base = await _measure(env, routes, correlate_by_key, n, proc.pid)
    async with core_alone(env, INTAKE, "registry_bench_core") as proc:  # the floor under the registry's pipeline
        core = await _measure(env, routes, correlate_by_key, n, proc.pid)
    await _skip_backlog(env, settings.intake_group)  # the other pipelines' messages are not the registry's
    return pipeline_figures("registrations notified", "bureau topic → department topic", ours, base,
                            unit="events/s", note=f"{n} registrations, 6 domains and cities; baseline forwards each "
                                                  "to the same 3 topics (notification, receipt, entity record)",
                            paced="100 registrations/s", cpu_per="registration", target_us=120) + [
        Figure("CPU per registration, the messaging core alone, three events", core.cpu_us, base.cpu_us, "µs",
               higher_is_better=False,
               note="the messaging core alone (consumer loop, inbox, outbox, relay) issuing each registration to the "
                    "same 3 topics: no registry logic, no rows; baseline: the bare loop above; the floor under the "
                    "registry's CPU per registration")]


IMPORT_COLUMNS = list(import_rows.COLUMNS)  # the import's CSV columns
def copy_baseline_ddl(table: str) -> str:
    """A table for ``psql \\copy`` to load beside the import: the import's columns, a primary key and the
    directory's name, division, industry and status indexes."""
    return f"""
DROP TABLE IF EXISTS {table};
CREATE TABLE {table} (
    uscc text PRIMARY KEY, name text NOT NULL, entity_type text NOT NULL, legal_representative text,
    address text NOT NULL, division_code text NOT NULL, industry_code text NOT NULL, business_scope text,
    licences text, established_on date NOT NULL, approved_on date, status text, closed_on date,
    registration_authority text);
CREATE INDEX ON {table} (division_code);
CREATE INDEX ON {table} (industry_code);
CREATE INDEX ON {table} (status);
CREATE INDEX ON {table} USING gin (name_bigrams(name));
"""


def generate(path: Path, n: int) -> None:
    rng = random.Random(42)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=IMPORT_COLUMNS, restval="")  # by name: the import's column order may move
        w.writeheader()
        for i in range(n):
            division, industry, scope, licence, _ = CASES[i % len(CASES)]
            w.writerow({"uscc": with_check_char(f"92{division}{i:09d}"),
                        "name": f"{rng.choice(NAMES)}{rng.choice(NAMES)}{i}商贸有限公司", "entity_type": "有限责任公司",
                        "legal_representative": "李四", "address": f"河南省某市某区某路{i}号", "division_code": division,
                        "industry_code": industry, "business_scope": scope, "licences": licence,
                        "established_on": f"20{rng.randint(10, 23)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                        "status": "存续"})


async def _import(env: BenchEnv, settings) -> list[Figure]:
    from registry.usecases.bulk_import import run_import

    n = env.n(1_000_000, minimum=1000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "directory.csv"
        generate(path, n)
        conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
        try:
            await conn.execute("TRUNCATE entities, adjudication_cases, notifications")
            await conn.execute("VACUUM ANALYZE entities")
        finally:
            await conn.close()
        report = await run_import(settings, path, fmt="csv", rejects_path=Path(tmp) / "rejects.csv", progress=False)
        assert report.rejected == 0 and report.inserted == n, report.summary()

        conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
        try:
            await conn.execute(copy_baseline_ddl("copy_baseline"))
        finally:
            await conn.close()
        seconds = psql_copy(settings.database_url, "copy_baseline", IMPORT_COLUMNS, path)
    return [Figure("bulk import rows/s into the directory", n / report.seconds, n / seconds, "rows/s",
                   note=f"{n:,} generated entities into an empty directory; baseline psql \\copy into an "
                          "indexed table")]


async def _rules(settings) -> list[Figure]:
    import time

    from registry.bootstrap import build_deps, drain
    from registry.domain.rules import CompiledRules
    from registry.usecases.reassessment import reassess_pending
    from registry.usecases.rules import dry_run
    from jsp_common.db import Database

    db = Database(settings.database_url)
    reg = build_deps(settings, db, "/bench/registry")
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        await conn.execute("VACUUM ANALYZE entities")
        active = "status = 'active' AND assignment_source <> 'office'"
        started = time.perf_counter()
        n = len(await conn.fetch(f"SELECT uscc, name, division_code, industry_code, business_scope, licences, "
                                 f"departments FROM entities WHERE {active}"))
        read_all = time.perf_counter() - started

        async with db.transaction() as session:
            current = await reg.rules.get(session)
            seconds = {}
            for label, keyword in (("none", "直播带货"), ("a sixth", "化工产品销售")):
                proposed = CompiledRules(0, current.rules + CompiledRules.from_json(0, [
                    {"id": "bench-extra", "domain": "other", "agencies": ["mofcom"],
                     "match": {"scope_keywords": [keyword]}}]).rules)
                started = time.perf_counter()
                await dry_run(session, current, proposed, limit=100)
                seconds[label] = time.perf_counter() - started

        version = await conn.fetchval(
            "INSERT INTO rule_sets (version, rules, note, created_by, reassess) SELECT max(version) + 1, "
            "(SELECT rules FROM rule_sets ORDER BY version DESC LIMIT 1), 'bench: same rules', 'bench', 'pending' "
            "FROM rule_sets RETURNING version")
        reg.rules.invalidate()
        started = time.perf_counter()
        await drain(reassess_pending, reg)
        reassessed = time.perf_counter() - started
        started = time.perf_counter()
        status = await conn.execute(f"UPDATE entities SET rule_version = $1 WHERE {active}", version + 1)
        restamped = time.perf_counter() - started
        assert int(status.split()[-1]) == n
    finally:
        await conn.close()
        await db.dispose()
    note = f"{n:,} entities"
    return [
        Figure("rule dry-run, a new rule that moves no entity", 1000 * seconds["none"], 1000 * read_all, "ms",
               higher_is_better=False, note=f"{note}; baseline: reading every entity the rules look at"),
        Figure("rule dry-run, a new rule that moves a sixth", 1000 * seconds["a sixth"], 1000 * read_all, "ms",
               higher_is_better=False, note=f"{note}; same baseline"),
        Figure("re-assessment after a rule change that moves nobody", n / reassessed, n / restamped, "entities/s",
               note=f"{note}; baseline: one UPDATE re-stamping the same rows"),
    ]


async def run(env: BenchEnv) -> list[Figure]:
    from jsp_common.migrations import upgrade

    from registry.settings import Settings

    # Its own consumer group and source: a registry serving on the same broker neither shares the bureau
    # topic's partitions with the one measured here nor has its notifications counted.
    settings = Settings(database_url=f"{env.postgres_url.rstrip('/')}/registry_bench", log_level="WARNING",
                        outbox_poll_interval_s=0.05, service_name=BENCH_SERVICE, intake_group=BENCH_GROUP)
    await upgrade(SERVICE_DIR, settings.database_url)  # the service's own migrations
    return [*await _events(env, settings), *await _import(env, settings), *await _rules(settings)]
