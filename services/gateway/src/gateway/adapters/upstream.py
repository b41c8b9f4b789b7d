"""The services behind the gateway, over HTTP: pooled connections, timeouts, retries for safe methods only."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from jsp_common.caller import Signer
from jsp_common.logs import get_logger
from jsp_common.principal import Principal

log = get_logger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})


class UpstreamError(Exception):
    """The service could not answer: ``status`` is what the gateway answers (503 down, 504 too slow)."""

    def __init__(self, service: str, status: int, reason: str):
        super().__init__(f"the {service} service {reason}")
        self.service, self.status, self.reason = service, status, reason


@dataclass
class Upstream:
    name: str
    client: httpx.AsyncClient
    signer: Signer | None = None        # signs the caller's assertion for this service (audience: its name)
    retries: int = 2
    backoff_s: float = 0.1
    openapi_ttl_s: float = 30.0
    _openapi: dict | None = field(default=None, repr=False)
    _openapi_at: float = 0.0

    def assertion(self, principal: Principal) -> dict[str, str]:
        """The header proving ``principal`` to this service (jsp_common.caller), fresh for each call."""
        return self.signer.headers(principal, self.name) if self.signer else {}

    async def request(self, method: str, path: str, *, principal: Principal | None = None, params=None,
                      headers=None, content: bytes | None = None, timeout_s: float | None = None) -> httpx.Response:
        """On behalf of ``principal`` (signed for this service). ``timeout_s``: this call's own read timeout
        instead of the client's (a long-running route)."""
        if principal is not None:
            headers = {**(headers or {}), **self.assertion(principal)}
        attempts = 1 + (self.retries if method.upper() in SAFE_METHODS else 0)
        timeout = (httpx.Timeout(timeout_s, connect=self.client.timeout.connect) if timeout_s is not None
                   else httpx.USE_CLIENT_DEFAULT)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                resp = await self.client.request(method, path, params=params, headers=headers, content=content,
                                                 timeout=timeout)
            except httpx.TimeoutException:
                if last:
                    raise UpstreamError(self.name, 504, "did not answer in time") from None
            except httpx.TransportError as exc:
                if last:
                    raise UpstreamError(self.name, 503, f"is unavailable ({type(exc).__name__})") from None
            else:
                if resp.status_code not in RETRY_STATUSES or last or method.upper() not in SAFE_METHODS:
                    return resp
                await resp.aclose()
            await asyncio.sleep(self.backoff_s * (2 ** attempt))
        raise AssertionError("unreachable")

    async def openapi(self) -> dict | None:
        """The service's OpenAPI document (cached; None while the service is down)."""
        now = time.monotonic()
        if self._openapi is not None and now - self._openapi_at < self.openapi_ttl_s:
            return self._openapi
        try:
            resp = await self.client.get("/openapi.json", timeout=2.0)
            resp.raise_for_status()
            self._openapi, self._openapi_at = resp.json(), now
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("service OpenAPI unavailable", service=self.name, error=type(exc).__name__)
            return self._openapi  # the last good one, if any
        return self._openapi


def build_client(base_url: str, *, connect_timeout_s: float, timeout_s: float, max_connections: int
                 ) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        follow_redirects=False,
    )
