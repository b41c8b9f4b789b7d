"""Errors on pages: a person's browser gets a page in Chinese with the same status; other callers get the
usual problem document."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from jsp_common.problems import Problem, problem_response

from .render import render

TITLES = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "未找到", 422: "请求有误"}
DETAILS = {401: "请登录后再访问此页面。", 403: "您的账号无权访问此页面。",
           404: "您要找的内容不存在，或不属于您所在的部门。"}


def _wants_page(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _answer(request: Request, status: int, detail: str, headers=None):
    if not _wants_page(request):
        return problem_response(status, detail, instance=request.url.path, headers=headers)
    return render(request, "error.html", status_code=status, title=TITLES.get(status, "出错了"),
                  detail=DETAILS.get(status, detail), public=request.url.path.startswith("/ui/public"))


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        if not _wants_page(request):
            return problem_response(exc.status, exc.detail, title=exc.title, errors=exc.errors,
                                    instance=request.url.path, headers=exc.headers, **exc.extra)
        return _answer(request, exc.status, exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return _answer(request, exc.status_code, exc.detail if isinstance(exc.detail, str) else str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return _answer(request, 422, "the request is not valid: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()))
