"""Database engine and sessions (SQLAlchemy 2 async, asyncpg), built once in a service's bootstrap."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False):
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size,
                                                       pool_pre_ping=True, echo=echo)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def asyncpg_dsn(url: str) -> str:
    """The plain libpq form of a SQLAlchemy URL (for asyncpg.connect, COPY and psql)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it does not exist (local and test set-ups). True if created.

    Where the database exists (a CloudNativePG cluster's, made by ``bootstrap.initdb``) nothing else is
    touched: its owner may not connect to ``postgres`` nor create databases."""
    u = make_url(url)
    name = u.database
    try:
        await (await asyncpg.connect(asyncpg_dsn(url))).close()
        return False
    except asyncpg.InvalidCatalogNameError:
        pass
    conn = await asyncpg.connect(asyncpg_dsn(u.set(database="postgres").render_as_string(hide_password=False)))
    try:
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            return False  # created meanwhile by a migration started at the same time
        return True
    finally:
        await conn.close()
