"""The dashboard's pages through the front door: people sign in on a page, and the token the gateway issues
(the same POST /auth/login) is kept in an HttpOnly cookie, never seen by scripts or pasted by hand.

``/ui/public/...``, ``/ui/static/...`` and ``/ui/login`` are public; every other ``/ui/...`` page needs a
signed-in office or department person (no cookie: back to the sign-in page). The pages are forwarded to the
dashboard service with the caller's signed assertion, like any service route, and with the person's token, which the
dashboard uses to ask the gateway for an entity's 360 view under the person's own rights. The live stream
(server-sent events) is forwarded as a stream, and a person's stream is closed once their session ends (signed
out, over, its credential revoked or the account disabled). A page of a session in use gets a fresh token in the
cookie once the one it has is past half its life (``domain/sessions.py``); an open live page asks for it every
minute (``POST /ui/session``), so a wall screen stays signed in to the session's end.
"""

from __future__ import annotations

from typing import AsyncGenerator, AsyncIterator, Callable
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError
from starlette.background import BackgroundTask

from jsp_common.http import deps_of, transaction
from jsp_common.principal import Principal, Role
from jsp_common.problems import Problem

from ..adapters.upstream import Upstream, UpstreamError
from ..domain.identity import TokenClaims
from ..usecases import auth
from .auth import LoginRequest, signed_in
from .forward import PASS_RESPONSE, upstream_headers
from .security import current_principal, public_caller

router = APIRouter(include_in_schema=False)
SERVICE = "dashboard"
PUBLIC_PREFIXES = ("public/", "static/")
STREAMS = ("stream", "public/stream")
PUBLIC_STREAM_RETRY_S = 30  # a refused public page tries again after this long (the dashboard's live.js)


def _cookie(request: Request) -> str:
    return deps_of(request).settings.session_cookie


def _safe_next(target: str | None) -> str:
    """Only a page of the dashboard (never another site) after signing in."""
    return target if target and target.startswith("/ui/") and not target.startswith("//") else "/ui/"


@router.post("/ui/login")
async def sign_in(request: Request, username: str = Form("", max_length=200), password: str = Form("", max_length=500),
                  next: str = Form("/ui/", max_length=2000)) -> Response:
    target = _safe_next(next)
    try:
        await public_caller(request)  # the public rate limit, as /auth/login has it (guesses are paced)
        answer = await signed_in(request, LoginRequest(username=username or "-", password=password or "-"),
                                 pages=True)
    except (Problem, ValidationError) as exc:  # a name or password no account can have is refused alike
        error = "busy" if isinstance(exc, Problem) and exc.status == 429 else "1"
        return RedirectResponse("/ui/login?" + urlencode({"error": error, "next": target}), status_code=303)
    resp = RedirectResponse(target, status_code=303)
    _keep(request, resp, answer.access_token, answer.expires_in)
    return resp


def _keep(request: Request, resp: Response, token: str, lives_s: int) -> None:
    """The session's token in its HttpOnly cookie, for as long as the token lives."""
    resp.set_cookie(_cookie(request), token, max_age=lives_s, httponly=True,
                    secure=deps_of(request).settings.session_cookie_secure, samesite="lax", path="/")


def _renew(request: Request, resp: Response, claims: TokenClaims | None) -> Response:
    """``resp`` with a fresh token of the session in the cookie, when the person's token (``claims``, let in for
    this request) is past half its life."""
    fresh = auth.renewed(deps_of(request), claims) if claims is not None else None
    if fresh is not None:
        _keep(request, resp, fresh[0], fresh[1])
    return resp


@router.post("/ui/session", status_code=204)
async def keep_session(request: Request) -> Response:
    """An open page keeps its session going (the dashboard's live.js asks every minute): a fresh token once the
    one it has is past half its life, to the session's end; 401 once the session has ended, 403 for a person the
    pages are not for."""
    principal, _ = await _person(request)
    if principal is None:
        raise Problem(401, "the session has ended; sign in again")
    _pages_are_for(principal)
    return _renew(request, Response(status_code=204), request.state.claims)


