"""Reading and writing the matters list, its batches and documents (SQLAlchemy Core, caller's transaction)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, and_, any_, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import dicts

from ..domain.matters import Item, MatterVersion
from .tables import matter_batches, matter_documents, matters

_FIELDS = [c.name for c in matters.c if c.name not in ("created_at", "created_by", "batch_id")]


def to_version(row: Any) -> MatterVersion:
    m = dict(row)
    return MatterVersion(code=m["code"], version=m["version"], name=m["name"], domain=m["domain"],
                         division_code=m["division_code"], kind=m["kind"], lead_department=m["lead_department"],
                         cooperating_departments=tuple(m["cooperating_departments"]), legal_basis=m["legal_basis"],
                         items=tuple(Item(i["code"], i["department"], i.get("title", "")) for i in m["items"]),
                         batch_no=m.get("batch_no", 0), effective_from=m["effective_from"],
                         promoted_from=m["promoted_from"])


def _with_batch():
    return (select(matters, matter_batches.c.number.label("batch_no"))
            .join(matter_batches, matter_batches.c.id == matters.c.batch_id))


async def current(session: AsyncSession, code: str, on: date | None = None) -> MatterVersion | None:
    """The version of ``code`` in effect on ``on`` (the latest version when ``on`` is None)."""
    q = _with_batch().where(matters.c.code == code)
    if on is not None:
        q = q.where(matters.c.effective_from <= on)
    row = (await session.execute(q.order_by(matters.c.version.desc()).limit(1))).mappings().first()
    return to_version(row) if row else None


async def first(session: AsyncSession, code: str) -> MatterVersion | None:
    """The first version of ``code`` (the day the matter takes effect), or None: no such matter."""
    row = (await session.execute(_with_batch().where(matters.c.code == code).order_by(matters.c.version).limit(1))
           ).mappings().first()
    return to_version(row) if row else None


async def latest(session: AsyncSession, codes: list[str]) -> dict[str, MatterVersion]:
    """The latest version of each of ``codes`` that has one (one statement, one parameter, for a whole batch)."""
    wanted = bindparam("codes", value=sorted(set(codes)), type_=ARRAY(Text))
    q = (_with_batch().where(matters.c.code == any_(wanted))
         .order_by(matters.c.code, matters.c.version.desc()).distinct(matters.c.code))
    return {m.code: m for m in map(to_version, (await session.execute(q)).mappings().all())}


async def version(session: AsyncSession, code: str, number: int) -> MatterVersion | None:
    row = (await session.execute(_with_batch().where(matters.c.code == code, matters.c.version == number))
           ).mappings().first()
    return to_version(row) if row else None


async def versions(session: AsyncSession, code: str) -> list[dict]:
    rows = await session.execute(_with_batch().where(matters.c.code == code).order_by(matters.c.version))
    return dicts(rows)


async def listing(session: AsyncSession, *, division_code: str | None, on: date, limit: int, offset: int) -> list[dict]:
    """The versions in effect on ``on``: per code the latest version effective by then."""
    latest = (select(matters.c.code, func.max(matters.c.version).label("v"))
              .where(matters.c.effective_from <= on).group_by(matters.c.code).subquery())
    q = _with_batch().join(latest, and_(latest.c.code == matters.c.code, latest.c.v == matters.c.version))
    if division_code:
        q = q.where(matters.c.division_code == division_code)
    rows = await session.execute(q.order_by(matters.c.division_code, matters.c.code).limit(limit).offset(offset))
    return dicts(rows)


async def next_batch_number(session: AsyncSession, division_code: str) -> int:
    q = select(func.coalesce(func.max(matter_batches.c.number), 0)).where(matter_batches.c.division_code == division_code)
    return int((await session.execute(q)).scalar_one()) + 1


async def add_batch(session: AsyncSession, *, division_code: str, number: int, title: str, at: datetime,
                    by: str) -> int:
    res = await session.execute(insert(matter_batches).values(division_code=division_code, number=number, title=title,
                                                               published_at=at, published_by=by)
                                .returning(matter_batches.c.id))
    return int(res.scalar_one())


async def batches(session: AsyncSession, division_code: str | None) -> list[dict]:
    q = select(matter_batches)
    if division_code:
        q = q.where(matter_batches.c.division_code == division_code)
    rows = await session.execute(q.order_by(matter_batches.c.division_code, matter_batches.c.number))
    return dicts(rows)


async def add_versions(session: AsyncSession, rows: list[MatterVersion], *, batch_id: int, by: str) -> None:
    if rows:
        await session.execute(insert(matters), [{
            "code": m.code, "version": m.version, "name": m.name, "domain": m.domain,
            "division_code": m.division_code, "kind": m.kind, "lead_department": m.lead_department,
            "cooperating_departments": list(m.cooperating_departments), "legal_basis": m.legal_basis,
            "items": [{"code": i.code, "department": i.department, "title": i.title} for i in m.items],
            "effective_from": m.effective_from, "promoted_from": m.promoted_from, "batch_id": batch_id,
            "created_by": by} for m in rows])


_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(k)) FROM "
             "(SELECT DISTINCT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS keys")


async def lock(session: AsyncSession, keys: list[str]) -> None:
    """Serialise writers of the same list or matter codes (two loads at once) until the transaction ends: the
    keys taken in one order (the database's) in one statement."""
    await session.execute(_LOCK, {"keys": list(keys)})


async def file_document(session: AsyncSession, *, matter_code: str, kind: str, body: dict, by: str,
                        at: datetime) -> None:
    await session.execute(insert(matter_documents).values(matter_code=matter_code, kind=kind, body=body, filed_by=by,
                                                          filed_at=at))


async def document(session: AsyncSession, matter_code: str, kind: str) -> dict | None:
    q = (select(matter_documents).where(matter_documents.c.matter_code == matter_code, matter_documents.c.kind == kind)
         .order_by(matter_documents.c.id.desc()).limit(1))
    row = (await session.execute(q)).mappings().first()
    return dict(row) if row else None
