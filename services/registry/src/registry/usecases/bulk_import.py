"""Bulk import of an existing directory (CSV or JSON Lines, millions of rows): ``python -m registry import``.

Streams the file in chunks to a pool of worker processes that check every row with the same primitives
as the bureau's events (``domain.import_rows``) and decide responsibility with the rule set in force; their
good rows, already in COPY text format, stream through one ``COPY`` into a temporary (unlogged, unindexed)
staging table while the next chunks are checked. One set-based statement then merges the staging table
into ``entities`` (``adapters.bulk``).

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
  matches wait in the office's adjudication queue; the open case of an entity the load assigns by rules or closes
  is withdrawn, as the intake withdraws it (``usecases.responsibility.withdraw_cases``). Their
  ``registry.entity.changed.v1`` events are published afterwards by the service's replicate job (records with
  ``published_version < version``), and so are the ``registry.adjudication.requested.v1`` of the cases it opens
  and the ``registry.adjudication.withdrawn.v1`` of those it withdraws (cases whose ``announced`` is behind their
  status, ``usecases.announcements``): in batches, not one event per row in the load's transaction.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from datetime import datetime
from pathlib import Path
from typing import AsyncIterator

import asyncpg

from jsp_common import clock
from jsp_common.db import Database, asyncpg_dsn

from ..adapters import adjudication as cases
from ..adapters import bulk
from ..adapters import rules as rule_sets
from ..adapters.import_files import Chunk, csv_header, parse_chunk, progress_bar, read_chunks
from ..adapters.writes import Writes
from ..domain.import_rows import ENTITY_COLUMNS, RowChecker, RowError
from ..domain.rules import CompiledRules
from ..settings import Settings
from .responsibility import withdraw_cases
from .rules import rule_set_in_force


@dataclass
class ImportReport:
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    adjudication_cases: int = 0
    cases_withdrawn: int = 0
    seconds: float = 0.0
    rejects_path: Path | None = None

    def summary(self) -> str:
        rate = self.read / self.seconds if self.seconds else 0
        return (f"read {self.read} rows, loaded {self.loaded} ({self.inserted} new, {self.updated} changed, "
                f"{self.unchanged} unchanged or older than the directory), rejected {self.rejected}"
                f"{f' (see {self.rejects_path})' if self.rejected else ''}; {self.adjudication_cases} sent to "
                f"adjudication, {self.cases_withdrawn} cases withdrawn; {self.seconds:.1f}s, {rate:,.0f} rows/s")


# ------------------------------------------------------------------ worker processes
_checker: RowChecker | None = None


def _start_worker(version: int, rules: list[dict], today: datetime) -> None:
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
    or of ``bulk.STAGING_COLUMNS`` ``with_line``."""
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
        if rebuild_indexes is not False and await bulk.directory_is_empty(conn):
            report = await _load_into_empty_directory(run, actor)
        if report is None:
            report = await _load_through_staging(run, actor, rebuild_indexes)
        report.cases_withdrawn = await _withdraw_cases(settings, actor)
        await bulk.record_import(conn, actor, {
            "file": str(path), "read": report.read, "loaded": report.loaded, "rejected": report.rejected,
            "inserted": report.inserted, "updated": report.updated, "cases_withdrawn": report.cases_withdrawn,
            "rule_version": version})
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
                progress_bar(self.path.stat().st_size, self.progress) as bar:
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

            await bulk.copy_rows(self.conn, table, columns, checked())


class _NotEmpty(Exception):
    pass


async def _load_into_empty_directory(run: _Run, actor: str) -> ImportReport | None:
    """The first load: COPY straight into ``entities`` without its secondary indexes, then build them, all in
    one transaction. None (nothing changed) when the directory is not empty after all or the file names an
    entity twice (the staging path picks the line that wins)."""
    report = ImportReport(rejects_path=run.rejects_path)
    conn = run.conn
    try:
        async with conn.transaction():
            indexes = await bulk.drop_secondary_indexes(conn)
            if not await bulk.directory_is_empty(conn):
                raise _NotEmpty
            await run.copy("entities", ENTITY_COLUMNS, report)
            report.inserted = report.loaded
            report.adjudication_cases = await bulk.open_cases_locked(conn, actor)
            await bulk.build_indexes(conn, indexes)
    except (_NotEmpty, asyncpg.UniqueViolationError):
        return None
    return report


async def _load_through_staging(run: _Run, actor: str, rebuild_indexes: bool | None) -> ImportReport:
    report = ImportReport(rejects_path=run.rejects_path)
    await bulk.create_staging(run.conn)
    await run.copy(bulk.STAGING, bulk.STAGING_COLUMNS, report)
    merged = await bulk.merge_staged(run.conn, actor, rebuild_indexes)
    report.inserted, report.updated, report.adjudication_cases = (merged["inserted"], merged["updated"],
                                                                   merged["cases"])
    report.unchanged = merged["distinct_rows"] - merged["inserted"] - merged["updated"]
    await bulk.drop_staging(run.conn)
    return report


def _done(value):
    fut = asyncio.get_running_loop().create_future()
    fut.set_result(value)
    return fut


async def _withdraw_cases(settings: Settings, actor: str) -> int:
    """The open adjudication cases of the entities the load assigned by rules or closed, withdrawn as the intake
    withdraws them (after the merge: its records are written set-wise, without a decision per entity). How many."""
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            w = Writes()
            withdrawn = await withdraw_cases(session, w, await cases.waiting_no_longer(session), actor=actor,
                                             cause="import", now=clock.now(), announce_in=None)
            await w.flush(session)
    finally:
        await db.dispose()
    return withdrawn


async def _rules(settings: Settings) -> tuple[int, list[dict]]:
    """The rule set in force (the starter set becomes version 1 if there is none), as the service reads it."""
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            return await rule_set_in_force(session, partial(rule_sets.starter_rules, settings.starter_rules_file))
    finally:
        await db.dispose()
