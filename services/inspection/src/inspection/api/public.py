"""Public routes, no login (the gateway publishes them without a token): the matters in effect, each
matter's service manual (JSON and a readable page), the published results feed, the draws' records and the
populations they kept."""

from __future__ import annotations

from html import escape
from typing import AsyncIterator

from fastapi import APIRouter, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from jsp_common import clock, departments
from jsp_common.api_types import Date, DivisionCode, Timestamp
from jsp_common.http import deps_of, reading
from jsp_common.problems import Problem

from ..adapters import matters as repo
from ..usecases import draws, results
from ..usecases import matters as uc
from .context import CREDIT_CLASS, ID
from .schemas import CODE

router = APIRouter(prefix="/public", tags=["public"])

_LABELS = (("implementing_body", "实施主体"), ("legal_basis", "法律依据"), ("measures", "监管措施"),
           ("rules_and_standards", "规则标准"), ("procedure", "工作流程"), ("enquiries", "咨询渠道"),
           ("complaints", "投诉渠道"))


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A public page (``title`` and ``body`` escaped already)."""
    return HTMLResponse(
        f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{title}</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.6}"
        f"h2{{font-size:1.1rem;border-bottom:1px solid #ccc}}</style></head><body><h1>{title}</h1>{body}</body></html>",
        status_code=status)


@router.get("/matters", summary="The key supervision matters in effect (public)")
async def public_matters(request: Request, division_code: DivisionCode | None = None,
                         on: Date | None = Query(None, description="the day, e.g. 2026-03-02 (default: today)")):
    async with reading(request) as session:
        rows = await repo.listing(session, division_code=division_code, on=on or clock.today(), limit=2000, offset=0)
    return [{k: r[k] for k in ("code", "version", "name", "domain", "division_code", "kind", "lead_department",
                               "cooperating_departments", "legal_basis", "items", "batch_no", "effective_from")}
            for r in rows]


async def _manual(request: Request, code: str) -> tuple[dict, dict]:
    async with reading(request) as session:
        m = await uc.in_effect(session, code)
        doc = await uc.document(session, code, "manual")
    return doc, {"code": m.code, "name": m.name, "version": m.version, "lead_department": m.lead_department}


@router.get("/matters/{code}/manual", summary="A matter's public service manual (JSON)")
async def manual(request: Request, code: str = Path(pattern=CODE)):
    doc, matter = await _manual(request, code)
    return {**doc, "matter": matter}


@router.get("/matters/{code}/manual.html", response_class=HTMLResponse, summary="A matter's service manual (a page)",
            responses={404: {"description": "No such matter in effect, or no manual filed yet: a page saying so",
                             "content": {"text/html": {"schema": {"type": "string"}}}}})
async def manual_page(request: Request, code: str = Path(pattern=CODE)):
    try:
        doc, matter = await _manual(request, code)
    except Problem as exc:  # a person following a link reads a page, not an error document
        if exc.status != 404:
            raise
        return _page("服务手册尚未公布", f"<p>事项 {escape(code)} 不在现行清单中，或其牵头部门尚未公布服务手册。</p>"
                     "<p><a href=\"/ui/public/matters\">返回重点监管事项清单</a></p>", 404)
    sections = "".join(f"<section><h2>{escape(label)}</h2><p>{escape(str(doc[key])).replace(chr(10), '<br>')}</p></section>"
                       for key, label in _LABELS)
    lead = departments.department(matter["lead_department"]).name
    filed = clock.as_local(doc["filed_at"])
    return _page(escape(f"{matter['name']} · 服务手册"),
                 f"<p>事项 {escape(matter['code'])}（第 {matter['version']} 版）· 牵头部门 {escape(lead)} · "
                 f"{filed.year}年{filed.month}月{filed.day}日公布</p>{sections}")


@router.get("/results", summary="Published inspection results (一公开), oldest first after `since`")
async def feed(request: Request, since: Timestamp | None = None, limit: int | None = Query(None, ge=1, le=1000)):
    cap = deps_of(request).settings.public_feed_limit
    async with reading(request) as session:
        return await results.feed(session, since=clock.as_local(since) if since else None, limit=min(limit or cap, cap))


@router.get("/draws/{draw_id}", summary="A draw as published: the seed's hash before, the seed and record after")
async def public_draw(request: Request, draw_id: str = Path(pattern=ID)):
    deps = deps_of(request)
    answer = await draws.public_draw(deps.db, draw_id, slice_bytes=deps.settings.draw_record_slice_bytes)
    if not isinstance(answer, draws.Rendered):
        return answer
    # The answer as any is rendered, its record last: the rest rendered now, the record's bytes streamed as kept.
    head = JSONResponse(jsonable_encoder(answer.view)).body[:-1] + b',"record":'

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for chunk in answer.record:
            yield chunk
        yield b"}"

    return StreamingResponse(body(), media_type="application/json",
                             headers={"Content-Length": str(len(head) + answer.size + 1)})


@router.get("/draws/{draw_id}/populations/{population:int}/{credit_class}", response_class=StreamingResponse,
            summary="The members of a population a draw kept: the bytes whose SHA-256 is its digest",
            responses={200: {"description": "The members sorted by their UTF-8 bytes, joined by a newline (no trailing "
                                            "newline): the population of the record's populations",
                             "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def kept_population(request: Request, draw_id: str = Path(pattern=ID),
                          population: int = Path(ge=0, le=2**31 - 1), credit_class: str = Path(pattern=CREDIT_CLASS)):
    deps = deps_of(request)
    size, slices = await draws.kept_population(deps.db, draw_id, population, credit_class,
                                               slice_bytes=deps.settings.kept_population_slice_bytes)
    return StreamingResponse(slices, media_type="text/plain; charset=utf-8", headers={"Content-Length": str(size)})
