"""Bulk import of an existing directory (CSV or JSON Lines, millions of rows): ``python -m registry import``.

Streams the file in chunks to a pool of worker processes that check every row with the same primitives
as the bureau's events (USCC check character, Henan division, GB/T 4754 class, dates) and decide
responsibility with the rule set in force; their good rows, already in COPY text format, stream through
one ``COPY`` into a temporary (unlogged, unindexed) staging table while the next chunks are checked.
One set-based statement then merges the staging table into ``entities``.

* Re-runnable: the merge is an upsert by USCC that changes nothing when the row is identical, and never
  overwrites a record whose last change is newer than the row's (its 核准日期, else its 成立日期); of
  several lines for one entity the latest (then the last) wins.
* The first load (an empty directory) COPYs straight into ``entities`` with its secondary indexes dropped
  and builds them afterwards, in one transaction (building an index is several times cheaper than
  maintaining it row by row); so does the merge of a load bringing at least as many new entities as the
  directory has. The directory is locked while it runs.
* Rejected rows go to a CSV file with the line number, field and reason; every good row is loaded.
* Imported entities are *not* notified to departments (an existing directory is already supervised)
  and are not written to the per-entity history; the run is one entry in ``decisions``. Rows no rule
  matches wait in the office's adjudication queue. Their ``registry.entity.changed.v1`` events are
  published afterwards by the service's replicate job (records with ``published_version < version``).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time as dtime
from itertools import islice
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import asyncpg

from jsp_common import clock, divisions, industries, uscc as uscc_mod
from jsp_common.db import Database, asyncpg_dsn
from jsp_common.events.registry import CLOCK_SKEW, EARLIEST_DATE

from .adapters import repository as repo
from .domain.rules import CompiledRules, Facts
from .settings import Settings

# The columns of an import file (CSV header or JSON Lines keys).
COLUMNS = ("uscc", "name", "entity_type", "legal_representative", "address", "division_code", "industry_code",
           "business_scope", "licences", "established_on", "approved_on", "status", "closed_on",
           "registration_authority")
REQUIRED = ("uscc", "name", "entity_type", "address", "division_code", "industry_code", "established_on")
STATUS = {"active": "active", "存续": "active", "在业": "active", "开业": "active", "在营": "active", "": "active",
          "deregistered": "deregistered", "注销": "deregistered", "revoked": "revoked", "吊销": "revoked"}
# What a checked row gives, in this order: columns of ``entities`` (the others take their defaults) ...
ENTITY_COLUMNS = ("uscc", "name", "entity_type", "legal_representative", "address", "division_code", "city_code",
                  "industry_code", "business_scope", "licences", "status", "established_on", "approved_on",
                  "closed_on", "registration_authority", "departments", "domains", "matched_rules",
                  "assignment_state", "rule_version", "last_changed_at", "assignment_source")
# ... and, in the staging table, its line number.
STAGING_COLUMNS = (*ENTITY_COLUMNS, "line")

STAGING_DDL = """
CREATE TEMP TABLE import_staging (
    uscc text, name text, entity_type text, legal_representative text, address text,
    division_code text, city_code text, industry_code text, business_scope text, licences jsonb, status text,
    established_on date, approved_on date, closed_on date, registration_authority text, departments text[],
    domains text[], matched_rules text[], assignment_state text, rule_version int, last_changed_at timestamptz,
    assignment_source text, line bigint
) ON COMMIT PRESERVE ROWS
"""

_RECORD = ("name", "entity_type", "legal_representative", "address", "division_code", "city_code",
           "industry_code", "business_scope", "licences", "status", "established_on", "approved_on", "closed_on",
           "registration_authority")


def _merge(source: str) -> str:
    """The upsert of ``source`` (rows with one line per USCC) into ``entities``, opening adjudication cases."""
    return f"""
