"""Request size limits and the audit record of every call (pure ASGI: no per-request task switching)."""

from __future__ import annotations

import time
from typing import Callable

from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from jsp_common import api_docs, clock, tracing
from jsp_common.principal import Principal
from jsp_common.problems import problem_response

UNAUDITED = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", api_docs.DOCS, api_docs.OAUTH2_REDIRECT,
                       "/favicon.ico"})
UNAUDITED_UNDER = api_docs.ASSETS + "/"  # the docs page's script, style sheet and icon


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    if status == 404:
        return "not_found"
    if status == 429:
        return "limited"
    if status < 500:
        return "rejected"
    if status in (502, 503, 504):
        return "unavailable"
    return "failed"


_NUL = b"%00"


class BodyLimitMiddleware:
    """Refuses a NUL character in the path or query (no service stores one: 400), and refuses a body larger than ``max_bytes`` (413 problem document): an announced one (Content-Length)
    before it is read, a streamed one as soon as it grows past the limit (Starlette's counter)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = RequestBodyLimitMiddleware(app, max_bytes), max_bytes

    def _too_large(self, scope):
        return problem_response(413, f"the request body is larger than {self.max_bytes:,} bytes, the most one request "
                                "carries: split a large load (a batch of matters, a roster of inspectors) into several "
                                "requests", instance=scope["path"], max_body_bytes=self.max_bytes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if _NUL in scope.get("query_string", b"") or "\x00" in scope["path"]:
            return await problem_response(400, "the request line contains a NUL character (%00)",
                                          instance=scope["path"].replace("\x00", ""))(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await self._too_large(scope)(scope, receive, send)
        replaced = False

        async def as_problem(message):
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 413 and \
                    dict(message.get("headers", [])).get(b"content-type", b"").startswith(b"text/plain"):
                replaced = True
                return await self._too_large(scope)(scope, receive, send)
            if not replaced:
                await send(message)

        await self.app(scope, receive, as_problem)


class AuditMiddleware:
    """Records who called which route about which object, when, and the outcome — for every call."""

    def __init__(self, app, record: Callable):
        self.app, self.record = app, record

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in UNAUDITED or scope["path"].startswith(UNAUDITED_UNDER):
            return await self.app(scope, receive, send)
        started, at = time.monotonic(), clock.now()
        seen: dict = {"status": 500, "headers": {}}

        async def capture(message):
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                seen["headers"] = {k.decode().lower(): v.decode("latin-1") for k, v in message.get("headers", [])
                                   if k.lower() in (b"x-request-id", b"traceparent")}  # header bytes, as HTTP has them
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            await self.record(self.entry(scope, seen, at, started))

    @staticmethod
    def entry(scope, seen: dict, at, started: float) -> dict:
        state = scope.get("state") or {}
        principal: Principal | None = state.get("principal")
        route = scope.get("route")
        params = scope.get("path_params") or {}
        object_id = state.get("audit_object") or next(iter(params.values()), None)
        client = scope.get("client")
        return dict(
            at=at, request_id=seen["headers"].get("x-request-id"),
            trace_id=tracing.trace_id_of(seen["headers"].get("traceparent")),
            subject=principal.subject if principal else None, kind=principal.kind if principal else None,
            department=principal.department if principal else None,
            roles=[r.value for r in principal.roles] if principal else None,
            method=scope["method"], route=getattr(route, "path", None) or "(no route)",
            path=_storable(scope["path"][:1000]),
            object_id=_storable(str(object_id)[:200]) if object_id is not None else None,
            status=seen["status"], outcome=outcome_of(seen["status"]),
            client_ip=client[0] if client else None, duration_ms=int((time.monotonic() - started) * 1000))


def _storable(text: str) -> str:
    """``text`` as PostgreSQL can store it: a NUL byte (a caller may put %00 in a path) as U+FFFD."""
    return text.replace("\x00", "\ufffd")
