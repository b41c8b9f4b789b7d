"""A service's own replica of the registry's directory (市场主体名录), kept from ``registry.entities.v1``.

The registry publishes the full current record of an entity (``registry.entity.changed.v1``,
:class:`~jsp_common.events.registry.EntityChanged`) on a compacted topic keyed by USCC after every change.
A service that needs to know businesses (clues matches a complaint to one; inspection and risk plan by
them) keeps its own table of them, never the registry's database:

    # adapters/tables.py
    entities = replica.entity_table(metadata, Column("name_grams", ARRAY(Text), ...), Index(...))
    # subscriptions.py
    replica_handlers = replica.batch_handlers(entities, extras=lambda e: {"name_grams": grams(e.name)})
    # bootstrap.py
    runtime.add_consumer(group=settings.replica_group, topics=replica.TOPICS, handlers={},
                         batch_handlers=replica_handlers)
    # migrations/versions/0001_initial.py (a service's first revision)
    replica.create_entity_table(op)

The upsert is version-guarded: a record is written only if its ``record_version`` is not older than the
one the replica has, so a late, older record never overwrites a newer one (redelivery of the same version
writes the same values again, which also lets a replay of the topic refresh a service's derived columns).
A poll's records are written with one statement.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Iterable, Mapping, Sequence

from pydantic import ValidationError
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, Table, Text, bindparam, func, select, text
from sqlalchemy.sql.schema import SchemaItem
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from . import divisions, topics
from .cli import Command, run_loop
from .consumer import BatchHandler, HandlerContext
from .offsets import read_to_end
from .db import Database, all_rows, first_row
from .envelope import Envelope, EnvelopeError
from .events import UnknownEventType, parse_data
from .events.registry import EntityChanged
from .migrations import run_script
from .settings import ServiceSettings
from .statistics import Growth, analyse, keep_analysed

ENTITY_CHANGED = "registry.entity.changed.v1"
TOPICS: tuple[str, ...] = (topics.REGISTRY_ENTITIES,)

# A service's own columns of the replica, derived from the record (e.g. clues' name bigrams).
Extras = Callable[[EntityChanged], Mapping[str, Any]]


def entity_table(metadata: MetaData, *extra: SchemaItem, name: str = "replica_entities",
                 industry_code: bool = True) -> Table:
    """The replica table on a service's ``metadata``: the standard columns, then the service's own columns
    and indexes (``extra``). ``industry_code=False`` leaves out the industry class (clues' table was first
    released without it)."""
    columns: list[SchemaItem] = [
        Column("uscc", Text, primary_key=True),
        Column("name", Text, nullable=False),
        Column("address", Text),
        Column("division_code", Text),
        Column("city_code", Text),
        Column("status", Text),
    ]
    if industry_code:
        columns.append(Column("industry_code", Text))
    columns += [
        Column("responsible_departments", ARRAY(Text), nullable=False, server_default=text("'{}'")),
        Column("version", Integer, nullable=False, server_default=text("0")),  # the record_version replicated
        Column("changed_at", DateTime(timezone=True)),                           # its last_changed_at
        Index(f"{name}_city", "city_code"),
    ]
    return Table(name, metadata, *columns, *extra)


def standard_values(record: EntityChanged) -> dict[str, Any]:
    """The standard columns' values for one record (a table without a column simply ignores it)."""
    return {
        "uscc": record.uscc, "name": record.name, "address": record.address,
        "division_code": record.division_code,
        "city_code": record.city_code or divisions.city_code(record.division_code),
        "status": record.status.value, "industry_code": record.industry_code,
        "responsible_departments": list(record.responsible_departments),
        "version": record.record_version, "changed_at": record.last_changed_at,
    }


def entity_row(table: Table, record: EntityChanged, extras: Extras | None = None) -> dict[str, Any]:
    """The row of ``table`` for one record, by column name: the standard values the table has, and the
    service's own (``extras``), which must all be columns of the table."""
    row = {k: v for k, v in standard_values(record).items() if k in table.c}
    if extras is not None:
        own = dict(extras(record))
        unknown = set(own) - set(table.c.keys())
        if unknown:
            raise ValueError(f"extras name no column of {table.name}: {', '.join(sorted(unknown))}")
        row.update(own)
    return row


def newest_per_entity(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per USCC, the highest version (the later one on a tie): one INSERT may not touch a row twice."""
    best: dict[str, dict[str, Any]] = {}
    for r in rows:
        seen = best.get(r["uscc"])
        if seen is None or r["version"] >= seen["version"]:
            best[r["uscc"]] = dict(r)
    return list(best.values())


def upsert_statement(table: Table, columns: Sequence[str]):
    """``INSERT ... SELECT ... FROM json_populate_recordset(...) ON CONFLICT (uscc) DO UPDATE ... WHERE
    replica.version <= new.version``: a batch of rows (one per USCC; see :func:`newest_per_entity`) as one JSON
    parameter, so the statement's text depends only on the columns (prepared once, not compiled per batch)."""
    names = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != "uscc")
    return text(f'INSERT INTO "{table.name}" AS r ({names}) SELECT {names} '
                f'FROM json_populate_recordset(NULL::"{table.name}", CAST(:rows AS json)) '
                f'ON CONFLICT (uscc) DO UPDATE SET {updates} WHERE r.version <= excluded.version')


