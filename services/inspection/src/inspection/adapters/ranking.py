"""The draw computed where the population lives: PostgreSQL snapshots, keeps and ranks a plan's population
with the published algorithm (``domain/draw.py``) in one statement, so only the samples reach the service,
never a million members.

The same definitions, in SQL: a member's rank is ``sha256(convert_to(seed || uscc, 'UTF8'))`` (a ``bytea``:
compared byte by byte, as the domain compares digests), ties by the member in byte order (``COLLATE "C"``);
a stratum's snapshot is its size and ``sha256`` of its members sorted in byte order joined by a newline.
``tests/integration/test_ranked_draw.py`` checks that the database and the domain agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Sequence

from sqlalchemy import Numeric, Text, case, column, func, literal, select, union_all, values
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.draw import Snapshot
from ..domain.sampling import CLASSES, UNRATED_CLASS
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
            .where(_filter(f), entities.c.uscc.not_in(capped)))


def _rank(seed: str, uscc):
    return func.sha256(func.convert_to(literal(seed) + uscc, literal("UTF8")))


async def draw_population(session: AsyncSession, draw_id: str, population: int, f: dict[str, Any], *, year: int,
                          yearly_cap: int, seed: str, ratios: Sequence[tuple[str, Decimal]]
                          ) -> tuple[dict[str, Snapshot], dict[str, list[str]], dict[str, bytes]]:
    """Snapshot, keep and rank a plan's population in one statement (one pass over the directory):

    * each credit class's members, sorted in byte order and joined by a newline, in UTF-8 (the very bytes the
      digest is the SHA-256 of), kept for the draw's record, and the class's snapshot (size, digest);
    * each class's lowest-ranked members, lowest first, as many as the largest sample of ``ratios`` (every
      (class, ratio) of the plans over this population) takes, ``round(ratio × size)``; and their ranks.

    The members are ranked in one sort, all classes together; a member's place in its class is the count
    of its class's members up to it in that order."""
    # Read in the directory's key order: where the database's collation orders USCCs by their bytes (C.UTF-8
    # does), the sorts in byte order below find their input already sorted (any other order: just slower).
    pop = (_population(f, year=year, yearly_cap=yearly_cap).order_by(entities.c.uscc)
           .cte("population").prefix_with("MATERIALIZED"))
    byte_order = pop.c.uscc.collate("C")
    cls = pop.c.credit_class.collate("C")
    # Each class's members in byte order: one sort by member, every class's list aggregated alongside (the
    # classes are A-D: the risk service's events allow no other).
    joined = {c: func.string_agg(pop.c.uscc, aggregate_order_by(literal("\n"), byte_order)).filter(cls == c)
              for c in CLASSES}
    counted = select(*(func.count().filter(cls == c).label(f"size_{c}") for c in CLASSES),
                     *(m.label(f"members_{c}") for c, m in joined.items())).cte("counted")
    strata = union_all(*(select(literal(draw_id), literal(population), literal(c), counted.c[f"size_{c}"],
                                func.convert_to(counted.c[f"members_{c}"], literal("UTF8")))
                         .where(counted.c[f"size_{c}"] > 0) for c in CLASSES))
    digest = func.encode(func.sha256(draw_populations.c.members), literal("hex"))
    kept = (draw_populations.insert()
            .from_select(["draw_id", "population", "credit_class", "size", "members"], strata)
            .returning(draw_populations.c.credit_class, draw_populations.c.size, digest.label("digest"))
            .cte("kept"))
    wanted = sorted({c for c, r in ratios if Decimal(r) > 0})
    if not wanted:
        rows = (await session.execute(select(kept.c.credit_class, kept.c.size, kept.c.digest))).all()
        return {c: Snapshot(int(n), d) for c, n, d in rows}, {c: [] for c, _ in ratios}, {}
    asked = values(column("credit_class", Text), column("ratio", Numeric), name="asked").data(
        [(c, Decimal(r)) for c, r in ratios if c in wanted])
    largest = func.max(func.round(asked.c.ratio * kept.c.size))
    need = (select(kept.c.credit_class, largest.label("need"))
            .join_from(kept, asked, asked.c.credit_class == kept.c.credit_class)
            .group_by(kept.c.credit_class).cte("need"))
    rank = _rank(seed, pop.c.uscc)
    in_turn = {"order_by": (rank, byte_order), "rows": (None, 0)}
    place = case(*((cls == c, func.count().filter(cls == c).over(**in_turn)) for c in wanted))
    ranked = (select(cls.label("credit_class"), pop.c.uscc, rank.label("rank"), place.label("pos"))
              .where(cls.in_(wanted)).subquery("ranked"))
    sample = (select(ranked.c.credit_class, func.array_agg(ranked.c.uscc).label("members"),
                     func.array_agg(ranked.c.rank).label("ranks"), func.array_agg(ranked.c.pos).label("pos"))
              .join_from(ranked, need, need.c.credit_class == ranked.c.credit_class)
              .where(ranked.c.pos <= need.c.need).group_by(ranked.c.credit_class).subquery("sample"))
    q = (select(kept.c.credit_class, kept.c.size, kept.c.digest, sample.c.members, sample.c.ranks, sample.c.pos)
         .outerjoin_from(kept, sample, sample.c.credit_class == kept.c.credit_class))
    snapshots: dict[str, Snapshot] = {}
    lowest: dict[str, list[str]] = {c: [] for c, _ in ratios}
    ranks: dict[str, bytes] = {}
    for c, size, d, sampled, sampled_ranks, places in (await session.execute(q)).all():
        snapshots[c] = Snapshot(int(size), d)
        if sampled:  # aggregated in no particular order: each member goes to its place
            lowest[c] = [sampled[k] for k in sorted(range(len(places)), key=places.__getitem__)]
            ranks.update(zip(sampled, map(bytes, sampled_ranks)))
    return snapshots, lowest, ranks


async def kept_size(session: AsyncSession, draw_id: str, population: int, credit_class: str) -> int | None:
    """How many bytes a kept population's members are (None: the draw kept no such population)."""
    q = select(func.octet_length(draw_populations.c.members)).where(*_kept(draw_id, population, credit_class))
    return (await session.execute(q)).scalar_one_or_none()


async def kept_slice(session: AsyncSession, draw_id: str, population: int, credit_class: str, start: int,
                     length: int) -> bytes:
    """``length`` bytes of a kept population's members from ``start`` (0-based; fewer at the end). Stored out of
    line uncompressed, the database reads that slice only."""
    q = select(func.substring(draw_populations.c.members, start + 1, length)).where(
        *_kept(draw_id, population, credit_class))
    return (await session.execute(q)).scalar_one_or_none() or b""


def _kept(draw_id: str, population: int, credit_class: str):
    return (draw_populations.c.draw_id == draw_id, draw_populations.c.population == population,
            draw_populations.c.credit_class == credit_class)
