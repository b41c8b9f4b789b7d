"""Database engine and sessions (SQLAlchemy 2 async, asyncpg), built once in a service's bootstrap."""

from __future__ import annotations

import asyncio
import itertools
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable

import asyncpg
from sqlalchemy import Float, Numeric, event, text
from sqlalchemy.engine import Result, make_url
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import TypeEngine


# SQLSTATE classes that say the server is in trouble rather than that a statement is wrong: connection exception
# (08), insufficient resources (53), operator intervention (57: shutting down, starting up), system error (58).
_SERVER_TROUBLE = ("08", "53", "57", "58")


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means a server is away or in trouble (try again later: nothing is wrong with the work), as
    opposed to a statement or input the service got wrong: the network (refused, reset, timed out, no route), no
    pooled connection in time, a connection lost, or PostgreSQL shutting down, starting up or out of resources
    (which SQLAlchemy may pass on as a plain ``DBAPIError``: the SQLSTATE says it)."""
    if refused_value(exc) is not None:  # the driver refuses a value as an interface error: not a server away
        return False
    if isinstance(exc, (OSError, asyncio.TimeoutError, PoolTimeout, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            return True
        exc = exc.orig if exc.orig is not None else exc
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return isinstance(state, str) and state[:2] in _SERVER_TROUBLE


def refused_value(exc: BaseException) -> str | None:
    """Why, when ``exc`` is PostgreSQL (or the driver, encoding a parameter) refusing a value it was given: out of
    range, a NUL byte, a bad encoding (SQLSTATE class 22, "data exception"). The caller's input, not a fault of
    the service nor a server away; None for anything else."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    driver = orig.__cause__ if isinstance(orig.__cause__, asyncpg.DataError) else None
    if isinstance(exc, DataError) or isinstance(orig, asyncpg.DataError) or driver is not None or \
            (isinstance(state, str) and state.startswith("22")):
        return str(driver or orig).splitlines()[0][:200]
    return None


