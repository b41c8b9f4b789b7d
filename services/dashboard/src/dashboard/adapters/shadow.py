"""The read model written again beside itself, for a rebuild while the dashboard runs: a schema of its own
holding the same tables (columns, defaults, keys, indexes and triggers, under the names the migrations gave
them), filled while the pages read and the consumer group writes the tables in ``public``, then put in their
place in one transaction.

The copy is taken from the live tables' catalogue, not from the migrations, so it has whatever shape the
database is at. A copied trigger calls the same function in ``public``; the function's unqualified table names
resolve through the session's ``search_path`` (the rebuild's sessions see the copy first). The tables have no
sequences of their own (a sequence owned by a replaced table would go with it).
"""

from __future__ import annotations

import re
from typing import Sequence

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import lock_not_available

SCHEMA = "read_model_rebuild"
PREVIOUS = "read_model_previous"  # the replaced tables, dropped in the transaction that replaces them
SEARCH_PATH = f"{SCHEMA}, public"   # a session writing the copy
_COPIED = ("DEFAULTS", "CONSTRAINTS", "GENERATED", "IDENTITY", "STORAGE", "COMMENTS", "STATISTICS")  # not INDEXES
_ON_PUBLIC = re.compile(r" ON (ONLY )?public\.")

_KEYS = text("""
SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
WHERE conrelid = ANY(CAST(:oids AS oid[])) AND contype IN ('p', 'u', 'x', 'f') ORDER BY contype = 'f', conname""")
_INDEXES = text("""
SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = ANY(CAST(:oids AS oid[]))
AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY i.indexrelid""")
_TRIGGERS = text("""
SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = ANY(CAST(:oids AS oid[])) AND NOT tgisinternal
ORDER BY oid""")


async def create(session: AsyncSession, tables: Sequence[str]) -> None:
    """An empty copy of ``tables`` (of schema ``public``) in :data:`SCHEMA`, replacing what an interrupted
    rebuild left there."""
    await session.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    await session.execute(text(f"DROP SCHEMA IF EXISTS {PREVIOUS} CASCADE"))
    await session.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    oids = [(await session.execute(text("SELECT CAST(CAST(:t AS regclass) AS oid)"), {"t": f"public.{t}"})).scalar_one()
            for t in tables]
    # Read under the service's own search_path, so that the definitions name the live tables unqualified...
    keys = (await session.execute(_KEYS, {"oids": oids})).all()
    indexes = (await session.execute(_INDEXES, {"oids": oids})).scalars().all()
    triggers = (await session.execute(_TRIGGERS, {"oids": oids})).scalars().all()
    including = " ".join(f"INCLUDING {what}" for what in _COPIED)
    for t in tables:
        await session.execute(text(f"CREATE TABLE {SCHEMA}.{t} (LIKE public.{t} {including})"))
    # ... and executed with the copy first in it: the same names now mean the copy's tables.
    await session.execute(text(f"SET LOCAL search_path TO {SEARCH_PATH}"))
    for table, name, definition in keys:
        await session.execute(text(f'ALTER TABLE {table.removeprefix("public.")} ADD CONSTRAINT "{name}" {definition}'))
    for statement in (*indexes, *triggers):
        await session.execute(text(_ON_PUBLIC.sub(r" ON \1", statement)))


async def revision(session: AsyncSession) -> str | None:
    """The live tables' migration revision: a copy made at another has another shape."""
    return (await session.execute(text("SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version"))
            ).scalar_one()


async def hold_writers(session: AsyncSession, tables: Sequence[str]) -> None:
    """Until ``session`` ends, every transaction writing one of ``tables`` waits (readers do not), in the
    order given: a consumer group's transaction writes its inbox first, so name the inbox first."""
    await session.execute(text(f"LOCK TABLE {', '.join(f'public.{t}' for t in tables)} IN EXCLUSIVE MODE"))


async def carry_over_inbox(session: AsyncSession, group: str) -> None:
    """Copy the live inbox rows of the consumer groups other than ``group`` (the rebuild makes only its own)."""
    await session.execute(text(f"INSERT INTO {SCHEMA}.inbox SELECT * FROM public.inbox WHERE consumer_group <> :g"),
                          {"g": group})


async def put_in_place(session: AsyncSession, tables: Sequence[str], *, try_ms: int = 50) -> None:
    """The copy's tables become the live ones and the live ones are dropped, at the commit of ``session``;
    statements of other sessions waiting on the live tables meanwhile then run on the new ones.

    Every live table is locked for the exchange first, all at once, waiting at most ``try_ms`` and then letting go
    and trying again: a reader holding one table (the figure refresh reads them in its own order, several in one
    statement) is never waited for long while the exchange holds another that reader waits for, the deadlock that
    aborted one of them (PostgreSQL looks for deadlocks after a second). The held writers, queued behind the
    rebuild's own locks, do not stand in its way."""
    lock_all = text(f"LOCK TABLE {', '.join(f'public.{t}' for t in tables)} IN ACCESS EXCLUSIVE MODE")
    waited = (await session.execute(text("SELECT current_setting('lock_timeout')"))).scalar_one()
    while True:
        try:
            async with session.begin_nested():  # refused: the savepoint lets go of the tables it did lock
                await session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": f"{try_ms}ms"})
                await session.execute(lock_all)
            break
        except DBAPIError as exc:
            if not lock_not_available(exc):
                raise
    await session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": waited})
    await session.execute(text(f"CREATE SCHEMA {PREVIOUS}"))
    for t in tables:
        await session.execute(text(f"ALTER TABLE public.{t} SET SCHEMA {PREVIOUS}"))
        await session.execute(text(f"ALTER TABLE {SCHEMA}.{t} SET SCHEMA public"))
    await session.execute(text(f"DROP SCHEMA {SCHEMA}"))
    await session.execute(text(f"DROP SCHEMA {PREVIOUS} CASCADE"))
