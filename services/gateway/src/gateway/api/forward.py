"""Forwarding a call to a service: the caller's signed assertion, request id and trace context ride along."""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import StreamingResponse

from jsp_common import tracing
from jsp_common.http import deps_of
from jsp_common.logs import get_logger
from jsp_common.principal import Principal
from jsp_common.problems import PROBLEM_JSON, Problem
from structlog.contextvars import get_contextvars

from ..adapters.upstream import Streamed, UpstreamError
from ..domain.policy import Rule, department_query_allowed
from .security import public_caller, require

log = get_logger(__name__)
PASS_REQUEST = ("content-type", "accept", "accept-language", "idempotency-key", "if-match", "if-none-match")
PASS_RESPONSE = ("content-type", "location", "etag", "cache-control", "link", "x-total-count", "retry-after",
                 "idempotent-replayed")


def upstream_headers(request: Request) -> dict[str, str]:
    """What rides along to a service; the caller's assertion is added per service by ``Upstream.request``."""
    headers = {k: v for k in PASS_REQUEST if (v := request.headers.get(k))}
    request_id = get_contextvars().get("request_id")
    if request_id:
        headers["x-request-id"] = request_id
    traceparent = tracing.current_traceparent.get()
    if traceparent:
        headers["traceparent"] = traceparent
    return headers


ANONYMOUS = Principal(subject="public", kind="person", roles=[])


async def _anyone(request: Request) -> Principal:
    """A public route's caller: no token, rate-limited per address."""
    await public_caller(request)
    return ANONYMOUS


def proxy_endpoint(rule: Rule):
    async def endpoint(request: Request,
                       principal: Principal = Depends(require(*rule.roles) if rule.roles else _anyone)) -> Response:
        if not department_query_allowed(
                rule, principal.roles, principal.department, request.query_params.get(rule.department_param)):
            raise Problem(404, "a department sees only what is assigned to its own department")
        if any(v in (".", "..") for v in request.path_params.values()):  # the upstream URL would resolve them
            raise Problem(404, "no such " + rule.path.rsplit("{", 1)[-1].rstrip("}/"))  # to another route
        path = rule.path.format(**{k: quote(str(v), safe="") for k, v in request.path_params.items()})
        body = await request.body() if rule.method not in ("GET", "HEAD") else None
        try:
            deps = deps_of(request)
            params = list(request.query_params.multi_items())
            if rule.streamed:
                resp = await deps.upstreams[rule.service].relay(path, principal=principal, params=params,
                                                                headers=upstream_headers(request))
            else:
                resp = await deps.upstreams[rule.service].request(
                    rule.method, path, principal=principal, params=params, headers=upstream_headers(request),
                    content=body, timeout_s=deps.settings.upstream_long_timeout_s if rule.long_running else None)
        except UpstreamError as exc:
            raise Problem(exc.status, str(exc) + "; try again later", service=exc.service) from None
        if resp.status_code == 503:  # the service is there but cannot serve now (its database away): say when
            raise Problem(503, f"the {rule.service} service cannot answer now; try again later", service=rule.service,
                          headers={"Retry-After": resp.headers.get("retry-after", "5")})
        if resp.status_code >= 500:
            log.warning("service failed", service=rule.service, status=resp.status_code, path=path)
            raise Problem(502, f"the {rule.service} service failed to answer this request "
                               f"(status {resp.status_code})", service=rule.service)
        headers = {k: v for k in PASS_RESPONSE if (v := resp.headers.get(k))}
        if isinstance(resp, Streamed):  # a success, relayed as it comes (its length told when the service tells it)
            if length := resp.headers.get("content-length"):
                headers["content-length"] = length
            return StreamingResponse(resp.chunks, status_code=resp.status_code, headers=headers)
        content = resp.content
        if headers.get("content-type", "").startswith(PROBLEM_JSON):
            content = public_problem(content, request.url.path)
        return Response(content=content, status_code=resp.status_code, headers=headers)

    endpoint.__name__ = f"{rule.service}_{rule.method.lower()}_{rule.path.strip('/').replace('/', '_')}"
    return endpoint


def public_problem(content: bytes, path: str) -> bytes:
    """A service's problem document as the caller sees it: its ``instance`` is the path the caller called at the
    gateway (``/registry/entities/…``), not the service's own (``/entities/…``)."""
    try:
        problem = json.loads(content)
    except ValueError:
        return content
    if not isinstance(problem, dict) or "instance" not in problem:
        return content
    return json.dumps({**problem, "instance": path}, ensure_ascii=False, separators=(",", ":")).encode()
