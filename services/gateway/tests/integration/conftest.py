"""The real gateway app on a test database and the real Kafka; the services behind it are not running
here (their addresses point at a closed port), which is exactly the degraded case for proxied routes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest_asyncio

from jsp_common.migrations import upgrade
from jsp_common.outbox import SessionTx
from jsp_common.principal import Role
from jsp_testkit.testing import unique

from gateway.usecases import clients
from gateway.domain.identity import ClientSpec, Kind
from gateway.app import create_app
from gateway.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parents[2]
CLOSED = "http://127.0.0.1:9"  # nothing listens on the discard port: connection refused at once
DEPARTMENT = "samr-410100"
OTHER_DEPARTMENT = "samr-410200"


def gateway_settings(base, **overrides) -> Settings:
    values = dict(database_url=f"{base.postgres_url}/gateway_test", registry_url=CLOSED, clues_url=CLOSED, risk_url=CLOSED,
                  environment="test", upstream_retry_backoff_s=0.01, audit_flush_interval_s=0.05,
                  revocation_refresh_s=0.5, metrics_port=0)
    values.update(overrides)
    return Settings(**values)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gateway_db(settings) -> str:
    url = f"{settings.postgres_url}/gateway_test"
    await upgrade(SERVICE_DIR, url)
    return url


class Running:
    def __init__(self, app, client: httpx.AsyncClient):
        self.app, self.http = app, client

    @property
    def runtime(self):
        return self.app.state.runtime

    async def client_for(self, *roles: Role, department: str | None = None, person: bool = False) -> dict:
        """A new client holding ``roles``; returns its ids, secret and a token (through /auth/token)."""
        name = unique("client")
        spec = ClientSpec(name=name, kind=Kind.PERSON if person else Kind.SYSTEM, roles=tuple(roles),
                          department=department, username=name if person else None)
        async with self.runtime.db.transaction() as session:
            client, cred = await clients.create_client(self.runtime.deps, SessionTx(session, self.runtime.source),
                                                       spec, by="test")
        if person:
            form = {"grant_type": "password", "username": name, "password": cred.secret}
        else:
            form = {"grant_type": "client_credentials", "client_id": client["client_id"],
                    "client_secret": cred.secret}
        resp = await self.http.post("/auth/token", data=form)
        assert resp.status_code == 200, resp.text
        token = resp.json()["access_token"]
        return {"client_id": client["client_id"], "secret": cred.secret, "username": name,
                "credential_id": cred.credential_id, "token": token,
                "headers": {"Authorization": f"Bearer {token}"}}


async def start(settings: Settings, *, address: str = "127.0.0.1"):
    """The gateway app started, and a client calling it from ``address``."""
    app = create_app(settings)
    ctx = app.router.lifespan_context(app)
    await ctx.__aenter__()
    return Running(app, calling(app, address)), ctx


def calling(app, address: str) -> httpx.AsyncClient:
    """A client calling ``app`` from ``address`` (each address has a rate limit of its own)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 4000)), base_url="http://gateway")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gw(gateway_db, settings, kafka_topics):
    running, ctx = await start(gateway_settings(settings))
    yield running
    await running.http.aclose()
    await ctx.__aexit__(None, None, None)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def actors(gw) -> dict[str, dict]:
    """One caller per role (and a second department), shared by the tests that only read."""
    return {
        "office": await gw.client_for(Role.OFFICE, person=True),
        "admin": await gw.client_for(Role.ADMIN, person=True),
        "department": await gw.client_for(Role.DEPARTMENT, department=DEPARTMENT),
        "other_department": await gw.client_for(Role.DEPARTMENT, department=OTHER_DEPARTMENT),
        "bureau": await gw.client_for(Role.BUREAU),
        "hotline": await gw.client_for(Role.HOTLINE),
    }


def is_problem(resp: httpx.Response) -> bool:
    return resp.headers.get("content-type", "").startswith("application/problem+json") and \
        {"title", "status", "detail"} <= set(resp.json()) and "Traceback" not in resp.text
