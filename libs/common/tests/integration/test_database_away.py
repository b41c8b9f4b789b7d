"""A request that needs the database while it is away gets a clear 503 with Retry-After, not a 500."""

from __future__ import annotations

import socket

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from jsp_common.db import Database
from jsp_common.problems import PROBLEM_JSON, install_problem_handlers


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
