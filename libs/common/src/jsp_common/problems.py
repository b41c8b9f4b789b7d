"""Errors as RFC 9457 problem details (``application/problem+json``), never a stack trace."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .db import is_unavailable, refused_value
from .envelope import describe, field_errors
from .logs import get_logger
from .outbox import EventTooLarge

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_S = 5
log = get_logger(__name__)

_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           409: "Conflict", 413: "Request too large", 415: "Unsupported media type", 422: "Invalid request",
           429: "Too many requests", 500: "Internal error", 502: "Bad gateway", 503: "Service unavailable",
           504: "Gateway timeout"}


class Problem(Exception):
    """Raise from a route or handler to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, title: str | None = None, type: str = "about:blank",
                 errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.title, self.type = status, detail, title or _TITLES.get(status, "Error"), type
        self.errors, self.headers, self.extra = errors, headers, extra


def problem_response(status: int, detail: str, *, title: str | None = None, instance: str | None = None,
                     type: str = "about:blank", errors: list | None = None, headers: dict | None = None,
                     **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": type, "title": title or _TITLES.get(status, "Error"), "status": status,
                            "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc.status, exc.detail, title=exc.title, type=exc.type, errors=exc.errors,
                                instance=request.url.path, headers=exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem_response(exc.status_code, detail, instance=request.url.path,
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = field_errors(exc)
        return problem_response(422, "The request is not valid: " + describe(errors), errors=errors,
                                instance=request.url.path)

    @app.exception_handler(EventTooLarge)
    async def _too_large(request: Request, exc: EventTooLarge):
        # What the request asks for would be published as one event larger than a message may be: nothing done.
        return problem_response(422, f"nothing was done: {exc.reason}", instance=request.url.path)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError):
        # A value PostgreSQL cannot store or compare (out of range, NUL byte, bad encoding): the caller's input.
        reason = refused_value(exc)
        if reason is not None:
            return problem_response(400, f"a value in the request is not acceptable: {reason}",
                                    instance=request.url.path)
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        if is_unavailable(exc):
            # Not the caller's fault and not a bug: the database (or another server) is away; a clear 503 to retry.
            log.warning("a server the request needs is unavailable", path=request.url.path, error=repr(exc)[:300])
            return problem_response(503, "The service's database is unavailable; try again shortly.",
                                    instance=request.url.path, headers={"Retry-After": str(RETRY_AFTER_S)})
        log.exception("unhandled error", path=request.url.path)
        return problem_response(500, "An unexpected error occurred; it has been logged.", instance=request.url.path)