WITH up AS (
    INSERT INTO entities AS e (uscc, {", ".join(_RECORD)}, departments, domains, matched_rules, assignment_state,
                               assignment_source, rule_version, version, published_version, last_changed_at,
                               created_at, updated_at)
    SELECT uscc, {", ".join(_RECORD)}, departments, domains, matched_rules, assignment_state, 'rules', rule_version,
           1, 0, last_changed_at, now(), now()
    FROM {source}
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
       (SELECT count(*) FROM {source}) AS distinct_rows,
       (SELECT count(*) FROM cases) AS cases
"""


# The line that wins for each USCC when one occurs more than once (one command may not upsert a row twice):
# the latest change, then the last line.
LATEST = ('(SELECT DISTINCT ON (uscc COLLATE "C") * FROM import_staging '
          'ORDER BY uscc COLLATE "C", last_changed_at DESC, line DESC) AS x')
STAGED = 'SELECT count(*) AS lines, count(DISTINCT uscc COLLATE "C") AS entities FROM import_staging'
_CHANGED = " OR ".join(f"e.{c} IS DISTINCT FROM x.{c}" for c in _RECORD)
_OFFICE_KEEPS = ("departments", "domains", "matched_rules", "assignment_state")


def _update_locked(source: str) -> str:
    """For a directory this transaction has locked, the merge is an UPDATE of the existing records ..."""
    return f"""
UPDATE entities AS e SET
    {", ".join(f"{c} = x.{c}" for c in _RECORD)},
    {", ".join(f"{c} = CASE WHEN e.assignment_source = 'office' THEN e.{c} ELSE x.{c} END" for c in _OFFICE_KEEPS)},
    rule_version = x.rule_version, version = e.version + 1, last_changed_at = x.last_changed_at, updated_at = now()
FROM {source}
WHERE e.uscc = x.uscc AND e.last_changed_at <= x.last_changed_at AND ({_CHANGED})
"""


def _insert_locked(source: str) -> str:
    """... and a plain INSERT of the new ones (cheaper than a speculative INSERT ... ON CONFLICT per row) ..."""
    return f"""
INSERT INTO entities (uscc, {", ".join(_RECORD)}, departments, domains, matched_rules, assignment_state,
                      assignment_source, rule_version, version, published_version, last_changed_at, created_at,
                      updated_at)
SELECT uscc, {", ".join(_RECORD)}, departments, domains, matched_rules, assignment_state, 'rules', rule_version,
       1, 0, last_changed_at, now(), now()
FROM {source}
WHERE NOT EXISTS (SELECT FROM entities e WHERE e.uscc = x.uscc)
"""


# ... after which the records this transaction wrote (updated_at = now(), the transaction's start) that no
# rule matches open adjudication cases.
OPEN_CASES_LOCKED = """
INSERT INTO adjudication_cases (id, uscc, reason, status, candidate_departments, detail, opened_at, opened_by)
SELECT gen_random_uuid()::text, uscc, 'no_rule_matched', 'open', '{}', 'no responsibility rule matches (import)',
       now(), $1
FROM entities WHERE updated_at = now() AND assignment_state = 'adjudication' AND cardinality(departments) = 0
ON CONFLICT (uscc) WHERE status = 'open' DO NOTHING
"""


# The secondary indexes of ``entities`` (everything but the primary key the merge needs).
SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i WHERE i.indrelid = 'entities'::regclass AND NOT i.indisprimary ORDER BY 1
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


@dataclass
class Chunk:
    first_line: int   # physical line number of its first line (1 = the file's first line)
    lines: int
    data: bytes


def read_chunks(fh, fmt: str, rows: int, line_no: int) -> Iterator[Chunk]:
    """Whole records, about ``rows`` lines at a time from line ``line_no`` on; a CSV chunk never ends inside a
    quoted field."""
    while lines := list(islice(fh, rows)):
        data = b"".join(lines)
        if fmt == "csv":
            quotes = data.count(b'"')
            while quotes % 2 and (more := fh.readline()):  # a quoted field runs on: take lines until it ends
                lines.append(more)
                quotes += more.count(b'"')
            data = b"".join(lines)
        yield Chunk(line_no, len(lines), data)
        line_no += len(lines)


def csv_header(fh, path: Path) -> list[str]:
    first = fh.readline().decode("utf-8-sig")
    header = next(csv.reader([first]), [])
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SystemExit(f"{path}: the header lacks the columns {', '.join(missing)}")
    return header


def parse_chunk(chunk: Chunk, fmt: str, header: list[str] | None) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, error) for each record of a chunk."""
    text = chunk.data.decode("utf-8")
    if fmt == "csv":
        reader = csv.reader(io.StringIO(text, newline=""))
        base = chunk.first_line - 1
        for fields in reader:
            if fields:
                yield base + reader.line_num, dict(zip(header, fields)), None
        return
    for n, line in enumerate(text.split("\n"), start=chunk.first_line):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield n, None, f"not JSON: {exc}"
            continue
        yield n, obj if isinstance(obj, dict) else None, None if isinstance(obj, dict) else "not an object"


# ------------------------------------------------------------------ checking
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One field in COPY text format (NULL is \\N)."""
    if value is None:
        return "\\N"
    value = str(value)
    return value.translate(_COPY_ESCAPE) if _COPY_SPECIAL.search(value) else value


def _copy_array(items: tuple[str, ...]) -> str:
    inner = ",".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items)
    return _copy_text("{" + inner + "}")


class RowChecker:
    """The same checks as the bureau's event contracts, without building a pydantic model per row."""

    def __init__(self, rules: CompiledRules, today: date):
        self.rules, self.latest = rules, today + CLOCK_SKEW
        self._latest_date = self.latest.date()
        self._divisions: dict[str, str | None] = {}
        self._industries: dict[str, str] = {}
        self._assign: dict[tuple, str] = {}
        self._licence_cache: dict[str, tuple[list[dict], str]] = {}
        self._changed: dict[date, str] = {}
        self._dates: dict[str, date] = {}
        self._version = str(rules.version)

    def _division(self, code: str) -> tuple[str, str | None]:
        if code not in self._divisions:
            try:
                divisions.get(code)
            except divisions.UnknownDivision as exc:
                raise RowError("division_code", str(exc)) from None
            self._divisions[code] = divisions.city_code(code)
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
        got = self._dates.get(value) if isinstance(value, str) else None
        if got is None:
            got = self._parse_date(name, value)
            if isinstance(value, str):
                if len(self._dates) > 100_000:
                    self._dates.clear()
                self._dates[value] = got
        return got

    def _parse_date(self, name: str, value: Any) -> date:
        try:
            d = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
        except ValueError:
            raise RowError(name, f"not a date (YYYY-MM-DD): {value!r}") from None
        if d < EARLIEST_DATE:
            raise RowError(name, f"date {d.isoformat()} is before {EARLIEST_DATE.isoformat()}")
        if d > self._latest_date:
            raise RowError(name, f"date {d.isoformat()} is in the future")
        return d

    @staticmethod
    def _parse_licences(value: Any) -> list[dict]:
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

    def _licences(self, value: Any) -> tuple[list[dict], str]:
        """The licences and their JSON (as a COPY field); most rows share a few licence texts."""
        if not isinstance(value, str):
            got = self._parse_licences(value)
            return got, _copy_text(json.dumps(got, ensure_ascii=False))
        cached = self._licence_cache.get(value)
        if cached is None:
            got = self._parse_licences(value)
            if len(self._licence_cache) > 100_000:
                self._licence_cache.clear()
            cached = self._licence_cache[value] = (got, _copy_text(json.dumps(got, ensure_ascii=False)))
        return cached

    def _assignment(self, division: str, industry: str, scope: str, licences: list[dict]) -> str:
        """Departments, domains, matched rules, assignment state and rule version (COPY fields)."""
        key = (division, industry, scope, tuple(lic["type"] for lic in licences))
        got = self._assign.get(key)
        if got is None:
            if len(self._assign) > 200_000:
                self._assign.clear()
            a = self.rules.evaluate(Facts(division, industry, scope, key[3]))
            got = self._assign[key] = "\t".join((
                _copy_array(a.departments), _copy_array(a.domains), _copy_array(a.matched_rules),
                "assigned" if a.departments else "adjudication", self._version))
        return got

    def _changed_at(self, d: date) -> str:
        got = self._changed.get(d)
        if got is None:
            got = self._changed[d] = datetime.combine(d, dtime.min, tzinfo=clock.TZ).isoformat()
        return got

    def check(self, row: dict[str, Any]) -> str:
        """The ``ENTITY_COLUMNS`` of a good row in COPY text format (no newline); raise :class:`RowError` for a
        bad one."""
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
        licences, licences_text = self._licences(get("licences"))
        scope = str(get("business_scope") or "")
        entity_type, address = str(get("entity_type")).strip(), str(get("address")).strip()
        legal, authority = get("legal_representative") or None, get("registration_authority") or None
        text = (name, entity_type, "" if legal is None else str(legal), address, scope,
                "" if authority is None else str(authority))
        if _COPY_SPECIAL.search("".join(text)):  # rarely: escape them
            name, entity_type, legal, address, scope, authority = (
                _copy_text(name), _copy_text(entity_type), _copy_text(legal), _copy_text(address),
                _copy_text(scope), _copy_text(authority))
        else:
            legal, authority = ("\\N" if legal is None else text[2]), ("\\N" if authority is None else text[5])
        return "\t".join((
            code, name, entity_type, legal, address, division, city or "\\N", industry, scope, licences_text,
            status, established.isoformat(), approved.isoformat() if approved else "\\N",
            closed.isoformat() if closed else "\\N", authority,
            self._assignment(division, industry, text[4], licences),
            self._changed_at(approved or established), "rules"))


# ------------------------------------------------------------------ worker processes
_checker: RowChecker | None = None


def _start_worker(version: int, rules: list[dict], today: date) -> None:
    global _checker
    _checker = RowChecker(CompiledRules.from_json(version, rules), today)


@dataclass
class Checked:
    read: int
    copy: bytes                # the good rows, COPY text format
    good: int
    rejects: list[list]        # line, uscc, field, reason, row


def check_chunk(chunk: Chunk, fmt: str, header: list[str] | None, with_line: bool,
                checker: RowChecker | None = None) -> Checked:
    """Check one chunk (in a worker process, or here given a ``checker``): COPY lines of ``ENTITY_COLUMNS``,
    or of ``STAGING_COLUMNS`` ``with_line``."""
    checker = checker or _checker
    assert checker is not None
    out: list[str] = []
    rejects: list[list] = []
    read = 0
    for line, row, error in parse_chunk(chunk, fmt, header):
        read += 1
        if row is None:
            rejects.append([line, "", "(row)", error, ""])
            continue
        try:
            out.append(f"{checker.check(row)}\t{line}" if with_line else checker.check(row))
        except RowError as exc:
            rejects.append([line, row.get("uscc") or "", exc.field, exc.reason,
                            json.dumps(row, ensure_ascii=False, default=str)])
    out.append("")
    return Checked(read, "\n".join(out).encode() if len(out) > 1 else b"", len(out) - 1, rejects)


# ------------------------------------------------------------------ the run
async def run_import(settings: Settings, path: Path, *, fmt: str, rejects_path: Path, batch_size: int = 5000,
                     progress: bool = True, actor: str = "import", workers: int | None = None,
                     rebuild_indexes: bool | None = None) -> ImportReport:
    """``batch_size`` lines go to a worker at a time (``workers`` processes; default one per CPU, none when
    1). ``rebuild_indexes``: None decides by size (see the module's docstring); False never."""
    started = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    run = _Run(conn, path, fmt, rejects_path, batch_size, progress, workers)
    try:
        version, rule_list = await _rules(settings)
        today = clock.now()
        if workers > 1:
            run.pool = ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(version, rule_list, today))
        else:
            run.local = RowChecker(CompiledRules.from_json(version, rule_list), today)
        report = None
        if rebuild_indexes is not False and not await conn.fetchval("SELECT EXISTS (SELECT FROM entities)"):
            report = await _load_into_empty_directory(run, actor)
        if report is None:
            report = await _load_through_staging(run, actor, rebuild_indexes)
        await conn.execute(
            "INSERT INTO decisions (uscc, action, actor, at, details) VALUES (NULL, 'directory_imported', $1, "
            "now(), $2::jsonb)", actor, json.dumps({
                "file": str(path), "read": report.read, "loaded": report.loaded, "rejected": report.rejected,
                "inserted": report.inserted, "updated": report.updated, "rule_version": version}))
    finally:
        if run.pool:
            run.pool.shutdown(cancel_futures=True)
        await conn.close()
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Run:
    conn: asyncpg.Connection
    path: Path
    fmt: str
    rejects_path: Path
    batch_size: int
    progress: bool
    workers: int
    pool: ProcessPoolExecutor | None = None
    local: RowChecker | None = None

    async def copy(self, table: str, columns: tuple[str, ...], report: ImportReport) -> None:
        """Stream the file through the checks into one COPY (reading, checking and COPY overlap)."""
        loop = asyncio.get_running_loop()
        with_line = "line" in columns
        with self.path.open("rb") as fh, self.rejects_path.open("w", encoding="utf-8", newline="") as rf, \
                _progress(self.path.stat().st_size, self.progress) as bar:
            rejects = csv.writer(rf)
            rejects.writerow(["line", "uscc", "field", "reason", "row"])
            header = csv_header(fh, self.path) if self.fmt == "csv" else None
            bar.update(fh.tell())

            async def checked() -> AsyncIterator[bytes]:
                pending: list = []  # chunks being checked, in file order
                chunks = read_chunks(fh, self.fmt, self.batch_size, 2 if header is not None else 1)
                while True:
                    while len(pending) < 2 * self.workers and (chunk := next(chunks, None)) is not None:
                        pending.append((len(chunk.data), loop.run_in_executor(
                            self.pool, check_chunk, chunk, self.fmt, header, with_line) if self.pool else
                            _done(check_chunk(chunk, self.fmt, header, with_line, self.local))))
                    if not pending:
                        return
                    size, fut = pending.pop(0)
                    got: Checked = await fut
                    report.read += got.read
                    report.loaded += got.good
                    report.rejected += len(got.rejects)
                    rejects.writerows(got.rejects)
                    bar.update(size)
                    if got.copy:
                        yield got.copy

            await self.conn.copy_to_table(table, source=checked(), columns=columns, format="text")


