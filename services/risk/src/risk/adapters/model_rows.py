"""The risk model's versions and what a version would make of the standings (SQLAlchemy Core, in the caller's
transaction). Rows are plain dicts by column name."""

from __future__ import annotations

from sqlalchemy import Float, case, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import all_rows, first_row

from ..domain.model import RiskModel
from .tables import model_versions, standings


async def latest_model(session: AsyncSession) -> tuple[int, RiskModel] | None:
    row = (await session.execute(select(model_versions.c.version, model_versions.c.document)
                                 .order_by(model_versions.c.version.desc()).limit(1))).first()
    return (row.version, RiskModel.model_validate(row.document, context={"stored": True})) if row else None


async def model_version(session: AsyncSession, version: int) -> dict | None:
    return await first_row(session, select(model_versions).where(model_versions.c.version == version))


async def list_models(session: AsyncSession) -> list[dict]:
    q = select(model_versions.c.version, model_versions.c.note, model_versions.c.created_by,
               model_versions.c.created_at).order_by(model_versions.c.version.desc())
    return await all_rows(session, q)


async def add_model(session: AsyncSession, model: RiskModel, *, note: str, created_by: str) -> int:
    """Store a new version (the next number); two saving at once: one waits for the other's number."""
    await session.execute(text("LOCK TABLE model_versions IN SHARE ROW EXCLUSIVE MODE"))
    version = (await session.execute(select(func.coalesce(func.max(model_versions.c.version), 0) + 1))).scalar_one()
    await session.execute(insert(model_versions).values(version=version, document=model.model_dump(mode="json"),
                                                        note=note, created_by=created_by))
    return version


async def level_counts(session: AsyncSession, model: RiskModel) -> dict[str | None, int]:
    """How many entities each level would hold under ``model``, from their current counts (one scan)."""
    score = literal(0.0, Float)
    for i in model.indicators:
        count = func.coalesce(standings.c.counts[i.code].astext.cast(Float), 0.0)
        score = score + literal(i.weight, Float) * func.least(count, literal(float(i.cap), Float))
    scored = select(score.label("score")).subquery()
    level = case(*((scored.c.score >= literal(r.min_score, Float), literal(r.level.value))
                   for r in reversed(model.levels)), else_=None).label("level")
    q = select(level, func.count()).group_by(level)
    return {row[0]: row[1] for row in (await session.execute(q))}
