"""The dashboard's HTTP app: ``create_app()`` only (pages, the live stream, static files)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from jsp_common.http import create_service_app

from .api import errors, office, public, stream
from .api.render import STATIC_DIR
from .bootstrap import build
from .settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings=settings,
        title="Dashboard",
        description="The task-force office's command dashboard and the public pages (一公开), rendered from a read "
                    "model built from the platform's topics; reached through the gateway.",
        runtime_factory=lambda: build(settings),
        routers=[public.router, public.login_router, stream.router, office.router])
    errors.install(app)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