def _pages_are_for(principal: Principal) -> None:
    if not principal.has(Role.OFFICE, Role.DEPARTMENT):
        raise Problem(403, "the dashboard is for the task-force office and the departments")


@router.post("/ui/logout")
async def sign_out(request: Request) -> Response:
    """The session ends here, not only in this browser: every token of it (a copy of the cookie, an earlier one) is
    refused from now on. Paced per address like the other public routes (each sign-out with a good token writes to
    the database)."""
    await public_caller(request)
    token = request.cookies.get(_cookie(request))
    if token:
        async with transaction(request) as tx:
            await auth.sign_out(deps_of(request), tx, token)
    resp = RedirectResponse("/ui/login", status_code=303)
    resp.delete_cookie(_cookie(request), path="/")
    return resp


@router.get("/ui")
async def ui_root() -> Response:
    return RedirectResponse("/ui/", status_code=307)


async def _person(request: Request) -> tuple[Principal | None, str | None]:
    token = request.cookies.get(_cookie(request))
    if not token:
        return None, None
    try:
        principal = await current_principal(request, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token),
                                            None)
    except Problem as exc:
        if exc.status == 429:
            raise
        return None, token
    return principal, token


# What a person reads when the gateway itself cannot show a page (the dashboard has pages of its own for its
# errors): the reason in Chinese, the way back, and signing out for an account the pages are not for.
_ERRORS = {403: ("无权使用本页面", "此账号不是专班办公室或部门人员的账号，不能使用监管平台页面。"),
           429: ("请求过于频繁", "请稍后再试。")}
_UNAVAILABLE = ("服务暂时不可用", "监管平台的页面服务暂时无法访问，请稍后再试。")


def _error_page(exc: Problem) -> HTMLResponse:
    title, text = _ERRORS.get(exc.status, _UNAVAILABLE)
    leave = ('<form method="post" action="/ui/logout"><button type="submit">退出登录</button></form>'
             if exc.status == 403 else '<p><a href="/ui/">返回首页</a></p>')
    return HTMLResponse(f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
                        '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
                        f"<h1>{title}</h1><p>{text}</p>{leave}</body></html>",
                        status_code=exc.status, headers=exc.headers)


@router.get("/ui/{path:path}")
async def page(request: Request, path: str) -> Response:
    """A page of the dashboard's, forwarded; what stops it here is a page too for a browser (problem+json
    otherwise)."""
    try:
        resp, claims = await _forward_page(request, path)
    except Problem as exc:
        if "text/html" not in request.headers.get("accept", ""):
            raise
        return _error_page(exc)
    if claims is not None:  # a person's page (or stream): kept by no cache on the way, nor the browser's
        resp.headers["cache-control"] = "private, no-store"
    return _renew(request, resp, claims)


