"""Public pages (一公开), no sign-in: inspection results, departments and subscription, key matters."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from jsp_common.http import deps_of, reading

from ..domain.places import cities
from ..usecases import public
from ..usecases.lists import Filters
from .office import filters
from .render import pages_count, render

router = APIRouter(prefix="/ui/public", include_in_schema=False)


def _page(request: Request, template: str, total: int, items: list, f: Filters, **extra):
    size = deps_of(request).settings.page_size
    return render(request, template, total=total, items=items, f=f, pages=pages_count(total, size), cities=cities(),
                  public=True, **extra)


@router.get("/", response_class=HTMLResponse)
async def results(request: Request, f: Filters = Depends(filters)):
    async with reading(request) as session:
        total, items = await public.results(session, deps_of(request).settings.page_size, f)
    return _page(request, "public/results.html", total, items, f, names=await deps_of(request).matter_names.get())


@router.get("/departments", response_class=HTMLResponse)
async def departments(request: Request, f: Filters = Depends(filters)):
    total, items = public.departments(deps_of(request).settings.page_size, f)
    return _page(request, "public/departments.html", total, items, f, topics=public.DEPARTMENT_TOPICS)


@router.get("/matters", response_class=HTMLResponse)
async def matters(request: Request, f: Filters = Depends(filters)):
    found = await public.matters(deps_of(request), deps_of(request).settings.page_size, f)
    total, items = found if found is not None else (0, [])
    return _page(request, "public/matters.html", total, items, f, available=found is not None)


login_router = APIRouter(prefix="/ui", include_in_schema=False)
ERRORS = {"1": "用户名或密码不正确", "expired": "登录已过期，请重新登录", "busy": "登录过于频繁，请稍后再试"}


@login_router.get("/login", response_class=HTMLResponse)
async def login(request: Request, next: str = "/ui/", error: str | None = None):
    """The sign-in form; the gateway takes the POST, gets the token from /auth/login and keeps it in a cookie."""
    safe_next = next if next.startswith("/ui/") and not next.startswith("/ui/login") else "/ui/"
    return render(request, "login.html", public=True, next=safe_next, error=ERRORS.get(error or "", None))