async def _load_into_empty_directory(run: _Run, actor: str) -> ImportReport | None:
    """The first load: COPY straight into ``entities`` without its secondary indexes, then build them, all in
    one transaction. None (nothing changed) when the directory is not empty after all or the file names an
    entity twice (the staging path picks the line that wins)."""
    report = ImportReport(rejects_path=run.rejects_path)
    conn = run.conn
    try:
        async with conn.transaction():
            indexes = await _drop_secondary_indexes(conn)
            if await conn.fetchval("SELECT EXISTS (SELECT FROM entities)"):
                raise _NotEmpty
            await run.copy("entities", ENTITY_COLUMNS, report)
            report.inserted = report.loaded
            report.adjudication_cases = _count(await conn.execute(OPEN_CASES_LOCKED, actor))
            for ix in indexes:
                await conn.execute(ix["definition"])
    except (_NotEmpty, asyncpg.UniqueViolationError):
        return None
    return report


class _NotEmpty(Exception):
    pass


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list:
    """Drop the secondary indexes of ``entities`` (locking it) for this transaction; their definitions."""
    indexes = await conn.fetch(SECONDARY_INDEXES)
    await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for ix in indexes:
        await conn.execute(f"DROP INDEX {ix['name']}")
    return indexes


async def _load_through_staging(run: _Run, actor: str, rebuild_indexes: bool | None) -> ImportReport:
    report = ImportReport(rejects_path=run.rejects_path)
    conn = run.conn
    # The staging table lives in this session's memory (before its first use) rather than on disk.
    await conn.execute("SET temp_buffers = '512MB'")
    await conn.execute(STAGING_DDL)
    await run.copy("import_staging", STAGING_COLUMNS, report)
    merged = await _merge_staged(conn, actor, rebuild_indexes)
    report.inserted, report.updated, report.adjudication_cases = (merged["inserted"], merged["updated"],
                                                                   merged["cases"])
    report.unchanged = merged["distinct_rows"] - merged["inserted"] - merged["updated"]
    await conn.execute("DROP TABLE import_staging")
    return report


