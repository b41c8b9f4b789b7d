"""The gateway app: create_app() builds it; nothing is started at import time."""

from __future__ import annotations

from fastapi import FastAPI

from jsp_common.http import create_service_app

from .api import admin, audit, auth, calendar, entities, ingest, openapi, pages, public
from .api.forward import proxy_endpoint
from .api.methods import AllowMiddleware
from .api.middleware import AuditMiddleware, BodyLimitMiddleware
from .bootstrap import build
from .domain.policy import RULES
from .settings import Settings

DESCRIPTION = """The one authenticated front door of the Joint Supervision Platform (跨部门综合监管平台).

* **Log in**: systems `POST /auth/token` with `grant_type=client_credentials` (client id and secret, or an
  API key as the secret); people `POST /auth/login` (or `grant_type=password`). Send the token as
  `Authorization: Bearer <token>`; systems may also send `X-API-Key` directly.
* **Ingest**: `POST /ingest/registrations` (bureau) and `POST /ingest/work-orders` (hotline), with an
  `Idempotency-Key` header.
* **Services**: `/registry/...`, `/clues/...` and `/risk/...` are the services' own routes, published here with the roles
  each needs; a department sees only what is assigned to it.
* **Entity 360**: `GET /entities/{uscc}/360`.
* Every error is `application/problem+json`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(title="Joint Supervision Platform — gateway", description=DESCRIPTION, settings=settings,
                             runtime_factory=lambda: build(settings),
                             routers=[auth.router, ingest.router, entities.router, audit.router, admin.router,
                                      public.router, calendar.router, pages.router])
    for rule in RULES:
        app.add_api_route(rule.gateway_route, proxy_endpoint(rule), methods=[rule.method], include_in_schema=False,
                          tags=[rule.service])
    openapi.install(app)

    async def record(entry: dict) -> None:
        runtime = getattr(app.state, "runtime", None)
        if runtime is not None:
            await runtime.deps.audit.record(entry)

    app.add_middleware(AllowMiddleware, routes=lambda: app.router.routes)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AuditMiddleware, record=record)
    return app