def lock_not_available(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a lock taken with ``NOWAIT`` (SQLSTATE 55P03)."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return getattr(orig, "sqlstate", None) == "55P03"


def _returned(dbapi_connection, connection_record) -> None:
    connection_record.info["returned_at"] = time.monotonic()


def _pinger(after_idle_s: float):
    def ping_on_checkout(dbapi_connection, connection_record, connection_proxy) -> None:
        """A connection back from the pool after more than ``after_idle_s`` is tried first, so one the server
        dropped meanwhile (a restart, a failover) is replaced instead of failing the work. SQLAlchemy's
        ``pool_pre_ping`` tries every connection every time, in three round trips (it wraps its ping in a
        transaction for PgBouncer's transaction mode, which no service sits behind); this is one. Raising
        ``DisconnectionError`` makes the pool discard the connection and connect afresh (its connect error, if
        the server is away, is what the caller sees)."""
        if time.monotonic() - connection_record.info.get("returned_at", float("-inf")) <= after_idle_s:
            return
        try:
            dbapi_connection.run_async(lambda conn: conn.fetchrow(";"))
        except Exception as exc:  # noqa: BLE001 - whatever broke, this connection is not to be used
            raise DisconnectionError(f"pooled connection unusable ({type(exc).__name__})") from exc

    return ping_on_checkout


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, ping_after_idle_s: float = 1.0, echo: bool = False,
                 search_path: str | None = None, session_info: dict | None = None):
        """``pool_size``: ``ServiceSettings.db_pool_size``; the pool opens up to twice as many connections as the
        work needs them and keeps every one it opened (SQLAlchemy's overflow would close those above
        ``pool_size`` as each is handed back, and open them again a moment later under load that comes and goes:
        each opening starts a PostgreSQL backend, which cost the server more than the statements it then ran).
        ``ping_after_idle_s``: ``ServiceSettings.db_ping_after_idle_s``. The pool hands out the connection
        used last (LIFO): under light load one connection stays warm and the others idle. ``search_path``:
        the schemas unqualified table names resolve in (e.g. a rebuild writing the same tables in a schema of
        its own); ``session_info``: what every session's ``info`` starts with."""
        self.url = url
        server_settings = {"search_path": search_path} if search_path else None
        self.engine: AsyncEngine = create_async_engine(**engine_arguments(url, server_settings),
                                                       pool_size=2 * pool_size, max_overflow=0,
                                                       pool_use_lifo=True, echo=echo)
        event.listen(self.engine.sync_engine.pool, "checkin", _returned)
        event.listen(self.engine.sync_engine.pool, "checkout", _pinger(ping_after_idle_s))
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, info=session_info)
        self.read_sessions = async_sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                                                expire_on_commit=False, info=session_info)
        self._open: dict[int, asyncio.Task | None] = {}  # the transactions under way, by ticket: who opened each
        self._tickets = itertools.count()
        self._ended: list[asyncio.Future] = []  # woken when a transaction ends
        self.waiting_for_earlier = 0  # callers of earlier_transactions_ended() waiting now

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on error."""
        ticket = next(self._tickets)
        self._open[ticket] = asyncio.current_task()
        try:
            async with self.sessions() as session, session.begin():
                yield session
        finally:
            del self._open[ticket]
            if self._ended:
                ended, self._ended = self._ended, []
                for waiter in ended:
                    if not waiter.done():
                        waiter.set_result(None)

    async def earlier_transactions_ended(self) -> None:
        """Returns once every transaction of this process's ``Database`` that was under way at the call (but the
        caller's own task's) has ended: what they wrote is committed, or never will be. For a change of what
        transactions decide with (a working-day schedule applied) followed by a pass over what they wrote: one
        that decided with the old and committed after the pass would be missed."""
        me = asyncio.current_task()
        earlier = {ticket for ticket, task in self._open.items() if task is not me}
        self.waiting_for_earlier += 1
        try:
            while earlier & self._open.keys():
                waiter = asyncio.get_running_loop().create_future()
                self._ended.append(waiter)
                await waiter
        finally:
            self.waiting_for_earlier -= 1

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """Reads outside a transaction: each statement sees what was committed when it started, as it would in a
        READ COMMITTED transaction (every service's level), without the round trips to begin and commit one."""
        async with self.read_sessions() as session:
            yield session

    async def first(self, query: Query, **params: Any) -> dict | None:
        """The first row of a read ``query`` as a dict (None when there is none), outside a transaction as
        :meth:`reading`, run by asyncpg on a pooled connection: for a read every request makes (the directory's
        lookup), without SQLAlchemy's execution path (sessions, result objects), which costs about 400 µs of CPU
        a statement on this stack against about 75 for asyncpg's."""
        async with self.engine.connect() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            try:
                row = await pg.fetchrow(query.sql, *(params[name] for name in query.params))
            except asyncpg.DataError as exc:  # a value PostgreSQL cannot take: the caller's, as SQLAlchemy says it
                raise DataError(query.sql, params, exc) from exc
        return None if row is None else query.row(row)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class Query:
    """A Core statement (a ``select``, or a ``text()`` one, with ``.columns()`` when it returns rows) compiled once,
    for asyncpg, into PostgreSQL's own text: its parameters (``bindparam`` names) in their positions and its
    columns' result processing, as SQLAlchemy would apply them. Run by :meth:`Database.first` (a read every
    request makes) or :meth:`all` (in a session's transaction)."""

    def __init__(self, statement: Executable):
        dialect = asyncpg_dialect()
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        self.params: list[str] = list(compiled.positiontup or ())
        self._columns = [(c.key, _result_processor(c.type, dialect))
                         for c in getattr(statement, "selected_columns", ())]

    def row(self, record) -> dict:
        return {key: (process(value) if process is not None and value is not None else value)
                for (key, process), value in zip(self._columns, record)}

    async def all(self, session: AsyncSession, **params: Any) -> list[dict]:
        """Run in the session's transaction, on its asyncpg connection; the rows it returns, as dicts."""
        pg = await driver_connection(session)
        return [self.row(r) for r in await pg.fetch(self.sql, *(params[name] for name in self.params))]


def _result_processor(kind: TypeEngine, dialect) -> Callable[[Any], Any] | None:
    """A column type's result processing for asyncpg. A number's depends on the type PostgreSQL returns (a
    ``Float`` column is double precision, a ``Numeric`` one numeric), known here from the column's own type."""
    oid = 701 if isinstance(kind, Float) else 1700 if isinstance(kind, Numeric) else None
    return kind.dialect_impl(dialect).result_processor(dialect, oid)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under a session, in its transaction: for a statement run for every event or over
    thousands of rows, whose rows asyncpg's own records serve as they are (SQLAlchemy's result objects cost
    several microseconds a row more)."""
    raw = await (await session.connection()).get_raw_connection()
    adapted = raw.dbapi_connection  # SQLAlchemy's asyncpg adapter begins the transaction on its first statement:
    if adapted._transaction is None:  # a statement of ours first would run (and commit) outside it
        await adapted._start_transaction()
    return raw.driver_connection


def dicts(result: Result) -> list[dict]:
    """A result's rows as dicts, by column name: the names zipped with each row (``dict(RowMapping)`` looks every
    column up through the mapping, 6-11 us a row of ten columns against 2-4 here)."""
    keys = list(result.keys())
    return [dict(zip(keys, row)) for row in result]


async def first_row(session: AsyncSession, statement, *, for_update: bool = False) -> dict | None:
    """A query's first row as a dict (None when there is none); ``for_update`` locks it for the transaction."""
    result = await session.execute(statement.with_for_update() if for_update else statement)
    keys, row = list(result.keys()), result.first()
    return dict(zip(keys, row)) if row is not None else None