def _done(value):
    fut = asyncio.get_running_loop().create_future()
    fut.set_result(value)
    return fut


async def _merge_staged(conn: asyncpg.Connection, actor: str, rebuild_indexes: bool | None):
    """Merge the staging table into ``entities`` in one transaction (rebuilding its secondary indexes when
    the load brings at least as many new entities as the directory has)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL work_mem = '256MB'")
        # Join the staging table by hashing: a nested loop would re-scan the directory (which the merge
        # itself fills, and whose statistics may say it is empty) once per row.
        await conn.execute("SET LOCAL enable_nestloop = off")
        counted = await conn.fetchrow(STAGED)
        if rebuild_indexes is None:  # when the load at least doubles the directory
            existing = await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'entities'::regclass")
            if existing < 0:  # never analysed
                existing = await conn.fetchval("SELECT count(*) FROM entities")
            new = await conn.fetchval("SELECT count(DISTINCT uscc) FROM import_staging x "
                                      "WHERE NOT EXISTS (SELECT FROM entities e WHERE e.uscc = x.uscc)")
            rebuild_indexes = new > 0 and new >= existing
        indexes = await _drop_secondary_indexes(conn) if rebuild_indexes else []
        source = LATEST if counted["lines"] != counted["entities"] else "import_staging AS x"
        if not indexes:
            return dict(await conn.fetchrow(_merge(source), actor))
        updated = _count(await conn.execute(_update_locked(source)))
        inserted = _count(await conn.execute(_insert_locked(source)))
        cases = _count(await conn.execute(OPEN_CASES_LOCKED, actor))
        for ix in indexes:
            await conn.execute(ix["definition"])
    return {"inserted": inserted, "updated": updated, "distinct_rows": counted["entities"], "cases": cases}


def _count(status: str) -> int:
    """The row count of a command status such as ``INSERT 0 12`` or ``UPDATE 3``."""
    return int(status.rsplit(" ", 1)[-1])


async def _rules(settings: Settings) -> tuple[int, list[dict]]:
    """The rule set in force (the starter set becomes version 1 if there is none), as the service reads it."""
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            return (await repo.current_rules(session)
                    or await repo.seed_rules(session, repo.starter_rules(settings.starter_rules_file), clock.now()))
    finally:
        await db.dispose()
