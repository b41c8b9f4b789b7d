"""The risk service's HTTP app: ``create_app()``; the lifespan starts its consumers, relay and periodic jobs."""

from __future__ import annotations

from fastapi import FastAPI

from jsp_common.http import create_service_app

from .api import alerts, entities, models
from .bootstrap import build
from .settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="Risk",
        description="Joint monitoring and early warning (联合监测预警): indicators and warning levels as versioned "
                    "data, risk alerts with response plans, device monitoring with automatic clues, credit "
                    "risk classes A-D with their explanation.",
        runtime_factory=lambda: build(settings),
        routers=[alerts.router, entities.router, models.router])
