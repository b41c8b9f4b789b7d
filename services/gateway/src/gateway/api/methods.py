"""Which methods a path takes, as RFC 9110 wants them said: ``OPTIONS`` answers 204 with ``Allow``, and a
405 lists in ``Allow`` every method the path takes (not only those of the first route that matched it).

A literal path beats a template that also matches it (``/clues/case-transfers/incoming`` takes POST only,
although ``/clues/case-transfers/{transfer_id}`` takes GET): another method there is 405, as the published
document says, rather than a call of the template's route."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from jsp_common.problems import problem_response

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(routes, scope: Scope) -> list[str]:
    """The methods this scope's path takes: those of the most literal route templates matching it."""
    found: dict[str, int] = {}
    for method in METHODS:
        probe = {**scope, "method": method}
        params = [getattr(r, "path", "").count("{") for r in routes if r.matches(probe)[0] == Match.FULL]
        if params:
            found[method] = min(params)
    fewest = min(found.values(), default=0)
    return [m for m, n in found.items() if n == fewest]


class AllowMiddleware:
    def __init__(self, app: ASGIApp, routes):
        self.app, self.routes = app, routes
        self._literal: set[str] | None = None

    def _literal_paths(self) -> set[str]:
        if self._literal is None:
            # a mount's path is the folder its files are under, which it does not take itself
            self._literal = {r.path for r in self.routes()
                             if "{" not in getattr(r, "path", "{") and not isinstance(r, Mount)}
        return self._literal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method = scope["method"]
        if method == "OPTIONS" or (method in METHODS and scope["path"] in self._literal_paths()):
            methods = allowed_methods(self.routes(), scope)
            if method == "OPTIONS" and methods:
                return await Response(status_code=204, headers={"Allow": ", ".join([*methods, "OPTIONS"])})(
                    scope, receive, send)
            if method == "OPTIONS":
                return await problem_response(404, "no such resource", instance=scope["path"])(scope, receive, send)
            if method not in methods:
                return await problem_response(405, f"{scope['path']} takes {', '.join(methods)}", instance=scope["path"],
                                              headers={"Allow": ", ".join(methods)})(scope, receive, send)

        asked = dict(scope)  # as it came: routing into a mount moves its root_path

        async def with_allow(message):
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(allowed_methods(self.routes(), asked)).encode()
                message["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"] + [
                    (b"allow", allow)]
            await send(message)

        await self.app(scope, receive, with_allow)
