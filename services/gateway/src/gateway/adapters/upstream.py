"""The services behind the gateway, over HTTP: pooled connections, timeouts, retries for safe methods only.

The client is aiohttp's: at the gateway's concurrency httpx cost 0.8-1.3 ms of CPU per call here against
0.12-0.17 ms (a bare endpoint, 1 and 32 calls at a time). Cookies a service might set are never kept (one
session serves every caller).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable

import aiohttp
from multidict import CIMultiDictProxy

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


@dataclass(frozen=True)
class Reply:
    """A service's whole answer."""
    status_code: int
    headers: CIMultiDictProxy[str]
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        """The body as JSON (``ValueError`` when it is not)."""
        return json.loads(self.content)


@dataclass(frozen=True)
class Streamed:
    """A service's successful answer whose body is relayed as it comes: ``chunks`` (read once, to its end or
    not; the connection is given back either way)."""
    status_code: int
    headers: CIMultiDictProxy[str]
    chunks: AsyncIterator[bytes]


@dataclass
class Upstream:
    name: str
    base_url: str
    max_connections: int = 100
    max_streams: int = 1000             # live pages' streams, on connections of their own (see stream)
    keep_alive_s: float = 15.0          # an idle connection is closed: below the service's own keep-alive
    connect_timeout_s: float = 1.0
    timeout_s: float = 10.0             # between two reads of an answer
    signer: Signer | None = None        # signs the caller's assertion for this service (audience: its name)
    retries: int = 2
    backoff_s: float = 0.1
    openapi_ttl_s: float = 30.0
    _openapi: dict | None = field(default=None, repr=False)
    _openapi_at: float = 0.0
    _client: aiohttp.ClientSession | None = field(default=None, repr=False)
    _streams: aiohttp.ClientSession | None = field(default=None, repr=False)

    def _session(self, limit: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(base_url=self.base_url, cookie_jar=aiohttp.DummyCookieJar(),
                                     connector=aiohttp.TCPConnector(limit=limit, limit_per_host=limit,
                                                                    keepalive_timeout=self.keep_alive_s))

    @property
    def client(self) -> aiohttp.ClientSession:
        """One pooled session for every caller, made on first use (in the running event loop)."""
        if self._client is None:
            self._client = self._session(self.max_connections)
        return self._client

    @property
    def stream_client(self) -> aiohttp.ClientSession:
        """The live pages' streams: each holds its connection while its page is open, so they have a pool of
        their own; in the callers' pool a hundred open pages took every connection, and every page and call
        waited for one until it timed out."""
        if self._streams is None:
            self._streams = self._session(self.max_streams)
        return self._streams

    async def close(self) -> None:
        for session in (self._client, self._streams):
            if session is not None:
                await session.close()
        self._client = self._streams = None

    def assertion(self, principal: Principal) -> dict[str, str]:
        """The header proving ``principal`` to this service (jsp_common.caller)."""
        return self.signer.headers(principal, self.name) if self.signer else {}

    def _timeout(self, read_s: float | None) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None, connect=self.connect_timeout_s,
                                     sock_read=self.timeout_s if read_s is None else read_s)

    async def request(self, method: str, path: str, *, principal: Principal | None = None, params=None,
                      headers=None, content: bytes | None = None, timeout_s: float | None = None) -> Reply:
        """On behalf of ``principal`` (signed for this service). ``timeout_s``: this call's own read timeout
        instead of the client's (a long-running route)."""
        if principal is not None:
            headers = {**(headers or {}), **self.assertion(principal)}
        timeout = self._timeout(timeout_s)

        async def once() -> Reply:
            async with self.client.request(method, path, params=params, headers=headers, data=content,
                                           timeout=timeout, allow_redirects=False) as resp:
                return Reply(resp.status, resp.headers, await resp.read())
        return await self._with_retries(method, once)

    async def relay(self, path: str, *, principal: Principal | None = None, params=None, headers=None
                    ) -> Reply | Streamed:
        """A GET whose answer may be large (a draw's public record): a successful answer's body relayed as the service
        sends it (``Streamed``), on a connection of the streams' pool held while the caller reads it; any other
        answer whole (``Reply``), retried as ``request`` does. The client's read timeout is between two reads of
        the body, not for the whole of it."""
        if principal is not None:
            headers = {**(headers or {}), **self.assertion(principal)}
        timeout = self._timeout(None)

        async def once() -> Reply | Streamed:
            resp = await self.stream_client.get(path, params=params, headers=headers, timeout=timeout,
                                                allow_redirects=False)
            if 200 <= resp.status < 300:
                return Streamed(resp.status, resp.headers, _body(resp))
            async with resp:
                return Reply(resp.status, resp.headers, await resp.read())
        return await self._with_retries("GET", once)

    async def _with_retries(self, method: str, once: Callable[[], Awaitable[Reply | Streamed]]) -> Any:
        """``once()`` tried again after a backoff when it times out, cannot connect or is answered a status worth
        retrying, as often as ``retries`` allows for a safe method (a write is sent once); the last failure as an
        :class:`UpstreamError` (504: no answer in time, 503: unreachable)."""
        safe = method.upper() in SAFE_METHODS
        attempts = 1 + (self.retries if safe else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                answer = await once()
            except asyncio.TimeoutError:  # aiohttp's own timeouts are this too
                if last:
                    raise UpstreamError(self.name, 504, "did not answer in time") from None
            except aiohttp.ClientError as exc:
                if last:
                    raise UpstreamError(self.name, 503, f"is unavailable ({type(exc).__name__})") from None
            else:
                if answer.status_code not in RETRY_STATUSES or last or not safe:
                    return answer
            await asyncio.sleep(self.backoff_s * (2 ** attempt))
        raise AssertionError("unreachable")

    async def stream(self, path: str, *, headers: dict[str, str], idle_timeout_s: float,
                     keep_open: Callable[[], bool] = lambda: True, recheck_s: float | None = None
                     ) -> tuple[Reply | None, AsyncIterator[bytes] | None]:
        """A long answer relayed as it comes (server-sent events): ``(reply, None)`` when the service answered
        anything but 200 (whole), else ``(None, chunks)``; the chunks end when the service or the connection
        does, or when ``keep_open()`` turns false: asked before each chunk is passed on and every ``recheck_s``
        seconds between chunks (a quiet stream is ended too). ``UpstreamError`` (503) when it cannot be reached."""
        try:
            resp = await self.stream_client.get(path, headers=headers, timeout=self._timeout(idle_timeout_s),
                                                allow_redirects=False)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise UpstreamError(self.name, 503, f"is unavailable ({type(exc).__name__})") from None
        if resp.status != 200:
            async with resp:
                try:
                    return Reply(resp.status, resp.headers, await resp.read()), None
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # the answer broke off
                    raise UpstreamError(self.name, 503, f"is unavailable ({type(exc).__name__})") from None

        async def chunks() -> AsyncIterator[bytes]:
            read: asyncio.Future[bytes] | None = None  # the next chunk, awaited across rechecks
            try:
                while True:
                    if read is None:
                        read = asyncio.ensure_future(resp.content.readany())
                    await asyncio.wait({read}, timeout=recheck_s)
                    chunk = b""
                    if read.done():
                        chunk, read = read.result(), None
                        if not chunk:
                            return  # the service ended it
                    if not keep_open():
                        return
                    if chunk:
                        yield chunk
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return  # the page reconnects by itself (EventSource)
            finally:
                if read is not None:
                    read.cancel()
                resp.release()

        return None, chunks()

    async def openapi(self) -> dict | None:
        """The service's OpenAPI document (cached; None while the service is down)."""
        now = time.monotonic()
        if self._openapi is not None and now - self._openapi_at < self.openapi_ttl_s:
            return self._openapi
        try:
            async with self.client.get("/openapi.json", timeout=aiohttp.ClientTimeout(total=2.0)) as resp:
                resp.raise_for_status()
                self._openapi, self._openapi_at = json.loads(await resp.read()), now
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("service OpenAPI unavailable", service=self.name, error=type(exc).__name__)
            return self._openapi  # the last good one, if any
        return self._openapi


async def _body(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """A relayed answer's body as it comes. Broken off (the service gone, or silent past the read timeout), it
    ends with an error: the caller's connection is closed short of the length announced, never taken for whole."""
    try:
        async for chunk in resp.content.iter_any():
            yield chunk
    finally:
        resp.release()
