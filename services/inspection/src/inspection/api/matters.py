"""The key matters list: reading it, publishing batches (JSON or a file), promotion, work plans, manuals."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import ValidationError

from jsp_common import clock
from jsp_common.api_types import Date, DivisionCode, RequiredText
from jsp_common.http import reading, transaction
from jsp_common.principal import Principal, Role, require
from jsp_common.problems import Problem

from ..adapters import matters as repo
from ..domain import batch_files, matters
from ..usecases import matters as uc
from . import uploads
from .context import Paging, paging
from .schemas import BatchIn, CODE, ListDivision, ManualIn, MatterIn, PromotionIn, WorkPlanIn

FILE_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string", "format": "matters-csv",
                            "description": batch_files.CSV_DESCRIPTION + " " + uploads.BODY_LIMIT}},
    "application/json": {"schema": {"type": "array", "minItems": 1, "maxItems": matters.MAX_BATCH_ROWS, "items": {
        "$ref": "#/components/schemas/MatterIn"}, "description": f"At most {matters.MAX_BATCH_ROWS} matters (422 "
        "for more, nothing published). " + uploads.BODY_LIMIT}}}}}
UNSUPPORTED = {415: {"description": "The body is neither text/csv nor application/json (problem+json)"}}
VERSIONS = {409: {"description": "A matter's new version would not take effect after its current one (every row is good otherwise): nothing was published; the answer names the rows"}}

router = APIRouter(tags=["matters"])
READERS = require(Role.OFFICE, Role.DEPARTMENT)
Code = Path(pattern=CODE)


def _answer(report: uc.BatchReport) -> dict:
    """The batch's report; its refused rows as a problem: 422 when a row itself is wrong, 409 when every refusal
    is about the versions already published."""
    if report.rejected:
        errors = [{"field": f"rows[{r['row']}].{e['field']}", "reason": e["reason"]} for r in report.rejected
                  for e in r["errors"]]
        status = 409 if all(e.get("conflict") for r in report.rejected for e in r["errors"]) else 422
        raise Problem(status, f"{len(report.rejected)} row(s) refused; nothing was published", errors=errors,
                      rejected=report.rejected, accepted=report.accepted)
    return report.as_dict()


def _validated(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        try:
            m = MatterIn.model_validate({k: v for k, v in r.items() if k != "row"})
            out.append({**m.model_dump(mode="python"), "domain": m.domain.value,
                        "items": [i.model_dump() for i in m.items], "row": r.get("row")})
        except ValidationError as exc:
            code = r.get("code")  # a file's row may hold anything: kept for the report when it is a code
            code = code if isinstance(code, str) and re.fullmatch(CODE, code) else None
            out.append({"row": r.get("row"), "code": code, "errors": [
                {"field": ".".join(str(p) for p in e["loc"]) or "row", "reason": e["msg"]} for e in exc.errors()]})
    return out


@router.get("/matters", summary="The matters in effect (on a date), by list")
async def list_matters(request: Request, division_code: DivisionCode | None = None,
                       on: Date | None = Query(None, description="the day, e.g. 2026-03-02 (default: today)"), paging: Paging = Depends(paging), _: Principal = Depends(READERS)):
    async with reading(request) as session:
        return await repo.listing(session, division_code=division_code, on=on or clock.today(),
                                  limit=paging.limit, offset=paging.offset)


@router.get("/matters/{code}", summary="Every version of one matter (history is never rewritten)")
async def matter_versions(request: Request, code: str = Code, _: Principal = Depends(READERS)):
    async with reading(request) as session:
        found = await repo.versions(session, code)
    if not found:
        raise Problem(404, f"no matter {code}")
    return found


@router.get("/batches", summary="The numbered batches of a list")
async def list_batches(request: Request, division_code: ListDivision | None = None,
                       _: Principal = Depends(READERS)):
    async with reading(request) as session:
        return await repo.batches(session, division_code)


@router.post("/batches", status_code=201, responses=VERSIONS, summary="Publish a batch of matters (new ones or new versions); all or none")
async def publish_batch(body: BatchIn, request: Request, actor: Principal = Depends(require(Role.OFFICE))):
    rows = [{**m.model_dump(), "domain": m.domain.value, "row": n} for n, m in enumerate(body.matters, start=1)]
    async with transaction(request) as tx:
        report = await uc.publish_batch(tx, actor, division_code=body.division_code, title=body.title, rows=rows,
                                        dry_run=body.dry_run)
    return _answer(report)


@router.post("/batches/file", status_code=201, openapi_extra=FILE_BODY, responses={**UNSUPPORTED, **VERSIONS},
             summary="Publish a batch from a CSV or JSON file (the request body); the report names every refused row")
async def publish_batch_file(request: Request, division_code: ListDivision,
                             title: RequiredText = Query(min_length=1, max_length=300), dry_run: bool = False,
                             actor: Principal = Depends(require(Role.OFFICE))):
    kind = uploads.media_type(request)
    if kind not in ("text/csv", "application/csv", "application/json"):
        raise Problem(415, "send the file as text/csv or application/json")
    text = await uploads.text_of(request)
    try:
        rows = batch_files.read_json(text) if kind == "application/json" else batch_files.read_csv(text)
    except batch_files.UnreadableFile as exc:
        raise Problem(422, str(exc), errors=[{"field": "file", "reason": str(exc)}]) from None
    async with transaction(request) as tx:
        report = await uc.publish_batch(tx, actor, division_code=division_code, title=title, rows=_validated(rows),
                                        dry_run=dry_run)
    return _answer(report)


@router.post("/matters/{code}/promotion", status_code=201, responses=VERSIONS, summary="Promote a city's matter to the province list")
async def promote(body: PromotionIn, request: Request, code: str = Code, actor: Principal = Depends(require(Role.OFFICE))):
    async with transaction(request) as tx:
        report = await uc.promote(tx, actor, code, province_code=body.province_code, effective_from=body.effective_from,
                                  lead_department=body.lead_department, cooperating_departments=body.cooperating_departments,
                                  items=[i.model_dump() for i in body.items])
    return _answer(report)


@router.put("/matters/{code}/work-plan", summary="File the matter's work plan with the office (the lead department)")
async def file_work_plan(body: WorkPlanIn, request: Request, code: str = Code, actor: Principal = Depends(READERS)):
    async with transaction(request) as tx:
        return await uc.file_document(tx, actor, code, "work_plan", body.model_dump())


@router.get("/matters/{code}/work-plan", summary="The matter's work plan as last filed")
async def work_plan(request: Request, code: str = Code, _: Principal = Depends(READERS)):
    async with reading(request) as session:
        return await uc.document(session, code, "work_plan")


@router.put("/matters/{code}/manual", summary="Publish the matter's public service manual (the lead department)")
async def file_manual(body: ManualIn, request: Request, code: str = Code, actor: Principal = Depends(READERS)):
    async with transaction(request) as tx:
        return await uc.file_document(tx, actor, code, "manual", body.model_dump())
