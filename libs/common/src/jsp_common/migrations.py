"""Alembic per service: the shared ``env.py`` body and a programmatic upgrade for start-up steps and tests.

A service's ``migrations/env.py`` is two lines::

    from jsp_common.migrations import run_env
    from registry.adapters.tables import metadata
    run_env(metadata)

Its first revision creates its tables as first released, from frozen SQL (:func:`run_script`), and the
messaging tables with :func:`create_messaging_tables` (their first shape);
a later one moves the outbox to one row per transaction with :func:`outbox_per_transaction`.
Migrations run as a separate step (``python -m <service> migrate``), never inside the app. Two of them
started together (two replicas' start-up, a Job retried while the first still runs) take turns under a
PostgreSQL advisory lock: the second finds the chain at head and does nothing.
A running service is ready only once its database is at the head its code knows (:func:`schema_state`).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import re
from functools import lru_cache
from pathlib import Path

import asyncpg

from sqlalchemy import MetaData, pool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from .db import asyncpg_dsn, engine_arguments, ensure_database
from .messaging_tables import inbox, outbox_batches
from .messaging_tables import metadata as messaging_metadata

_FIRST_OUTBOX = """
CREATE TABLE IF NOT EXISTS outbox (
    id bigserial PRIMARY KEY, event_id text NOT NULL, event_type text NOT NULL, topic text NOT NULL, key text,
    payload bytea NOT NULL, headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (id) WHERE sent_at IS NULL
"""


def run_script(op, script: str) -> None:
    """Execute a frozen SQL script (statements end with ``;`` at the end of a line): how a first revision
    creates its schema, so that later changes to a service's tables never change what it does."""
    for statement in re.split(r";[ \t]*$", script, flags=re.M):
        if statement.strip():
            op.execute(statement)


def _create_first_outbox(op) -> None:
    run_script(op, _FIRST_OUTBOX)


def create_messaging_tables(op) -> None:
    """Create the inbox and the first outbox (one row per event) in a service's first revision
    (``op`` is ``alembic.op``)."""
    inbox.create(op.get_bind(), checkfirst=True)
    _create_first_outbox(op)


def outbox_per_transaction(op) -> None:
    """Replace the one-row-per-event outbox by one row per transaction, carrying over unsent events in order."""
    outbox_batches.create(op.get_bind(), checkfirst=True)  # after_create stores payloads uncompressed
    op.execute(
        "INSERT INTO outbox_batches (topics, keys, payloads, event_ids, event_types, traceparents) "
        "SELECT array_agg(topic ORDER BY id), array_agg(key ORDER BY id), array_agg(payload ORDER BY id), "
        "array_agg(event_id ORDER BY id), array_agg(event_type ORDER BY id), "
        "array_agg(headers->>'traceparent' ORDER BY id) FROM outbox WHERE sent_at IS NULL HAVING count(*) > 0")
    op.execute("DROP TABLE outbox")


def outbox_per_event(op) -> None:
    """Undo :func:`outbox_per_transaction`."""
    _create_first_outbox(op)
    op.execute(
        "INSERT INTO outbox (event_id, event_type, topic, key, payload, headers) "
        "SELECT e, t, tp, k, p, jsonb_strip_nulls(jsonb_build_object('traceparent', tr)) "
        "FROM outbox_batches b, unnest(b.event_ids, b.event_types, b.topics, b.keys, b.payloads, b.traceparents) "
        "AS u(e, t, tp, k, p, tr) WHERE b.sent_at IS NULL ORDER BY b.id")
    outbox_batches.drop(op.get_bind(), checkfirst=True)


def outbox_per_transaction_revision():
    """``upgrade, downgrade`` of a service's revision that applies :func:`outbox_per_transaction`."""
    from alembic import op
    return (lambda: outbox_per_transaction(op)), (lambda: outbox_per_event(op))


def counted_schedules_revision():
    """``upgrade, downgrade`` of a service's revision that adds the table of the holiday schedules its deadlines
    were counted with (:func:`jsp_common.schedule_feed.counted_schedules_table`)."""
    from alembic import op

    from .schedule_feed import counted_schedules_table
    table = counted_schedules_table(MetaData())
    return (lambda: table.create(op.get_bind())), (lambda: table.drop(op.get_bind()))


def http_answers_revision():
    """``upgrade, downgrade`` of a service's revision that adds the table of its answers to requests sent with an
    Idempotency-Key (:data:`jsp_common.messaging_tables.http_answers`)."""
    from alembic import op

    from .messaging_tables import http_answers
    table = http_answers.to_metadata(MetaData())
    return (lambda: table.create(op.get_bind())), (lambda: table.drop(op.get_bind()))


def drop_messaging_tables(op) -> None:
    op.execute("DROP TABLE IF EXISTS outbox")
    messaging_metadata.drop_all(op.get_bind(), checkfirst=True)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's Alembic ``env.py`` (online mode, async engine)."""
    from alembic import context

    config = context.config
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    metadatas = [target_metadata, messaging_metadata]

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadatas, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection) -> None:
        context.configure(connection=connection, target_metadata=metadatas)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(**engine_arguments(url), poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())


def alembic_config(service_dir: Path, database_url: str):
    from alembic.config import Config

    cfg = Config(str(service_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def lock_key(database_url: str) -> int:
    """The advisory-lock key of one database's migrations (a signed 64-bit integer)."""
    name = make_url(database_url).database or ""
    return int.from_bytes(hashlib.sha256(f"jsp-migrate:{name}".encode()).digest()[:8], "big", signed=True)


async def upgrade(service_dir: Path, database_url: str, revision: str = "head") -> None:
    """Create the database if needed and migrate it (safe to run from inside an event loop), holding the
    database's migration lock meanwhile so that migrations started together run one after the other."""
    from alembic import command

    await ensure_database(database_url)
    lock = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", lock_key(database_url))
        await asyncio.to_thread(command.upgrade, alembic_config(service_dir, database_url), revision)
    finally:
        await lock.close()  # ends the session, which releases the lock even if the upgrade failed


@lru_cache
def head_revisions(service_dir: Path) -> tuple[frozenset[str], frozenset[str]]:
    """``(heads, every revision)`` of a service's migration chain, read from its scripts."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config(service_dir, ""))
    return frozenset(scripts.get_heads()), frozenset(r.revision for r in scripts.walk_revisions())


def service_dir_of(package: str) -> Path | None:
    """``services/<name>`` of an installed service package, if its migrations are there."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    candidate = Path(spec.origin).resolve().parents[2]
    return candidate if (candidate / "alembic.ini").exists() else None


async def schema_state(connection, service_dir: Path) -> str:
    """``"ok"`` when the database (``connection``: a SQLAlchemy async connection) is at this code's head, or
    past it (a newer release migrated it; its changes keep older code working); otherwise what it is at."""
    from sqlalchemy import text

    heads, known = head_revisions(service_dir)
    try:
        current = set((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    except Exception:  # noqa: BLE001 - no alembic_version table: never migrated
        return "not migrated"
    if current == heads or not current <= known:
        return "ok"
    return f"behind: at {', '.join(sorted(current)) or 'base'}, head {', '.join(sorted(heads))}"


async def downgrade(service_dir: Path, database_url: str, revision: str) -> None:
    """Migrate a database back to ``revision`` (``"base"``: nothing left)."""
    from alembic import command

    await asyncio.to_thread(command.downgrade, alembic_config(service_dir, database_url), revision)
