"""The published OpenAPI document: the gateway's own routes plus the services' routes it publishes, taken
from the services' own OpenAPI documents (fetched on demand and cached; a service that is down is
represented by its routes from the policy with a note, and merged in when it is back)."""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from jsp_common import contracts_export
from jsp_common.http import deps_of
from jsp_common.problems import PROBLEM_JSON

from ..domain.policy import RULES, Rule
from .ingest import EVENT_SCHEMA_PREFIX

PROBLEM = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = {
    "type": "object", "title": "Problem", "description": "RFC 9457 problem details",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "instance": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object"}}},
    "required": ["title", "status", "detail"],
}
COMMON_ERRORS = {
    "400": "The request is malformed", "401": "No valid token or API key", "403": "Your roles do not allow this",
    "404": "Not found, or not visible to you", "405": "Method not allowed",
    "413": "The request body is larger than one request carries (the answer's max_body_bytes, 1,000,000 by default): "
           "split a large load into several requests",
    "422": "The request is not valid", "429": "Too many requests (see Retry-After)",
    "502": "The service behind failed", "503": "The service behind is unavailable",
    "504": "The service behind did not answer in time",
}
SECURITY = [{"bearer": []}, {"apiKey": []}]
_REF = re.compile(r"^#/components/schemas/(.+)$")


HEADERS = {
    "401": {"WWW-Authenticate": {"description": "how to authenticate", "schema": {"type": "string"}}},
    "405": {"Allow": {"description": "every method this path takes", "schema": {"type": "string"}}},
    "429": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
}


def _problem_responses(op: dict) -> None:
    """Every error the gateway answers is a problem document (its own and the services' alike), besides a page
    a service answers a person with (a public page's 404: ``text/html``)."""
    responses = op.setdefault("responses", {})
    for code, text in COMMON_ERRORS.items():
        responses.setdefault(code, {"description": text})
    for code, entry in responses.items():
        if code[:1] in ("4", "5"):
            page = {k: v for k, v in (entry.get("content") or {}).items() if k == "text/html"}
            entry["content"] = {PROBLEM_JSON: {"schema": PROBLEM}, **page}
        if code in HEADERS:
            entry["headers"] = HEADERS[code]


def _prefix_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and (m := _REF.match(v)):
                out[k] = f"#/components/schemas/{prefix}{m.group(1)}"
            else:
                out[k] = _prefix_refs(v, prefix)
        return out
    if isinstance(node, list):
        return [_prefix_refs(v, prefix) for v in node]
    return node


def _roles_note(rule_roles) -> str:
    if not rule_roles:
        return "Public: no token needed."
    return "Roles: " + ", ".join(r.value for r in rule_roles) + "."


def _stub(rule: Rule) -> dict:
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in re.findall(r"{(\w+)}", rule.path)]
    op: dict = {"summary": f"{rule.method} {rule.path} on the {rule.service} service",
                "description": f"The {rule.service} service's document is unavailable right now. "
                               + _roles_note(rule.roles), "parameters": params,
                "responses": {"200": {"description": "as the service answers"}}, "x-jsp-unavailable": True}
    if rule.method not in ("GET", "HEAD"):
        op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
    return op


def _strip_principal_header(op: dict) -> None:
    op["parameters"] = [p for p in op.get("parameters", [])
                        if not (p.get("in") == "header" and p.get("name", "").lower() == "x-jsp-assertion")]


async def merged_openapi(app: FastAPI, request: Request) -> dict:
    base = app.openapi()
    doc = copy.deepcopy(base)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    doc["components"].setdefault("securitySchemes", {}).update({
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "POST /auth/token (client credentials or password) or /auth/login"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "oauth2": {"type": "oauth2", "flows": {
            "clientCredentials": {"tokenUrl": "/auth/token", "scopes": {}},
            "password": {"tokenUrl": "/auth/token", "scopes": {}}}},
    })
    # the event contracts the ingest routes take (the same schemas as docs/asyncapi.yaml)
    for sname, schema in contracts_export.asyncapi_schemas()[0].items():
        schemas[EVENT_SCHEMA_PREFIX + sname] = _prefix_refs(schema, EVENT_SCHEMA_PREFIX)
    services: dict[str, dict | None] = {name: await up.openapi() for name, up in deps_of(request).upstreams.items()}
    for name, sdoc in services.items():
        if sdoc:
            prefix = name.capitalize() + "_"
            for sname, schema in (sdoc.get("components", {}).get("schemas") or {}).items():
                schemas[prefix + sname] = _prefix_refs(schema, prefix)
    paths = doc.setdefault("paths", {})
    for rule in RULES:
        sdoc = services.get(rule.service)
        op = None
        if sdoc:
            op = copy.deepcopy(((sdoc.get("paths") or {}).get(rule.path) or {}).get(rule.method.lower()))
        if op is None:
            op = _stub(rule)
        else:
            op = _prefix_refs(op, rule.service.capitalize() + "_")
            op["description"] = (op.get("description", "") + "\n\n" + _roles_note(rule.roles)).strip()
        op["operationId"] = f"{rule.service}_{op.get('operationId') or rule.method.lower() + rule.path}"
        op["tags"] = [rule.service]
        op["security"] = SECURITY if rule.roles else []
        _strip_principal_header(op)
        paths.setdefault(rule.gateway_path, {})[rule.method.lower()] = op
    doc["x-jsp-services"] = {n: ("merged" if d else "unavailable") for n, d in services.items()}
    for path_item in paths.values():
        for method, op in path_item.items():
            if isinstance(op, dict) and "responses" in op:
                _problem_responses(op)
    # FastAPI's validation error models: every 422 is a Problem here (the services' copies would clash in a
    # generated client)
    for unused in [n for n in schemas if n.rsplit("_", 1)[-1] in ("HTTPValidationError", "ValidationError")]:
        if not _uses(doc, unused):
            schemas.pop(unused)
    return doc


def _uses(doc: dict, name: str) -> bool:
    import json

    return f'"#/components/schemas/{name}"' in json.dumps(doc["paths"])


def install(app: FastAPI) -> None:
    """Replace FastAPI's /openapi.json with the merged document (the /docs page reads it)."""
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != app.openapi_url]

    @app.get(app.openapi_url, include_in_schema=False)
    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(await merged_openapi(app, request))
