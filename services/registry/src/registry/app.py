"""The registry's HTTP app (reached only through the gateway, whose signed assertion names the caller)."""

from __future__ import annotations

from fastapi import FastAPI

from jsp_common.http import create_service_app

from .api import adjudication, entities, notifications, rules
from .bootstrap import build
from .settings import Settings


def create_app(settings: Settings | None = None, **build_options) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="JSP registry",
        description="Directory of supervised objects (综合监管对象名录库), responsibility rules, "
                    "dual notification (双告知) and adjudication (研判定性).",
        runtime_factory=lambda: build(settings, **build_options),
        routers=[entities.router, notifications.router, adjudication.router, rules.router],
    )