async def all_rows(session: AsyncSession, statement) -> list[dict]:
    """A query's rows as dicts."""
    return dicts(await session.execute(statement))


_ELEMENT_SHARES = text("""
SELECT most_common_elems::text::text[] AS elements, most_common_elem_freqs AS shares FROM pg_stats
WHERE schemaname = current_schema() AND tablename = :relation AND attname = :column""")


async def element_shares(session: AsyncSession, relation: str, column: str) -> dict[str, float]:
    """The share of rows holding each of the commonest elements of an array column (or of an expression index's
    column: ``relation`` the index), from the planner's statistics; empty before it was first analysed."""
    row = (await session.execute(_ELEMENT_SHARES, {"relation": relation, "column": column})).first()
    return dict(zip(row.elements, row.shares)) if row is not None and row.elements else {}


def asyncpg_dsn(url: str) -> str:
    """The plain libpq form of a SQLAlchemy URL (for asyncpg.connect, COPY and psql)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# libpq's TLS options in a URL's query, as a managed PostgreSQL gives them (sslmode=verify-full&sslrootcert=...).
LIBPQ_TLS = frozenset({"sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl"})


def engine_arguments(url: str, server_settings: dict[str, str] | None = None) -> dict[str, Any]:
    """``create_async_engine``'s arguments for ``url``. A URL with libpq's TLS options connects through
    asyncpg's own reading of the DSN (what the raw connections do), since SQLAlchemy would hand those options
    to asyncpg.connect as keywords it does not take: the same URL then works for both."""
    extra = {"server_settings": server_settings} if server_settings else {}
    if not LIBPQ_TLS & set(make_url(url).query):
        return {"url": url, "connect_args": extra}
    dsn = asyncpg_dsn(url)

    async def connect():
        return await asyncpg.connect(dsn, **extra)
    return {"url": make_url(url).set(query={}), "async_creator": connect}


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


def after_commit(session: AsyncSession, effect: Callable[[], None]) -> None:
    """Run ``effect`` once the session's transaction has committed (never if it rolls back): in-memory state (a
    replica's revocations, a cached model) must not run ahead of the database."""
    event.listen(session.sync_session, "after_commit", lambda _session: effect(), once=True)
