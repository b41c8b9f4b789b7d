"""The two directories: credit classes from the risk service; inspectors per department (bulk or one by one)."""

from __future__ import annotations

import uuid
from operator import itemgetter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, departments
from jsp_common.consumer import HandlerContext
from jsp_common.outbox import Transaction
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import directory as repo
from ..domain import access, roster


async def apply_credit_classes(ctxs: list[HandlerContext]) -> None:
    """``risk.credit-class.changed.v1``: keep the latest class per entity (by its record version)."""
    if ctxs:
        await repo.upsert_credit_classes(ctxs[0].session, [{
            "uscc": c.data.uscc, "credit_class": c.data.credit_class.value,  # type: ignore[attr-defined]
            "record_version": c.data.record_version, "changed_at": c.data.changed_at,  # type: ignore[attr-defined]
        } for c in ctxs])


def _department_for(actor: Principal, asked: str | None, errors: list[dict], field: str) -> str | None:
    """The department an inspector row belongs to: a department's own; the office names it."""
    if not actor.is_office:
        if asked and asked != actor.department:
            raise Problem(403, f"a department loads only its own inspectors ({field}: {asked})")
        return actor.department
    if not asked:
        errors.append({"field": field, "reason": "the office names the inspector's department"})
        return None
    try:
        departments.department(asked)
    except (departments.UnknownDepartment, ValueError):
        errors.append({"field": field, "reason": f"unknown department {asked!r}"})
    return asked


async def load_inspectors(tx: Transaction, actor: Principal, rows: list[dict[str, Any]]) -> list[dict]:
    """Add or update inspectors by (department, certificate number); all rows or none (422 with every
    refused row's reasons). A row holds the fields the load gives; the others keep their stored values (the
    conflicts declared, deactivation), a new inspector takes the defaults (``domain/roster.py``)."""
    errors: list[dict] = []
    values, seen = [], set()
    for n, r in enumerate(rows):
        dept = _department_for(actor, r.get("department"), errors, f"inspectors[{n}].department")
        key = (dept, r["certificate_no"])
        if key in seen:
            errors.append({"field": f"inspectors[{n}].certificate_no", "reason": "the same certificate twice"})
        seen.add(key)
        values.append({**r, "department": dept, "id": f"IN-{uuid.uuid4().hex[:12]}"})
    if errors:
        raise Problem(422, "some inspectors cannot be loaded; nothing was written", errors=errors)
    if not values:
        return []
    key = itemgetter("department", "certificate_no")
    stored = await repo.stored_inspectors(tx.session, [key(v) for v in values])
    return await repo.upsert_inspectors(tx.session, [roster.as_loaded(v, stored.get(key(v))) for v in values],
                                        clock.now())


async def visible_inspector(session: AsyncSession, actor: Principal, inspector_id: str, *,
                            for_update: bool = False) -> dict:
    row = await repo.inspector(session, inspector_id, for_update=for_update)
    if row is None or not access.owns(actor, row["department"]):
        raise Problem(404, f"no inspector {inspector_id}")
    return row


async def edit_inspector(tx: Transaction, actor: Principal, inspector_id: str, changes: dict[str, Any]) -> dict:
    await visible_inspector(tx.session, actor, inspector_id, for_update=True)
    if not changes:
        raise Problem(422, "nothing to change", errors=[{"field": "body", "reason": "name at least one field"}])
    return await repo.update_inspector(tx.session, inspector_id, changes, clock.now())


async def list_inspectors(session: AsyncSession, actor: Principal, *, department: str | None, limit: int,
                          offset: int) -> list[dict]:
    own = access.department_of(actor)
    if own == "":
        raise Problem(403, "inspectors are for the office and the departments")
    if own is not None:
        if department and department != own:
            return []
        department = own
    return await repo.list_inspectors(session, department=department, limit=limit, offset=offset)
