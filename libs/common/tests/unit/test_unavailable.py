"""Which errors mean "a server is away, try again" (a consumer retries without end and never dead-letters the
message; an API answers 503) and which mean the work itself is wrong."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

from jsp_common.db import is_unavailable


class Translated(Exception):
    """What SQLAlchemy's asyncpg dialect hands on: its own DB-API error carrying the server's SQLSTATE."""

    def __init__(self, message: str, sqlstate: str):
        super().__init__(message)
        self.sqlstate = self.pgcode = sqlstate


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError(111, "Connect call failed"),
    TimeoutError(),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    # PostgreSQL stopped while a handler ran: SQLAlchemy raises a plain DBAPIError, only the SQLSTATE tells
    DBAPIError("SELECT 1", None, Translated("the database system is shutting down", "57P01")),
    DBAPIError("SELECT 1", None, Translated("sorry, too many clients already", "53300")),
    DBAPIError("SELECT 1", None, Translated("connection is closed", "08003")),
    DBAPIError("SELECT 1", None, Translated("gone", "XX000"), connection_invalidated=True),
])
def test_a_server_away_or_in_trouble_is_unavailable(exc):
    assert is_unavailable(exc)


@pytest.mark.parametrize("exc", [
    IntegrityError("INSERT", None, Translated("duplicate key value", "23505")),
    ProgrammingError("SELEC 1", None, Translated("syntax error", "42601")),
    DBAPIError("SELECT 1", None, Translated("division by zero", "22012")),
    ValueError("a bug"),
])
def test_a_statement_or_input_that_is_wrong_is_not(exc):
    assert not is_unavailable(exc)
