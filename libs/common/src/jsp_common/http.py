"""The HTTP side of the service kit: app factory with health, readiness, metrics, problem+json
errors, request ids and trace context."""

from __future__ import annotations

import hashlib
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Iterable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_wsgi_server
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import answers, api_docs, tracing
from .caller import Verifier
from .consumer import claim
from .logs import log_fields
from .outbox import SessionTx
from .problems import install_problem_handlers, problem_response
from .runtime import ServiceRuntime, is_ready
from .settings import ServiceSettings


def get_runtime(request: Request) -> ServiceRuntime[Any]:
    """The service's runtime; a service's ``api/`` types its ``deps`` (``get_runtime(request).deps``)."""
    return request.app.state.runtime


def request_cause(request: Request, caller: str | None = None) -> str | None:
    """What the ids of a request's records and events derive from (``outbox.SessionTx(cause=...)``): the caller
    (``caller``, else the subject the gateway vouched for), the route and its ``Idempotency-Key``, so a resent
    request, or one replayed after a database restore, issues the same ids; None (random ids) without the header,
    and for a caller nobody identified (a sign-in, a public route: a key anyone may send names no request of
    theirs, and takes no effect once for all of them)."""
    key = request.headers.get("idempotency-key")
    if not key:
        return None
    if caller is None:
        verified = getattr(request.state, "verified_principal", None)
        caller = verified.subject if verified is not None else None
    if not caller:
        return None
    return f"{caller}\n{request.method} {request.url.path}\n{key}"


def deps_of(request: Request) -> Any:
    """The service's dependency container (its ``deps.py``), as its bootstrap set it on the runtime."""
    return get_runtime(request).deps


@asynccontextmanager
async def transaction(request: Request, *, once: bool = True) -> AsyncIterator[SessionTx]:
    """The route's own transaction: the use case writes and emits (outbox) in it; committed when the route's
    block ends, rolled back when it raises. Its ids derive from ``request_cause``. A request with an
    ``Idempotency-Key`` takes effect once (``once``; a route that replays its own answers passes False): resent
    after it took effect (its answer lost on the way), it changes nothing and gets its first answer again
    (``jsp_common.answers``; 409 when that is not kept); a resend of one that failed (its transaction rolled back)
    is tried again. Without this, the resend took effect a second time
    and its events, under the first one's ids, were dropped by every consumer's inbox."""
    runtime = get_runtime(request)
    principal = getattr(request.state, "principal", None)
    cause = request_cause(request, getattr(principal, "subject", None))
    request_id = hashlib.sha256(cause.encode()).hexdigest() if cause is not None and once else None
    digest = await answers.request_digest(request) if request_id is not None else None
    async with runtime.db.transaction() as session:
        # Taken in once, as an event is: in the inbox (group "http"), in the request's own transaction.
        if request_id is not None and not await claim(session, "http", [request_id]):
            await answers.answer_again(session, request_id, digest)
        yield SessionTx(session, runtime.source, cause)
    if request_id is not None:
        answers.remember(request, request_id, digest)


@asynccontextmanager
async def reading(request: Request) -> AsyncIterator[AsyncSession]:
    """A route that only reads: its statements outside a transaction (``Database.reading``)."""
    async with get_runtime(request).db.reading() as session:
        yield session


class RequestContext:
    """Every request's id (the caller's ``X-Request-Id``, else a new one) and trace context (a child of the caller's
    ``traceparent``, else a new trace) in the logs' context while it runs, and both on its response. Plain ASGI:
    Starlette's ``BaseHTTPMiddleware`` would run the rest of the request in a task of its own, through streams."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        request_id = headers.get("x-request-id") or str(uuid.uuid4())
        traceparent = tracing.child_of(headers.get("traceparent"))  # a fresh trace when missing or malformed

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers["x-request-id"] = request_id
                response_headers["traceparent"] = traceparent
            await send(message)

        token = tracing.current_traceparent.set(traceparent)
        try:
            with log_fields(request_id=request_id, trace_id=tracing.trace_id_of(traceparent)):
                await self.app(scope, receive, send_with_ids)
        finally:
            tracing.current_traceparent.reset(token)


def create_service_app(*, title: str, settings: ServiceSettings, runtime_factory: Callable[[], ServiceRuntime[Any]],
                       routers: Iterable[APIRouter] = (), description: str = "", version: str = "1.0.0") -> FastAPI:
    """``settings``: the service's own; its caller keys verify the gateway's assertions (``app.state.callers``)."""
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runtime = runtime_factory()
        app.state.runtime = runtime
        await runtime.start()
        metrics = None
        if settings.metrics_port is not None:  # its own port (a thread of prometheus_client's)
            metrics, _ = start_wsgi_server(settings.metrics_port, addr=settings.http_host)
            app.state.metrics_port = metrics.server_port
        try:
            yield
        finally:
            await runtime.stop()
            if metrics is not None:
                metrics.shutdown()
                metrics.server_close()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan, docs_url=None,
                  redoc_url=None)
    api_docs.install(app)  # /docs with Swagger UI's files served here, not from a CDN; no /redoc
    app.state.callers = Verifier.from_settings(settings)
    install_problem_handlers(app)
    app.add_exception_handler(answers.Replayed, answers.replayed)

    app.add_middleware(answers.RememberAnswers)
    app.add_middleware(RequestContext)

    @app.get("/healthz", tags=["operations"],
             summary="Liveness: 503 once a consumer loop has ended or work has stalled (restart me)")
    async def healthz(request: Request):
        stalled = get_runtime(request).stalled()
        if stalled:
            return problem_response(503, "stalled: " + ", ".join(stalled), stalled=stalled)
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"],
             summary="Readiness: database reachable, schema at head (Kafka's state reported, not required)")
    async def readyz(request: Request):
        checks = await get_runtime(request).readiness()
        if is_ready(checks):
            return {"status": "ready", "checks": checks}
        return problem_response(503, "not ready: " + ", ".join(f"{k} {v}" for k, v in checks.items() if v != "ok"),
                                checks=checks)

    if settings.metrics_port is None:
        @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for r in routers:
        app.include_router(r)
    return app
