"""The key matters list: batches of new matters and new versions, promotion of a city's matter, the work
plan and the public service manual."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock
from jsp_common.outbox import Transaction
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import matters as repo
from ..domain import matters
from ..domain.matters import Item, MatterVersion


@dataclasses.dataclass
class BatchReport:
    """What a batch load did: the batch published, or the rows refused and why (then nothing is written)."""

    division_code: str
    batch_no: int | None
    accepted: list[dict]
    rejected: list[dict]
    dry_run: bool

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _version(row: dict, version: int, batch_no: int) -> MatterVersion:
    return MatterVersion(code=row["code"], version=version, name=row["name"], domain=row["domain"],
                         division_code=row["division_code"], kind=row["kind"], lead_department=row["lead_department"],
                         cooperating_departments=tuple(row.get("cooperating_departments") or ()),
                         legal_basis=row.get("legal_basis") or "",
                         items=tuple(Item(i["code"], i["department"], i.get("title") or "") for i in row["items"]),
                         batch_no=batch_no, effective_from=row["effective_from"], promoted_from=row.get("promoted_from"))


async def publish_batch(tx: Transaction, actor: Principal, *, division_code: str, title: str, rows: list[dict],
                        dry_run: bool = False) -> BatchReport:
    """Check every row (particulars, departments, versions in order); publish them as the list's next
    numbered batch when all are good. Rows are dicts of the matter's fields plus ``row`` (the line number)."""
    if len(rows) > matters.MAX_BATCH_ROWS:  # each row's code is locked: PostgreSQL's lock table is finite
        raise Problem(422, f"a batch holds at most {matters.MAX_BATCH_ROWS} matters; nothing was published",
                      errors=[{"field": "rows", "reason": f"{len(rows)} rows"}])
    s = tx.session
    await repo.lock(s, [f"batch:{division_code}", *(f"matter:{r.get('code')}" for r in rows)])
    latest = await repo.latest(s, [r["code"] for r in rows if isinstance(r.get("code"), str)])
    accepted, rejected, versions = [], [], []
    seen: set[str] = set()
    today = clock.today()   # the province's date: a new version takes effect no earlier
    for r in rows:
        errors = [dict(e) for e in r.get("errors", [])] or matters.check(r)
        if r.get("division_code") != division_code and not errors:
            errors.append({"field": "division_code", "reason": f"this batch is for the list of {division_code}"})
        if r.get("code") in seen:
            errors.append({"field": "code", "reason": "the same matter twice in one batch"})
        seen.add(r.get("code"))
        number = 0
        held = latest.get(r.get("code"))
        if not errors and held is not None and held.division_code != division_code:   # a code names one matter
            errors.append({"field": "code", "reason": f"{r['code']} is a matter of the list of {held.division_code}",
                           "conflict": True})   # with what is published, as a version out of order
        if not errors:
            number, version_errors = matters.next_version(held, r["effective_from"], today=today)
            errors += version_errors
        if errors:
            rejected.append({"row": r.get("row"), "code": r.get("code"), "errors": errors})
        else:
            accepted.append({"row": r.get("row"), "code": r["code"], "version": number})
            versions.append((r, number))
    if not rows:
        rejected.append({"row": None, "code": None, "errors": [{"field": "rows", "reason": "the batch is empty"}]})
    if rejected or dry_run:
        return BatchReport(division_code, None, accepted, rejected, dry_run)
    number = await repo.next_batch_number(s, division_code)
    batch_id = await repo.add_batch(s, division_code=division_code, number=number, title=title, at=clock.now(),
                                    by=actor.subject)
    await repo.add_versions(s, [_version(r, v, number) for r, v in versions], batch_id=batch_id, by=actor.subject)
    return BatchReport(division_code, number, accepted, [], False)


async def promote(tx: Transaction, actor: Principal, code: str, *, province_code: str, effective_from: date,
                  lead_department: str, cooperating_departments: list[str], items: list[dict]) -> BatchReport:
    """Promote a city's matter to the province list: a province matter that names the city matter it came
    from (the city's own version stays as it was)."""
    city = await repo.current(tx.session, code)
    if city is None or city.division_code == matters.PROVINCE:
        raise Problem(404, f"no city matter {code}")
    row = {"code": province_code, "name": city.name, "domain": city.domain, "division_code": matters.PROVINCE,
           "kind": city.kind, "lead_department": lead_department, "cooperating_departments": cooperating_departments,
           "legal_basis": city.legal_basis, "items": items, "effective_from": effective_from, "promoted_from": code,
           "row": 1}
    return await publish_batch(tx, actor, division_code=matters.PROVINCE,
                               title=f"promotion of {code} ({city.name})", rows=[row])


async def in_effect(session: AsyncSession, code: str, on: date | None = None) -> MatterVersion:
    m = await repo.current(session, code, on or clock.today())
    if m is None:
        raise Problem(404, f"no matter {code} in effect")
    return m


async def for_period(session: AsyncSession, code: str, period_start: date) -> MatterVersion:
    """The version a plan is made under: the one in effect on the first day of its period (planned ahead, the
    version that will govern the period; every plan of one period, made on any day, the same one). A matter
    that takes effect after that day has none for the period (409, the field named); no matter is a 404."""
    m = await repo.current(session, code, period_start)
    if m is not None:
        return m
    first = await repo.first(session, code)
    if first is None:
        raise Problem(404, f"no matter {code}")
    raise Problem(409, f"matter {code} is not in effect on {period_start.isoformat()}, the first day of the period",
                  errors=[{"field": "period_start", "reason": f"matter {code} takes effect on "
                           f"{first.effective_from.isoformat()}: a plan's period begins on that day or later"}])


async def file_document(tx: Transaction, actor: Principal, code: str, kind: str, body: dict[str, Any]) -> dict:
    """File the work plan (with the office) or the public service manual of a matter: the office or the
    matter's lead department."""
    m = await repo.current(tx.session, code)
    if m is None:
        raise Problem(404, f"no matter {code}")
    if not (actor.is_office or actor.department == m.lead_department):
        raise Problem(403, f"the office or the lead department {m.lead_department} files a matter's {kind}")
    at = clock.now()
    await repo.file_document(tx.session, matter_code=code, kind=kind, body=body, by=actor.subject, at=at)
    return {"matter_code": code, "kind": kind, "filed_at": at, "filed_by": actor.subject, **body}


async def document(session: AsyncSession, code: str, kind: str) -> dict:
    doc = await repo.document(session, code, kind)
    if doc is None:
        raise Problem(404, f"matter {code} has no {kind.replace('_', ' ')} yet")
    return {"matter_code": code, "kind": kind, "filed_at": doc["filed_at"], **doc["body"]}
