"""The draw computed where the population lives: PostgreSQL snapshots and ranks a plan's population with the
published algorithm (``domain/draw.py``), so only the samples reach the service, never a million members.

The same definitions, in SQL: a member's rank is ``sha256(convert_to(seed || uscc, 'UTF8'))`` (a ``bytea``:
compared byte by byte, as the domain compares digests), ties by the member in byte order (``COLLATE "C"``);
a stratum's snapshot is its size and ``sha256`` of its members sorted in byte order joined by a newline.
``tests/integration/test_ranked_draw.py`` checks that the database and the domain agree.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import case, delete, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.draw import Snapshot
from ..domain.sampling import UNRATED_CLASS
from .directory import _filter
from .tables import credit_classes, draw_populations, entities, targets


async def use_work_mem(session: AsyncSession, work_mem: str) -> None:
    """Memory for this transaction's sorts (a million members sort in memory, not on disk)."""
    await session.execute(select(func.set_config("work_mem", work_mem, True)))


def _population(f: dict[str, Any], *, year: int, yearly_cap: int):
    """The plan's candidates (uscc, credit_class; unrated: B), without entities already inspected
    ``yearly_cap`` times in ``year``."""
    capped = (select(targets.c.uscc).where(targets.c.year == year).group_by(targets.c.uscc)
              .having(func.count() >= yearly_cap))
    cls = func.coalesce(credit_classes.c.credit_class, literal(UNRATED_CLASS)).label("credit_class")
    return (select(entities.c.uscc.label("uscc"), cls)
            .select_from(entities.outerjoin(credit_classes, credit_classes.c.uscc == entities.c.uscc))
            .where(_filter(f), entities.c.uscc.not_in(capped))).subquery("population")


def _rank(seed: str, uscc):
    return func.sha256(func.convert_to(literal(seed) + uscc, literal("UTF8")))


async def keep_population(session: AsyncSession, draw_id: str, population: int, f: dict[str, Any], *, year: int,
                          yearly_cap: int) -> dict[str, Snapshot]:
    """Write the population's members per credit class (sorted in byte order) for the draw's record, and
    return each class's snapshot (size, digest) as the database computed it."""
    pop = _population(f, year=year, yearly_cap=yearly_cap)
    byte_order = pop.c.uscc.collate("C")
    rows = select(literal(draw_id), literal(population), pop.c.credit_class,
                  func.array_agg(aggregate_order_by(pop.c.uscc, byte_order))).group_by(pop.c.credit_class)
    members = draw_populations.c.members
    digest = func.encode(func.sha256(func.convert_to(func.array_to_string(members, literal("\n")), literal("UTF8"))),
                         literal("hex"))
    stmt = (draw_populations.insert()
            .from_select(["draw_id", "population", "credit_class", "members"], rows)
            .returning(draw_populations.c.credit_class, func.cardinality(members), digest))
    return {c: Snapshot(int(n), d) for c, n, d in (await session.execute(stmt)).all()}


async def lowest(session: AsyncSession, f: dict[str, Any], *, year: int, yearly_cap: int, seed: str,
                 need: Mapping[str, int]) -> tuple[dict[str, list[str]], dict[str, bytes]]:
    """The ``need[class]`` lowest-ranked members of each credit class, lowest first; and their ranks."""
    wanted = {c: k for c, k in need.items() if k > 0}
    if not wanted:
        return {c: [] for c in need}, {}
    pop = _population(f, year=year, yearly_cap=yearly_cap)
    rank = _rank(seed, pop.c.uscc).label("rank")
    ranked = (select(pop.c.uscc, pop.c.credit_class, rank,
                     func.row_number().over(partition_by=pop.c.credit_class,
                                            order_by=(rank, pop.c.uscc.collate("C"))).label("pos"))
              .where(pop.c.credit_class.in_(list(wanted)))).subquery("ranked")
    limit = case(*((ranked.c.credit_class == c, k) for c, k in wanted.items()), else_=0)
    q = (select(ranked.c.credit_class, ranked.c.uscc, ranked.c.rank).where(ranked.c.pos <= limit)
         .order_by(ranked.c.credit_class, ranked.c.pos))
    out: dict[str, list[str]] = {c: [] for c in need}
    ranks: dict[str, bytes] = {}
    for cls, uscc, r in (await session.execute(q)).all():
        out[cls].append(uscc)
        ranks[uscc] = bytes(r)
    return out, ranks


async def members(session: AsyncSession, draw_id: str) -> dict[tuple[int, str], list[str]]:
    """The draw's kept populations: (population, credit class) -> members."""
    q = select(draw_populations.c.population, draw_populations.c.credit_class, draw_populations.c.members) \
        .where(draw_populations.c.draw_id == draw_id)
    return {(p, c): list(m) for p, c, m in (await session.execute(q)).all()}


async def forget_populations(session: AsyncSession, draw_id: str) -> None:
    """A refused draw keeps no population (it has no record to replay)."""
    await session.execute(delete(draw_populations).where(draw_populations.c.draw_id == draw_id))

