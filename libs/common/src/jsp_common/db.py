"""Database engine and sessions (SQLAlchemy 2 async, asyncpg), built once in a service's bootstrap."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


# SQLSTATE classes that say the server is in trouble rather than that a statement is wrong: connection exception
# (08), insufficient resources (53), operator intervention (57: shutting down, starting up), system error (58).
_SERVER_TROUBLE = ("08", "53", "57", "58")


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means a server is away or in trouble (try again later: nothing is wrong with the work), as
    opposed to a statement or input the service got wrong: the network (refused, reset, timed out, no route), no
    pooled connection in time, a connection lost, or PostgreSQL shutting down, starting up or out of resources
    (which SQLAlchemy may pass on as a plain ``DBAPIError``: the SQLSTATE says it)."""
    if isinstance(exc, (OSError, asyncio.TimeoutError, PoolTimeout, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            return True
        exc = exc.orig if exc.orig is not None else exc
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return isinstance(state, str) and state[:2] in _SERVER_TROUBLE


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
