"""The clues service's HTTP app: ``create_app()``; the lifespan starts consumers, relay and periodic scan."""

from __future__ import annotations

from fastapi import FastAPI

from jsp_common.http import create_service_app

from .api.routes import router
from .bootstrap import build
from .settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="Clues",
        description="Clues from the 12345 hotline and other channels: routing, handling on working-day "
                    "deadlines, replies, duplicates and case transfer to public security.",
        runtime_factory=lambda: build(settings),
        routers=[router])
