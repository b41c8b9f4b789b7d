"""Pages for the task-force office and the departments' staff (signed in through the gateway)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from jsp_common import clock
from jsp_common.api_types import USCC_PATTERN as USCC
from jsp_common.http import deps_of, reading
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..domain.places import cities
from ..usecases import entity as entity_uc
from ..usecases import lists, overview
from ..usecases.lists import Filters
from .render import pages_count, render, scope_of, viewer

router = APIRouter(prefix="/ui", include_in_schema=False)
ID = r"^[0-9A-Za-z_\-.:]{1,80}$"


async def signed_in(request: Request) -> Principal:
    p = viewer(request)
    request.state.viewer = p
    return p


async def filters(department: str | None = Query(None, max_length=40),
            city: str | None = Query(None, pattern=r"^(41\d{4})?$", description="empty: every city"),
            status: str | None = Query(None, max_length=20), state: str | None = Query(None, max_length=30),
            q: str | None = Query(None, max_length=100), page: int = Query(1, ge=1, le=100_000)) -> Filters:
    return Filters(department=department or None, city=city or None, status=status or None, state=state or None,
                   q=(q or "").strip() or None, page=page)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, p: Principal = Depends(signed_in)):
    deps = deps_of(request)
    figures = await deps.snapshots.get(scope_of(p))  # kept until the read model changes
    return render(request, "overview.html", f=figures, due_soon_hours=deps.settings.due_soon_hours)


@router.get("/figures.json")
async def figures_json(request: Request, p: Principal = Depends(signed_in)) -> dict:
    """The same figures as the command page, for checks and other tools."""
    deps = deps_of(request)
    async with reading(request) as session:
        f = await overview.overview(session, deps.settings, scope_of(p), clock.now())
    return {"totals": f["totals"], "clue_states": f["states"], "adjudication": f["adjudication"],
            "by_department": {r.key: r.values for r in f["by_department"]},
            "by_city": {r.key: r.values for r in f["by_city"]}}


def _list_page(request: Request, template: str, total: int, items: list[dict], f: Filters, **extra):
    size = deps_of(request).settings.page_size
    return render(request, template, total=total, items=items, f=f, pages=pages_count(total, size),
                  cities=cities(), **extra)


@router.get("/notifications", response_class=HTMLResponse)
async def notification_list(request: Request, f: Filters = Depends(filters), p: Principal = Depends(signed_in)):
    async with reading(request) as session:
        total, items = await lists.notifications(session, deps_of(request).settings, scope_of(p), f, clock.now())
    return _list_page(request, "notifications.html", total, items, f)


@router.get("/notifications/{notification_id}", response_class=HTMLResponse)
async def notification_page(request: Request, notification_id: str = Path(pattern=ID),
                            p: Principal = Depends(signed_in)):
    async with reading(request) as session:
        item = await lists.notification(session, scope_of(p), notification_id)
    return render(request, "notification.html", n=item)


@router.get("/clues", response_class=HTMLResponse)
async def clue_list(request: Request, f: Filters = Depends(filters), p: Principal = Depends(signed_in)):
    async with reading(request) as session:
        total, items = await lists.clues(session, deps_of(request).settings, scope_of(p), f, clock.now())
    return _list_page(request, "clues.html", total, items, f)


@router.get("/clues/{clue_id}", response_class=HTMLResponse)
async def clue_page(request: Request, clue_id: str = Path(pattern=ID), p: Principal = Depends(signed_in)):
    async with reading(request) as session:
        item = await lists.clue(session, scope_of(p), clue_id)
    return render(request, "clue.html", **item)


@router.get("/adjudication", response_class=HTMLResponse)
async def adjudication_list(request: Request, f: Filters = Depends(filters), p: Principal = Depends(signed_in)):
    if not p.is_office:
        raise Problem(404, "the adjudication queue is the office's")
    async with reading(request) as session:
        total, items = await lists.adjudication(session, deps_of(request).settings, f)
    return _list_page(request, "adjudication.html", total, items, f)


@router.get("/inspections", response_class=HTMLResponse)
async def inspection_list(request: Request, f: Filters = Depends(filters), p: Principal = Depends(signed_in)):
    async with reading(request) as session:
        total, items = await lists.inspections(session, deps_of(request).settings, scope_of(p), f)
    return _list_page(request, "inspections.html", total, items, f, names=await deps_of(request).matter_names.get())


@router.get("/alerts", response_class=HTMLResponse)
async def alert_list(request: Request, f: Filters = Depends(filters), p: Principal = Depends(signed_in)):
    async with reading(request) as session:
        total, items = await lists.alerts(session, deps_of(request).settings, scope_of(p), f)
    return _list_page(request, "alerts.html", total, items, f)


@router.get("/targets", response_class=HTMLResponse)
async def target_list(request: Request, f: Filters = Depends(filters), p: Principal = Depends(signed_in)):
    async with reading(request) as session:
        total, items = await lists.targets(session, deps_of(request).settings, scope_of(p), f, clock.today())
    return _list_page(request, "targets.html", total, items, f, today=clock.today(),
                      names=await deps_of(request).matter_names.get())


@router.get("/entities", response_class=HTMLResponse)
async def entity_list(request: Request, f: Filters = Depends(filters), p: Principal = Depends(signed_in)):
    async with reading(request) as session:
        total, items = await lists.entities(session, deps_of(request).settings, scope_of(p), f)
    return _list_page(request, "entities.html", total, items, f)


@router.get("/entities/{uscc}", response_class=HTMLResponse)
async def entity_page(request: Request, uscc: str = Path(pattern=USCC), p: Principal = Depends(signed_in)):
    deps = deps_of(request)
    view = await entity_uc.entity_360(deps, uscc, request.headers.get("authorization"))
    async with reading(request) as session:
        local = await entity_uc.about(session, uscc, scope_of(p))
    if entity_uc.hidden(view, local):
        raise Problem(404, f"no entity {uscc}")
    return render(request, "entity.html", uscc=uscc, v=view, local=local, names=await deps.matter_names.get())
