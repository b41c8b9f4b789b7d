"""The inspection service's HTTP app (reached only through the gateway, whose signed assertion names the caller)."""

from __future__ import annotations

from fastapi import FastAPI

from jsp_common.http import create_service_app

from .api import draws, inspectors, matters, plans, public, requests, results
from .bootstrap import build
from .settings import Settings


def create_app(settings: Settings | None = None, **build_options) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="JSP inspection",
        description="One list, two directories (一单两库): the key supervision matters, the object and inspector "
                    "directories, departments' plans merged into joint random inspections (双随机、一公开) whose "
                    "draws anyone can verify, results with mutual recognition and their publication.",
        runtime_factory=lambda: build(settings, **build_options),
        routers=[matters.router, inspectors.router, plans.router, draws.router, results.router, requests.router,
                 public.router])
