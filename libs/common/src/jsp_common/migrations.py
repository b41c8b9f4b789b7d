"""Alembic per service: the shared ``env.py`` body and a programmatic upgrade for start-up steps and tests.

A service's ``migrations/env.py`` is two lines::

    from jsp_common.migrations import run_env
    from registry.adapters.tables import metadata
    run_env(metadata)

Its first revision creates the messaging tables with :func:`create_messaging_tables`.
Migrations run as a separate step (``python -m <service> migrate``), never inside the app.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import MetaData, pool
from sqlalchemy.ext.asyncio import create_async_engine

from .db import ensure_database
from .messaging_tables import metadata as messaging_metadata


def create_messaging_tables(op) -> None:
    """Create the outbox and inbox tables in a migration (``op`` is ``alembic.op``)."""
    bind = op.get_bind()
    messaging_metadata.create_all(bind, checkfirst=True)


def drop_messaging_tables(op) -> None:
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
        engine = create_async_engine(url, poolclass=pool.NullPool)
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


async def upgrade(service_dir: Path, database_url: str, revision: str = "head") -> None:
    """Create the database if needed and migrate it (safe to run from inside an event loop)."""
    from alembic import command

    await ensure_database(database_url)
    await asyncio.to_thread(command.upgrade, alembic_config(service_dir, database_url), revision)
