"""The two directories: objects (the registry replica with credit classes) and inspectors."""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import Any, Iterable

from sqlalchemy import Text, and_, any_, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import dicts
from jsp_common.unnest import unnest_insert

from ..domain.assignment import Inspector
from ..domain.sampling import UNRATED_CLASS, Candidate
from .matters import lock
from .tables import credit_classes, entities, inspectors, targets

INSPECTOR_FIELDS = [c.name for c in inspectors.c if c.name != "updated_at"]


# ------------------------------------------------------------------ credit classes
async def upsert_credit_classes(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Latest class per entity; an older record (by record_version) never overwrites a newer one."""
    best: dict[str, dict] = {}
    for r in rows:
        if r["uscc"] not in best or r["record_version"] >= best[r["uscc"]]["record_version"]:
            best[r["uscc"]] = r
    if not best:
        return
    stmt = pg_insert(credit_classes).values(list(best.values()))
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[credit_classes.c.uscc],
        set_={c: stmt.excluded[c] for c in ("credit_class", "record_version", "changed_at")},
        where=credit_classes.c.record_version <= stmt.excluded.record_version))


async def credit_class(session: AsyncSession, uscc: str) -> str | None:
    return (await session.execute(select(credit_classes.c.credit_class).where(credit_classes.c.uscc == uscc))
            ).scalar_one_or_none()


# ------------------------------------------------------------------ objects
def _filter(f: dict[str, Any]):
    conds = [entities.c.status == "active"]
    division = f.get("division_code")
    if division and not division.endswith("0000"):
        conds.append(entities.c.city_code == division if division.endswith("00") else entities.c.division_code == division)
    if f.get("industry_code"):
        conds.append(entities.c.industry_code.startswith(f["industry_code"], autoescape=True))
    if f.get("domain"):
        conds.append(entities.c.domains.any(f["domain"]))
    if f.get("responsible_department"):
        conds.append(entities.c.responsible_departments.any(f["responsible_department"]))
    return and_(*conds)


async def count_population(session: AsyncSession, f: dict[str, Any]) -> int:
    return int((await session.execute(select(func.count()).select_from(entities).where(_filter(f)))).scalar_one())


async def population(session: AsyncSession, f: dict[str, Any], *, year: int, yearly_cap: int) -> tuple[list[Candidate], int]:
    """The plan's candidates with their credit class (none yet: B), without entities already inspected
    ``yearly_cap`` times in ``year``; and how many were left out for that cap."""
    capped = (select(targets.c.uscc).where(targets.c.year == year).group_by(targets.c.uscc)
              .having(func.count() >= yearly_cap))
    cls = func.coalesce(credit_classes.c.credit_class, literal(UNRATED_CLASS))
    q = (select(entities.c.uscc, cls, entities.c.uscc.in_(capped))
         .select_from(entities.outerjoin(credit_classes, credit_classes.c.uscc == entities.c.uscc))
         .where(_filter(f)))
    out, left_out = [], 0
    for uscc, c, at_cap in (await session.execute(q)).all():
        if at_cap:
            left_out += 1
        else:
            out.append(Candidate(uscc, c))
    return out, left_out


async def read_population(session: AsyncSession, f: dict[str, Any]) -> list[tuple[str, str]]:
    """Only reading a population (uscc, class): the baseline of ``make bench``."""
    cls = func.coalesce(credit_classes.c.credit_class, literal(UNRATED_CLASS))
    q = (select(entities.c.uscc, cls).select_from(entities.outerjoin(credit_classes, credit_classes.c.uscc == entities.c.uscc))
         .where(_filter(f)))
    return [tuple(r) for r in (await session.execute(q)).all()]


async def entity_names(session: AsyncSession, usccs: Iterable[str]) -> dict[str, dict]:
    rows = await session.execute(select(entities.c.uscc, entities.c.name, entities.c.address)
                                 .where(entities.c.uscc.in_(list(usccs))))
    return {r["uscc"]: r for r in dicts(rows)}


# ------------------------------------------------------------------ inspectors
def to_inspector(row: Any) -> Inspector:
    return Inspector(row["id"], row["department"], row["certificate_no"], row["certificate_valid_until"],
                     row["active"], frozenset(row["conflicts"]))


# One statement of fixed text whatever the number of rows (a VALUES list of 3,277 inspectors passed the 32,767
# parameters a statement may have).
_CHANGING = [c for c in (*INSPECTOR_FIELDS, "updated_at") if c not in ("id", "department", "certificate_no")]
_UPSERT_INSPECTORS = unnest_insert(
    inspectors, (*INSPECTOR_FIELDS, "updated_at"),
    suffix="ON CONFLICT ON CONSTRAINT inspectors_certificate DO UPDATE SET "
           + ", ".join(f"{c} = excluded.{c}" for c in _CHANGING),
    returning=tuple(c.name for c in inspectors.c))


async def stored_inspectors(session: AsyncSession, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """The inspectors stored under these (department, certificate number) keys, locked until the transaction ends,
    after every load of their departments before (a load of a department waits for another: an inspector the
    other adds is stored by the time this one reads, so its fields are kept too). Locks are taken in one order:
    departments, then rows by key."""
    await lock(session, sorted({f"inspectors:{d}" for d, _ in keys}))
    if not keys:
        return {}
    given = func.unnest(literal([d for d, _ in keys], ARRAY(Text)), literal([c for _, c in keys], ARRAY(Text))) \
        .table_valued("department", "certificate_no").render_derived("given")
    q = (select(inspectors)
         .join(given, and_(given.c.department == inspectors.c.department,
                           given.c.certificate_no == inspectors.c.certificate_no))
         .order_by(inspectors.c.department, inspectors.c.certificate_no).with_for_update(of=inspectors))
    return {(r["department"], r["certificate_no"]): r for r in dicts(await session.execute(q))}


async def upsert_inspectors(session: AsyncSession, rows: list[dict[str, Any]], at: datetime) -> list[dict]:
    """Insert or update by (department, certificate number), in that order (every load takes the rows' locks
    in one order: two loads sharing inspectors wait for each other one way only); returns the rows as
    stored, in the order given."""
    key = itemgetter("department", "certificate_no")
    stored = {key(r): r for r in await _UPSERT_INSPECTORS.run(
        session, [{**r, "updated_at": at} for r in sorted(rows, key=key)])}
    return [stored[key(r)] for r in rows]


async def inspector(session: AsyncSession, inspector_id: str, *, for_update: bool = False) -> dict | None:
    q = select(inspectors).where(inspectors.c.id == inspector_id)
    row = (await session.execute(q.with_for_update() if for_update else q)).mappings().first()
    return dict(row) if row else None


async def update_inspector(session: AsyncSession, inspector_id: str, values: dict[str, Any], at: datetime) -> dict:
    res = await session.execute(inspectors.update().where(inspectors.c.id == inspector_id)
                                .values(**values, updated_at=at).returning(inspectors))
    return dict(res.mappings().one())


async def list_inspectors(session: AsyncSession, *, department: str | None, limit: int, offset: int) -> list[dict]:
    q = select(inspectors)
    if department:
        q = q.where(inspectors.c.department == department)
    rows = await session.execute(q.order_by(inspectors.c.department, inspectors.c.id).limit(limit).offset(offset))
    return dicts(rows)


async def pools(session: AsyncSession, departments: list[str]) -> dict[str, list[Inspector]]:
    rows = await session.execute(select(inspectors).where(inspectors.c.department.in_(departments))
                                 .order_by(inspectors.c.id))
    out: dict[str, list[Inspector]] = {d: [] for d in departments}
    for r in rows.mappings():
        out[r["department"]].append(to_inspector(r))
    return out


async def loads(session: AsyncSession, inspector_ids: list[str], start, end) -> dict[str, int]:
    """Targets each inspector holds in tasks whose period overlaps [start, end]."""
    if not inspector_ids:
        return {}
    held = (select(func.unnest(targets.c.inspectors).label("id"))
            .where(targets.c.period_start <= end, targets.c.period_end >= start).subquery())
    ids = literal(list(inspector_ids), ARRAY(Text))   # one array parameter, whatever the pools' size
    q = select(held.c.id, func.count()).where(held.c.id == any_(ids)).group_by(held.c.id)
    return {i: int(n) for i, n in (await session.execute(q)).all()}