async def upsert(session: AsyncSession, table: Table, rows: Iterable[Mapping[str, Any]]) -> int:
    """Apply records to the replica in one statement; an older record than the replica's is ignored. Returns the
    number of entities the statement was given."""
    batch = newest_per_entity(rows)
    if batch:
        columns = sorted(set().union(*(r.keys() for r in batch)))
        await session.execute(upsert_statement(table, columns),
                              {"rows": json.dumps(batch, ensure_ascii=False, default=_json_value)})
    return len(batch)


def _json_value(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a replica column value")


async def entity(session: AsyncSession, table: Table, uscc: str) -> dict[str, Any] | None:
    """The replica's row for one USCC, or None."""
    return await first_row(session, select(table).where(table.c.uscc == uscc))


async def entities(session: AsyncSession, table: Table, usccs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The replica's rows for several USCCs (one statement), by USCC; an unknown one is left out."""
    wanted = sorted(set(usccs))
    if not wanted:
        return {}
    # = ANY(array): one statement text whatever the number (an IN list is parsed and prepared anew per length)
    q = select(table).where(table.c.uscc == func.any(bindparam("usccs", wanted, type_=ARRAY(Text))))
    return {r["uscc"]: r for r in await all_rows(session, q)}


def batch_handlers(table: Table, extras: Extras | None = None) -> dict[str, BatchHandler]:
    """``{event type: batch handler}`` for the replica's consumer group (``ServiceRuntime.add_consumer(...,
    batch_handlers=...)``): each poll's records are written set-wise in the consumer's transaction, and the
    replica is analysed there as it grows (:mod:`jsp_common.statistics`)."""
    growth = Growth()

    async def apply(contexts: list[HandlerContext]) -> None:
        if not contexts:
            return
        session = contexts[0].session
        written = await upsert(session, table,
                               (entity_row(table, ctx.data, extras) for ctx in contexts))  # type: ignore[arg-type]
        await keep_analysed(session, table.name, growth, written)

    return {ENTITY_CHANGED: apply}


# ------------------------------------------------------------------ rebuilding from the log
@dataclass(frozen=True)
class Replayed:
    applied: int     # records written (or found already at their version)
    skipped: int     # messages that are not an entity record (the replica group dead-lettered them already)
    seconds: float

    @property
    def per_second(self) -> float:
        return self.applied / self.seconds if self.seconds else 0.0


async def replay(db: Database, table: Table, extras: Extras | None = None, *, from_topics: Sequence[str] = TOPICS,
                 max_records: int = 2000, **client_options) -> Replayed:
    """Rebuild the replica from the log: every record on the compacted ``registry.entities.v1``, from its
    beginning up to its end now, applied with the same version-guarded upsert as the replica group (one
    statement per poll). Safe while the service runs: it reads outside every consumer group, and a record never
    overwrites a newer version, so it only restores rows that are missing or older and refreshes the service's
    derived columns (``extras``). The table is analysed at the end, so the next statements are planned for the
    rebuilt replica (its size, its names' commonest pieces) without waiting for autovacuum."""
    applied = skipped = 0
    started = time.perf_counter()
    async for records in read_to_end(from_topics, max_records=max_records, **client_options):
        rows = []
        for r in records:
            try:
                env = Envelope.from_bytes(r.value)
                record = parse_data(env.type, env.data) if env.type == ENTITY_CHANGED else None
            except (EnvelopeError, UnknownEventType, ValidationError):
                record = None
            if record is None:
                skipped += 1
            else:
                rows.append(entity_row(table, record, extras))  # type: ignore[arg-type]
        async with db.transaction() as session:
            await upsert(session, table, rows)
        applied += len(rows)
    async with db.transaction() as session:
        await analyse(session, table.name)
    return Replayed(applied, skipped, time.perf_counter() - started)


def replay_command(table: Table, extras: Extras | None = None) -> Command:
    """``python -m <service> replay-replica``: :func:`replay` into the service's database, with a report."""
    def run(settings: ServiceSettings, args) -> int:
        async def once() -> Replayed:
            db = Database(settings.database_url, pool_size=2)
            try:
                return await replay(db, table, extras, **settings.kafka_client_options())
            finally:
                await db.dispose()

        done = run_loop(once())
        print(f"{settings.service_name}: replica rebuilt from {topics.REGISTRY_ENTITIES}: {done.applied:,} records "
              f"applied, {done.skipped:,} other messages skipped, in {done.seconds:.1f} s "
              f"({done.per_second:,.0f} records/s)")
        return 0

    return Command(f"rebuild the directory replica from {topics.REGISTRY_ENTITIES} (safe while the service runs)",
                   run)


# ------------------------------------------------------------------ migrations
# The standard table as first released, frozen: a later change to entity_table() needs a revision of its own
# in every service that keeps a replica (tests/migrations compares each chain with the declared tables).
_FIRST_SHAPE = """
CREATE TABLE {name} (
    uscc TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT,
    division_code TEXT,
    city_code TEXT,
    status TEXT,{industry}
    responsible_departments TEXT[] DEFAULT '{{}}' NOT NULL,
    version INTEGER DEFAULT 0 NOT NULL,
    changed_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (uscc));
CREATE INDEX {name}_city ON {name} (city_code);
"""


def create_table_sql(name: str = "replica_entities", *, industry_code: bool = True) -> str:
    """The frozen SQL that creates :func:`entity_table`'s standard columns (a service adds its own after)."""
    return _FIRST_SHAPE.format(name=name, industry="\n    industry_code TEXT," if industry_code else "")


def create_entity_table(op, name: str = "replica_entities", *, industry_code: bool = True) -> None:
    """In a service's first revision (``op`` is ``alembic.op``): create the replica table as first released."""
    run_script(op, create_table_sql(name, industry_code=industry_code))
