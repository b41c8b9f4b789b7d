"""How big the directory is, as the rules see it (for the confirmation of a drastic rule change)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .tables import entities


async def rule_assigned_active(session: AsyncSession) -> int:
    """Active entities whose departments the rules decide (the office's own assignments excluded)."""
    return (await session.execute(select(func.count()).select_from(entities).where(
        entities.c.status == "active", entities.c.assignment_source != "office"))).scalar_one()
