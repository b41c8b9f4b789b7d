"""Bulk import of an existing directory (CSV or JSON Lines, millions of rows): ``python -m registry import``.

Streams the file, checks every row with the same primitives as the bureau's events (USCC check
character, Henan division, GB/T 4754 class, dates), decides responsibility with the rule set in force,
COPYs good rows batch by batch into a temporary staging table and merges each batch into ``entities``
with one statement (checking the next batch overlaps with loading this one).

* Re-runnable: the merge is an upsert by USCC that changes nothing when the row is identical, and never
  overwrites a record whose last change is newer than the row's (its 核准日期, else its 成立日期).
* Rejected rows go to a CSV file with the line number, field and reason; every good row is loaded.
* Imported entities are *not* notified to departments (an existing directory is already supervised)
  and are not written to the per-entity history; the run is one entry in ``decisions``. Rows no rule
  matches wait in the office's adjudication queue. Their ``registry.entity.changed.v1`` events are
  published afterwards by the service's replicate job (records with ``published_version < version``).
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime
from pathlib import Path
from typing import Any, Iterator

import asyncpg

from jsp_common import clock, divisions, industries, uscc as uscc_mod
from jsp_common.db import asyncpg_dsn
from jsp_common.events.registry import CLOCK_SKEW, EARLIEST_DATE

from .adapters import repository as repo
from .domain.rules import CompiledRules, Facts
from .settings import Settings

COLUMNS = ("uscc", "name", "entity_type", "legal_representative", "address", "division_code", "industry_code",
           "business_scope", "licences", "established_on", "approved_on", "status", "closed_on",
           "registration_authority")
REQUIRED = ("uscc", "name", "entity_type", "address", "division_code", "industry_code", "established_on")
STATUS = {"active": "active", "存续": "active", "在业": "active", "开业": "active", "在营": "active", "": "active",
          "deregistered": "deregistered", "注销": "deregistered", "revoked": "revoked", "吊销": "revoked"}
STAGING_COLUMNS = ("line", "uscc", "name", "entity_type", "legal_representative", "address", "division_code",
                   "city_code", "industry_code", "business_scope", "licences", "status", "established_on",
                   "approved_on", "closed_on", "registration_authority", "departments", "domains", "matched_rules",
                   "assignment_state", "rule_version", "last_changed_at")

STAGING_DDL = """
CREATE TEMP TABLE import_staging (
    line bigint, uscc text, name text, entity_type text, legal_representative text, address text,
    division_code text, city_code text, industry_code text, business_scope text, licences jsonb, status text,
    established_on date, approved_on date, closed_on date, registration_authority text, departments text[],
    domains text[], matched_rules text[], assignment_state text, rule_version int, last_changed_at timestamptz
) ON COMMIT PRESERVE ROWS
"""

_RECORD = ("name", "entity_type", "legal_representative", "address", "division_code", "city_code",
           "industry_code", "business_scope", "licences", "status", "established_on", "approved_on", "closed_on",
           "registration_authority")

MERGE = f"""
WITH x AS (
    SELECT DISTINCT ON (uscc) * FROM import_staging ORDER BY uscc, last_changed_at DESC, line DESC
), up AS (
    INSERT INTO entities AS e (uscc, {", ".join(_RECORD)}, departments, domains, matched_rules, assignment_state,
                               assignment_source, rule_version, version, published_version, last_changed_at,
                               created_at, updated_at)
    SELECT uscc, {", ".join(_RECORD)}, departments, domains, matched_rules, assignment_state, 'rules', rule_version,
           1, 0, last_changed_at, now(), now()
    FROM x
    ON CONFLICT (uscc) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _RECORD)},
        departments = CASE WHEN e.assignment_source = 'office' THEN e.departments ELSE EXCLUDED.departments END,
        domains = CASE WHEN e.assignment_source = 'office' THEN e.domains ELSE EXCLUDED.domains END,
        matched_rules = CASE WHEN e.assignment_source = 'office' THEN e.matched_rules ELSE EXCLUDED.matched_rules END,
        assignment_state = CASE WHEN e.assignment_source = 'office' THEN e.assignment_state
                                ELSE EXCLUDED.assignment_state END,
        rule_version = EXCLUDED.rule_version,
        version = e.version + 1,
        last_changed_at = EXCLUDED.last_changed_at,
        updated_at = now()
    WHERE e.last_changed_at <= EXCLUDED.last_changed_at
      AND ({" OR ".join(f"e.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in _RECORD)})
    RETURNING e.uscc, e.assignment_state, cardinality(e.departments) AS n, (xmax = 0) AS inserted
), cases AS (
    INSERT INTO adjudication_cases (id, uscc, reason, status, candidate_departments, detail, opened_at, opened_by)
    SELECT gen_random_uuid()::text, uscc, 'no_rule_matched', 'open', '{{}}', 'no responsibility rule matches (import)',
           now(), $1
    FROM up WHERE assignment_state = 'adjudication' AND n = 0
    ON CONFLICT (uscc) WHERE status = 'open' DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM up WHERE inserted) AS inserted,
       (SELECT count(*) FROM up WHERE NOT inserted) AS updated,
       (SELECT count(*) FROM x) AS distinct_rows,
       (SELECT count(*) FROM cases) AS cases
"""


class RowError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


@dataclass
class ImportReport:
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    adjudication_cases: int = 0
    seconds: float = 0.0
    rejects_path: Path | None = None

    def summary(self) -> str:
        rate = self.read / self.seconds if self.seconds else 0
        return (f"read {self.read} rows, loaded {self.loaded} ({self.inserted} new, {self.updated} changed, "
                f"{self.unchanged} unchanged or older than the directory), rejected {self.rejected}"
                f"{f' (see {self.rejects_path})' if self.rejected else ''}; {self.adjudication_cases} sent to "
                f"adjudication; {self.seconds:.1f}s, {rate:,.0f} rows/s")


# ------------------------------------------------------------------ reading
def _progress(total: int, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, unit="B", unit_scale=True, desc="import", disable=not enabled, mininterval=0.5)


def _lines(fh, bar) -> Iterator[str]:
    for raw in fh:
        bar.update(len(raw))
        yield raw.decode("utf-8-sig")


def read_rows(path: Path, fmt: str, bar) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, error) for each record of the file."""
    with path.open("rb") as fh:
        if fmt == "csv":
            reader = csv.DictReader(_lines(fh, bar))
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise SystemExit(f"{path}: the header lacks the columns {', '.join(missing)}")
            for row in reader:
                yield reader.line_num, row, None
        else:
            for n, line in enumerate(_lines(fh, bar), start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    yield n, None, f"not JSON: {exc}"
                    continue
                yield n, obj if isinstance(obj, dict) else None, None if isinstance(obj, dict) else "not an object"


# ------------------------------------------------------------------ checking
class RowChecker:
    """The same checks as the bureau's event contracts, without building a pydantic model per row."""

    def __init__(self, rules: CompiledRules, today: date):
        self.rules, self.latest = rules, today + CLOCK_SKEW
        self._divisions: dict[str, str | None] = {}
        self._industries: dict[str, str] = {}
        self._assign: dict[tuple, tuple] = {}

    def _division(self, code: str) -> tuple[str, str | None]:
        if code not in self._divisions:
            try:
                divisions.get(code)
            except divisions.UnknownDivision as exc:
                raise RowError("division_code", str(exc)) from None
            try:
                self._divisions[code] = divisions.city_of(code).code
            except ValueError:
                self._divisions[code] = None
        return code, self._divisions[code]

    def _industry(self, code: str) -> str:
        got = self._industries.get(code)
        if got is None:
            try:
                got = self._industries[code] = industries.validate_class(code)
            except industries.UnknownIndustry as exc:
                raise RowError("industry_code", str(exc)) from None
        return got

    def _date(self, name: str, value: Any, required: bool = False) -> date | None:
        if value in (None, ""):
            if required:
                raise RowError(name, "field required")
            return None
        try:
            d = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
        except ValueError:
            raise RowError(name, f"not a date (YYYY-MM-DD): {value!r}") from None
        if d < EARLIEST_DATE:
            raise RowError(name, f"date {d.isoformat()} is before {EARLIEST_DATE.isoformat()}")
        if d > self.latest.date():
            raise RowError(name, f"date {d.isoformat()} is in the future")
        return d

    @staticmethod
    def _licences(value: Any) -> list[dict]:
        if value in (None, ""):
            return []
        if isinstance(value, list):
            items = value
        elif isinstance(value, str) and value.lstrip().startswith("["):
            try:
                items = json.loads(value)
            except ValueError:
                raise RowError("licences", "not a JSON array") from None
        else:
            items = [{"type": t.strip()} for t in str(value).split(";") if t.strip()]
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not str(item.get("type") or "").strip():
                raise RowError(f"licences.{i}.type", "field required")
            out.append({k: item[k] for k in ("type", "number", "issued_on", "valid_until") if item.get(k)})
        return out

    def check(self, line: int, row: dict[str, Any]) -> tuple:
        """The staging record for a good row; raise :class:`RowError` for a bad one."""
        get = row.get
        for name in REQUIRED:
            if get(name) in (None, ""):
                raise RowError(name, "field required")
        try:
            code = uscc_mod.validate(str(get("uscc")))
        except uscc_mod.InvalidUSCC as exc:
            raise RowError("uscc", str(exc)) from None
        name = str(get("name")).strip()
        if len(name) > 200:
            raise RowError("name", "at most 200 characters")
        division, city = self._division(str(get("division_code")).strip())
        industry = self._industry(str(get("industry_code")))
        established = self._date("established_on", get("established_on"), required=True)
        approved = self._date("approved_on", get("approved_on"))
        if approved and approved < established:
            raise RowError("approved_on", f"approved_on {approved} is before established_on {established}")
        status = STATUS.get(str(get("status") or "").strip().lower())
        if status is None:
            raise RowError("status", f"unknown status {get('status')!r} (active, deregistered, revoked, 存续, 注销, 吊销)")
        closed = self._date("closed_on", get("closed_on"))
        if closed and closed < established:
            raise RowError("closed_on", f"closed_on {closed} is before established_on {established}")
        licences = self._licences(get("licences"))
        scope = str(get("business_scope") or "")
        key = (division, industry, scope, tuple(lic["type"] for lic in licences))
        assigned = self._assign.get(key)
        if assigned is None:
            if len(self._assign) > 200_000:
                self._assign.clear()
            a = self.rules.evaluate(Facts(division, industry, scope, key[3]))
            assigned = self._assign[key] = (list(a.departments), list(a.domains), list(a.matched_rules),
                                            "assigned" if a.departments else "adjudication")
        changed_at = datetime.combine(approved or established, dtime.min, tzinfo=clock.TZ)
        return (line, code, name, str(get("entity_type")).strip(), (get("legal_representative") or None),
                str(get("address")).strip(), division, city, industry, scope,
                json.dumps(licences, ensure_ascii=False), status, established, approved, closed,
                (get("registration_authority") or None), *assigned, self.rules.version, changed_at)


# ------------------------------------------------------------------ the run
_DONE = object()


def _check_file(path: Path, fmt: str, checker: RowChecker, rejects, report: ImportReport, bar, batch_size: int,
                put) -> None:
    """Runs in a thread: read and check rows, hand full batches to the loader, write rejects."""
    batch: list[tuple] = []
    for line, row, error in read_rows(path, fmt, bar):
        report.read += 1
        if row is None:
            rejects.writerow([line, "", "(row)", error, ""])
            report.rejected += 1
            continue
        try:
            batch.append(checker.check(line, row))
        except RowError as exc:
            rejects.writerow([line, row.get("uscc") or "", exc.field, exc.reason,
                              json.dumps(row, ensure_ascii=False, default=str)])
            report.rejected += 1
            continue
        if len(batch) >= batch_size:
            put(batch)
            batch = []
    if batch:
        put(batch)


async def run_import(settings: Settings, path: Path, *, fmt: str, rejects_path: Path, batch_size: int = 20000,
                     progress: bool = True, actor: str = "import") -> ImportReport:
    """Checking runs in a thread while the previous batch is COPYed and merged, so the two overlap."""
    started = time.perf_counter()
    report = ImportReport(rejects_path=rejects_path)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=2)
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        rules = await _rules(conn, settings)
        checker = RowChecker(rules, clock.now())
        await conn.execute(STAGING_DDL)
        with rejects_path.open("w", encoding="utf-8", newline="") as rf, \
                _progress(path.stat().st_size, progress) as bar:
            rejects = csv.writer(rf)
            rejects.writerow(["line", "uscc", "field", "reason", "row"])

            def put(batch):
                asyncio.run_coroutine_threadsafe(queue.put(batch), loop).result()

            def produce():
                try:
                    _check_file(path, fmt, checker, rejects, report, bar, batch_size, put)
                finally:
                    asyncio.run_coroutine_threadsafe(queue.put(_DONE), loop).result()

            reader = loop.run_in_executor(None, produce)
            while (batch := await queue.get()) is not _DONE:
                await conn.copy_records_to_table("import_staging", records=batch, columns=STAGING_COLUMNS)
                async with conn.transaction():
                    merged = await conn.fetchrow(MERGE, actor)
                    await conn.execute("TRUNCATE import_staging")
                report.loaded += len(batch)
                report.inserted += merged["inserted"]
                report.updated += merged["updated"]
                report.adjudication_cases += merged["cases"]
                report.unchanged += merged["distinct_rows"] - merged["inserted"] - merged["updated"]
            await reader
        await conn.execute(
            "INSERT INTO decisions (uscc, action, actor, at, details) VALUES (NULL, 'directory_imported', $1, "
            "now(), $2::jsonb)", actor, json.dumps({
                "file": str(path), "read": report.read, "loaded": report.loaded, "rejected": report.rejected,
                "inserted": report.inserted, "updated": report.updated, "rule_version": rules.version}))
        await conn.execute("DROP TABLE import_staging")
    finally:
        await conn.close()
    report.seconds = time.perf_counter() - started
    return report


async def _rules(conn: asyncpg.Connection, settings: Settings) -> CompiledRules:
    row = await conn.fetchrow("SELECT version, rules FROM rule_sets ORDER BY version DESC LIMIT 1")
    if row is None:
        starter = repo.starter_rules(settings.starter_rules_file)
        await conn.execute("INSERT INTO rule_sets (version, rules, note, created_by) VALUES (1, $1::jsonb, $2, "
                           "'system') ON CONFLICT DO NOTHING", json.dumps(starter["rules"], ensure_ascii=False),
                           starter.get("note", "starter rule set"))
        row = await conn.fetchrow("SELECT version, rules FROM rule_sets ORDER BY version DESC LIMIT 1")
    rules = row["rules"]
    return CompiledRules.from_json(row["version"], json.loads(rules) if isinstance(rules, str) else rules)
