"""The inspector directory: a department's own inspectors (the office sees all)."""

from __future__ import annotations

import csv
import io
import json

from fastapi import APIRouter, Depends, Path, Request
from pydantic import ValidationError

from jsp_common.http import reading, transaction
from jsp_common.principal import Principal, Role, require
from jsp_common.problems import Problem

from ..usecases import directory as uc
from . import uploads
from .context import ID, Paging, paging
from .schemas import InspectorChange, InspectorIn

router = APIRouter(prefix="/inspectors", tags=["inspectors"])
CSV_COLUMNS = ("department", "name", "certificate_no", "certificate_valid_until", "fields", "division_code", "active",
               "conflicts")
CSV_REQUIRED = ("name", "certificate_no", "certificate_valid_until")
LOAD_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "array", "items": InspectorIn.model_json_schema(
        ref_template="#/components/schemas/{model}"), "description": uploads.BODY_LIMIT}},
    "text/csv": {"schema": {"type": "string", "format": "inspectors-csv", "description": (
        "A CSV file (UTF-8, a BOM allowed, or in the charset the Content-Type names, e.g. text/csv; charset=gbk) "
        "whose header names the columns " + ", ".join(CSV_COLUMNS) + " (" +
        ", ".join(CSV_REQUIRED) + " needed, 422 without); one inspector per line, its fields as in InspectorIn: "
        "fields and conflicts separated by ';', active true or false; an empty cell (or a column left out) keeps "
        "the stored value, a new inspector takes the defaults (active true, no conflicts). " + uploads.BODY_LIMIT)}}}}}
STAFF = require(Role.OFFICE, Role.DEPARTMENT)


@router.get("", summary="Inspectors (a department: its own)")
async def list_inspectors(request: Request, department: str | None = None, paging: Paging = Depends(paging),
                          actor: Principal = Depends(STAFF)):
    async with reading(request) as session:
        return await uc.list_inspectors(session, actor, department=department, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201, openapi_extra=LOAD_BODY, summary="Add or update inspectors by certificate number (JSON list, or CSV body)")
async def load(request: Request, actor: Principal = Depends(STAFF)):
    raw = await uploads.text_of(request)
    if uploads.media_type(request) in ("text/csv", "application/csv"):
        try:
            reader = csv.DictReader(io.StringIO(raw))
            missing = [c for c in CSV_REQUIRED if c not in (reader.fieldnames or [])]
            docs = [{k: v for k, v in r.items() if k is not None and v not in (None, "")} for r in reader]
        except csv.Error as exc:
            raise Problem(422, f"not a readable CSV file: {exc}", errors=[{"field": "body", "reason": str(exc)}]) from None
        if missing:
            reason = f"the CSV header lacks: {', '.join(missing)} (columns: {','.join(CSV_COLUMNS)})"
            raise Problem(422, reason, errors=[{"field": "body", "reason": reason}])
        for d in docs:
            for key in ("fields", "conflicts"):
                if key in d:
                    d[key] = [x.strip() for x in d[key].split(";") if x.strip()]
            if "active" in d:  # a spreadsheet's true/false (anything else stays as written, and is refused)
                d["active"] = {"true": True, "false": False}.get(d["active"].strip().lower(), d["active"])
    else:
        try:
            docs = json.loads(raw)
        except (ValueError, RecursionError):   # RecursionError: nested deeper than the parser goes
            raise Problem(422, "the body is neither a JSON list of inspectors nor text/csv",
                          errors=[{"field": "body", "reason": "not JSON"}]) from None
        if not isinstance(docs, list):
            raise Problem(422, "a JSON list of inspectors", errors=[{"field": "body", "reason": "not a list"}])
    rows, errors = [], []
    for n, d in enumerate(docs):
        try:
            rows.append(InspectorIn.model_validate(d).model_dump(exclude_unset=True))  # what the load gives
        except ValidationError as exc:
            errors += [{"field": f"inspectors[{n}]." + ".".join(str(p) for p in e["loc"]), "reason": e["msg"]}
                       for e in exc.errors()]
    if errors:
        raise Problem(422, "some inspectors cannot be loaded; nothing was written", errors=errors)
    async with transaction(request) as tx:
        return await uc.load_inspectors(tx, actor, rows)


@router.get("/{inspector_id}", summary="One inspector")
async def one(request: Request, inspector_id: str = Path(pattern=ID), actor: Principal = Depends(STAFF)):
    async with reading(request) as session:
        return await uc.visible_inspector(session, actor, inspector_id)


@router.patch("/{inspector_id}", summary="Edit an inspector (certificate validity, active, conflicts, ...)")
async def edit(body: InspectorChange, request: Request, inspector_id: str = Path(pattern=ID),
               actor: Principal = Depends(STAFF)):
    async with transaction(request) as tx:
        changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
        return await uc.edit_inspector(tx, actor, inspector_id, changes)
