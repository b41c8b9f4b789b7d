"""Every service's docs page (``/docs``, Swagger UI) served with nothing from the internet. FastAPI's own pages
load their scripts and style sheet from a CDN (cdn.jsdelivr.net), their icon from fastapi.tiangolo.com and
ReDoc's fonts from Google: on an intranet without the internet, or where those are blocked, the pages stayed
blank. Here Swagger UI's script, style sheet and icon are the files the ``fastapi-offline`` package ships (Swagger
UI 5, which reads OpenAPI 3.1: the ``swagger-ui-bundle`` package's 4.15 cannot), served by the service itself
under ``/docs/static/``. There is no ReDoc page (``/redoc``): ReDoc's script shows its maker's logo from their CDN
on every page, whatever it is told."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DOCS = "/docs"
OAUTH2_REDIRECT = DOCS + "/oauth2-redirect"
ASSETS = DOCS + "/static"  # the page's script, style sheet and icon
ASSET_FILES = str(files("fastapi_offline") / "static")  # swagger-ui-bundle.js, swagger-ui.css, favicon.png
# Swagger UI's validator badge is an image from validator.swagger.io: off.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


class FilesMount(Mount):
    """Static files, which take GET and HEAD only: any other method is a 405 whose ``Allow`` says so (a plain
    mount matches every method)."""

    def matches(self, scope: Scope):
        match, child = super().matches(scope)
        if match == Match.FULL and scope.get("method") not in ("GET", "HEAD"):
            return Match.PARTIAL, child
        return match, child


def install(app: FastAPI) -> None:
    """``/docs``, ``/docs/oauth2-redirect`` and the page's files on ``app`` (made with ``docs_url=None,
    redoc_url=None``); out of its OpenAPI document, like FastAPI's own."""
    app.router.routes.append(FilesMount(ASSETS, app=StaticFiles(directory=ASSET_FILES), name="docs-static"))

    @app.get(DOCS, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")  # behind a proxy that strips a prefix
        return get_swagger_ui_html(
            openapi_url=root + app.openapi_url, title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png", oauth2_redirect_url=root + OAUTH2_REDIRECT,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters={**SWAGGER_UI_PARAMETERS, **(app.swagger_ui_parameters or {})})

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
