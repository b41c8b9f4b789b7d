"""A request that needs the database while it is away gets a clear 503 with Retry-After, not a 500; one whose
value the database refuses gets the caller's 400, not a 500 nor a 503."""

from __future__ import annotations

import socket

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from jsp_common.db import Database, ensure_database
from jsp_common.problems import PROBLEM_JSON, install_problem_handlers
from jsp_testkit.testing import unique_database_url


def closed_port() -> int:
    """A local port nothing listens on (bound, then released): connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_request_while_the_database_is_away_is_a_503_to_retry():
    db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/away")
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/things")
    async def things() -> list:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
        return []

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://service") as client:
            r = await client.get("/things")
    finally:
        await db.dispose()
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == PROBLEM_JSON and r.headers["retry-after"] == "5"
    assert "database" in r.json()["detail"]


async def test_a_value_the_database_refuses_is_the_caller_s_400(settings):
    url = unique_database_url(settings, "refused_values")
    await ensure_database(url)
    db = Database(url)
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/echo")
    async def echo(text_: str | None = None, number: int | None = None) -> list:
        async with db.transaction() as session:
            if text_ is not None:  # PostgreSQL refuses a NUL byte in text (SQLSTATE 22021)
                return [(await session.execute(text("SELECT CAST(:t AS text)"), {"t": text_})).scalar()]
            # the driver cannot encode the parameter (a value out of int4's range)
            return [(await session.execute(text("SELECT CAST(:n AS int4) + 0"), {"n": number})).scalar()]

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://service") as client:
            nul = await client.get("/echo", params={"text_": "a\x00b"})
            big = await client.get("/echo", params={"number": 2**40})
            fine = await client.get("/echo", params={"number": 7})
    finally:
        await db.dispose()
    for r in (nul, big):
        assert r.status_code == 400 and r.headers["content-type"] == PROBLEM_JSON, r.text
        assert r.json()["detail"].startswith("a value in the request is not acceptable")
    assert fine.json() == [7]