async def _forward_page(request: Request, path: str) -> tuple[Response, TokenClaims | None]:
    """The page, and what the token of the person it was shown to says (None: a public page, or sent to sign
    in)."""
    if any(segment in (".", "..") for segment in path.split("/")):  # the forwarding URL resolves them: a way out of
        raise Problem(404, "no such page")  # /ui/ (/ui/static/../../metrics) past the sign-in check
    public = path in ("login", "public") or path.startswith(PUBLIC_PREFIXES)  # "public": the dashboard adds "/"
    headers: dict[str, str]
    principal: Principal | None = None
    token: str | None = None
    claims: TokenClaims | None = None
    if public:
        await public_caller(request)
        headers = {k: v for k in ("accept", "accept-language") if (v := request.headers.get(k))}
    else:
        principal, token = await _person(request)
        if principal is None:
            query = {"next": "/ui/" + path + (f"?{request.url.query}" if request.url.query else "")}
            if token:
                query["error"] = "expired"
            return RedirectResponse("/ui/login?" + urlencode(query), status_code=303), None
        _pages_are_for(principal)
        claims = request.state.claims  # what the token let in says
        headers = upstream_headers(request)
        headers["authorization"] = f"Bearer {token}"
    upstream = deps_of(request).upstreams[SERVICE]
    url = "/ui/" + quote(path)
    if path in STREAMS:
        signed = upstream.assertion(principal) if principal else {}
        return await _stream(request, upstream, url, {**headers, **signed}, token, claims), claims
    try:
        resp = await upstream.request("GET", url, principal=principal, params=list(request.query_params.multi_items()),
                                      headers=headers)
    except UpstreamError as exc:
        raise Problem(exc.status, str(exc) + "; try again later", service=exc.service) from None
    out = {k: v for k in PASS_RESPONSE if (v := resp.headers.get(k))}
    if "location" in out:
        out["location"] = on_this_site(out["location"])
    return Response(content=resp.content, status_code=resp.status_code, headers=out), claims


def on_this_site(location: str) -> str:
    """A redirect of the dashboard's as the browser follows it: to the same page on the gateway. The dashboard
    names its own address in a redirect it makes itself (a trailing slash added or taken away), which the browser
    cannot reach; its pages are the gateway's under the same paths."""
    parts = urlsplit(location)
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment)) if parts.netloc else location


async def _stream(request: Request, upstream: Upstream, url: str, headers: dict[str, str], token: str | None,
                  claims: TokenClaims | None) -> Response:
    """``token``: the person's, its session checked again while the stream is open (as often as the revocations
    are reloaded), so that signing out, losing access or the session's end ends it; a public stream (None) runs
    until it ends."""
    deps = deps_of(request)
    settings = deps.settings
    session = {"keep_open": lambda: auth.still_good(deps, token, claims),
               "recheck_s": settings.revocation_refresh_s} if token else {}
    release = _public_slot(request, deps) if token is None else _nothing
    try:
        whole, chunks = await upstream.stream(url, headers=headers, idle_timeout_s=settings.stream_idle_timeout_s,
                                              **session)
    except BaseException as exc:  # the place is given back however the stream failed to open
        release()
        if isinstance(exc, UpstreamError):
            raise Problem(503, "the dashboard service is unavailable; try again later", service=SERVICE) from None
        raise
    if whole is not None:
        release()
        return Response(whole.content, status_code=whole.status_code, media_type=whole.headers.get("content-type"))
    relayed = _until_closed(chunks, release)
    return StreamingResponse(relayed, media_type="text/event-stream",
                             background=BackgroundTask(_close, relayed, chunks, release),
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


def _nothing() -> None:
    return None


async def _close(relayed: AsyncGenerator, chunks: AsyncGenerator, release: Callable[[], None]) -> None:
    """After the response, however it ended: the slot given back and both ends closed (a stream the browser left
    before its first chunk never ran the generators' own ``finally``)."""
    release()
    await relayed.aclose()
    await chunks.aclose()


def _public_slot(request: Request, deps) -> Callable[[], None]:
    """Room for one more public stream of the caller's address (``domain/streams.py``), and how to give it back;
    429 when there is none."""
    address = request.client.host if request.client else "unknown"
    if not deps.public_streams.take(address):
        raise Problem(429, "too many live public pages are open, from this address or in all: close one, or try "
                           "again shortly", headers={"Retry-After": str(PUBLIC_STREAM_RETRY_S)})
    given_back = False

    def give_back() -> None:  # once, whichever end of the stream comes first
        nonlocal given_back
        if not given_back:
            given_back = True
            deps.public_streams.give_back(address)
    return give_back


async def _until_closed(chunks: AsyncGenerator, release: Callable[[], None]) -> AsyncIterator[bytes]:
    """``chunks`` passed on; ``release`` once they end, however (the browser gone, the service done)."""
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        release()
        await chunks.aclose()
