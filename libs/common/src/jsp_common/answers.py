"""Answers to requests sent with an Idempotency-Key, answered again to the same request resent.

A request with the header takes effect once (``http.transaction`` claims it in the inbox, in its own transaction).
Resent (its answer lost on the way: a timeout, a dropped connection) it changes nothing, and the caller gets the
answer it missed, status and body, with ``Idempotent-Replayed: true``: a department's system that created a plan
learns its id. The answer is kept before it goes out (:class:`RememberAnswers`), in a transaction of its own; a
resend that comes while the first is still being answered, or after the answer was purged with the outbox's sent
events, is answered 409 as before. The same key with another query or body is refused (409): a key names one
request. Only an identified caller's requests are kept (``http.request_cause``). An answer that shows something once
(a new credential's secret) is kept without it (:func:`keep_instead`): a kept answer stays about a day in the
service's database and is served to the resend."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import get_logger
from .messaging_tables import http_answers
from .problems import Problem

log = get_logger(__name__)
REPLAYED = "Idempotent-Replayed"
_PENDING = "jsp_answer_to"
_KEPT = "jsp_answer_kept"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class _Pending:
    request_id: str
    request_digest: str | None


class Replayed(Exception):
    """Raised where a resent request is recognised: answered with the first answer (``replayed``)."""

    def __init__(self, status: int, media_type: str | None, location: str | None, body: bytes):
        super().__init__(status)
        self.status, self.media_type, self.location, self.body = status, media_type, location, body


def replayed(request: Request, exc: Replayed) -> Response:
    headers = {REPLAYED: "true", **({"Location": exc.location} if exc.location else {})}
    return Response(exc.body, status_code=exc.status, media_type=exc.media_type, headers=headers)


async def request_digest(request: Request) -> str | None:
    """SHA-256 of the request's query and body, what tells one request from another sent to the same route with
    the same key (a dry run from the real one); None when a form read the body as a stream: not compared then."""
    try:
        body = await request.body()
    except RuntimeError:
        return None
    return hashlib.sha256(request.url.query.encode() + b"\n" + body).hexdigest()


async def answer_again(session: AsyncSession, request_id: str, digest: str | None) -> None:
    """For a request that took effect already: raise :class:`Replayed` with its answer, or a 409 problem."""
    row = (await session.execute(select(http_answers).where(http_answers.c.request_id == request_id))).first()
    if row is not None and None not in (row.request_digest, digest) and row.request_digest != digest:
        raise Problem(409, "this Idempotency-Key was used for a different request: send a new key for a new request")
    if row is not None:
        raise Replayed(row.status, row.media_type, row.location, row.body)
    raise Problem(409, "this request (its Idempotency-Key) took effect already: nothing was done again; read the "
                       "result, or send a new key for a new request")


def remember(request: Request, request_id: str, digest: str | None) -> None:
    """The request took effect (its transaction committed): keep its answer once it is complete."""
    setattr(request.state, _PENDING, _Pending(request_id, digest))


def keep_instead(request: Request, body: bytes) -> None:
    """What to keep of this request's answer for a resend, instead of the answer sent: an answer showing a secret
    once keeps ``body``, the same answer without the secret and saying why (it is never stored)."""
    setattr(request.state, _KEPT, body)


class RememberAnswers:
    """Plain ASGI: keeps the answer of a write with an Idempotency-Key whose route marked it (:func:`remember`),
    before the answer goes out: a caller that has the answer and sends the request again (a retry that crossed
    it, a system that resends every request it is unsure of) gets it replayed, never the 409 of a request that
    took effect. The responses of writes with the header are held in memory until then."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WRITES or \
                not any(k == b"idempotency-key" for k, _ in scope["headers"]):
            return await self.app(scope, receive, send)
        start: dict = {}
        body: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                return await send(message)
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            whole = b"".join(body)
            state = scope.get("state", {})
            pending: _Pending | None = state.get(_PENDING)
            if pending is not None and start["status"] < 500:
                kept: bytes | None = state.get(_KEPT)
                await _keep(scope["app"].state.runtime.db, pending, start, whole if kept is None else kept)
            await send(start)
            await send({"type": "http.response.body", "body": whole, "more_body": False})

        await self.app(scope, receive, keep)


async def _keep(db, pending: _Pending, start: dict, body: bytes) -> None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
    try:
        async with db.transaction() as session:
            await session.execute(insert(http_answers).values(
                request_id=pending.request_id, request_digest=pending.request_digest, status=start["status"],
                media_type=headers.get("content-type"), location=headers.get("location"), body=body)
                .on_conflict_do_nothing())
    except Exception as exc:  # noqa: BLE001 - the request took effect; a resend is answered 409 instead
        log.warning("answer of a request with an Idempotency-Key not kept", error=repr(exc)[:300])
