"""Which methods a path takes, as RFC 9110 wants them said: ``OPTIONS`` answers 204 with ``Allow``, and a
405 lists in ``Allow`` every method the path takes (not only those of the first route that matched it)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from jsp_common.problems import problem_response

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(routes, scope: Scope) -> list[str]:
    """The methods some route of ``routes`` takes for this scope's path."""
    out = []
    for method in METHODS:
        probe = {**scope, "method": method}
        if any(r.matches(probe)[0] == Match.FULL for r in routes):
            out.append(method)
    return out


class AllowMiddleware:
    def __init__(self, app: ASGIApp, routes):
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] == "OPTIONS":
            methods = allowed_methods(self.routes(), scope)
            if methods:
                allow = ", ".join([*methods, "OPTIONS"])
                return await Response(status_code=204, headers={"Allow": allow})(scope, receive, send)
            return await problem_response(404, "no such resource", instance=scope["path"])(scope, receive, send)

        async def with_allow(message):
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(allowed_methods(self.routes(), scope)).encode()
                message["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"] + [
                    (b"allow", allow)]
            await send(message)

        await self.app(scope, receive, with_allow)

