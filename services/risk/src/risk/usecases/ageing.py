"""Scores as time passes (periodic job under leadership): an observation counts only within its indicator's window,
and an inverted indicator ("not inspected for a year") comes to count when its window empties, so an entity's score
moves though no new fact about it arrives. Once a day, at ``rescore_at`` local time, every entity with a standing
(every entity anything was observed about) is re-scored under the model in force (``models.rescore_all``, without
the directory's entities nothing was observed about: time moves nothing for them); those whose level or class moved
get their alerts closed or raised and their class published, as for a new fact. A run missed while the service was
away is made up at its next round; the day's run is recorded once done, so it runs once a day across replicas and
restarts."""

from __future__ import annotations

from datetime import datetime

from jsp_common import clock
from jsp_common.logs import get_logger

from ..adapters import repository as repo
from ..deps import Deps
from ..domain import daily
from .models import rescore_all

log = get_logger(__name__)
JOB = "risk-rescore"


async def rescore_when_due(deps: Deps, now: datetime | None = None) -> dict | None:
    """One round: re-score every entity with a standing if today's run (or a missed one) is due. Returns the
    re-scoring's counts, or None when nothing was due."""
    now = now or clock.now()
    async with deps.db.transaction() as session:
        moment = daily.due(await repo.job_ran_for(session, JOB), now, deps.settings.rescore_at)
    if moment is None:
        return None
    done = await rescore_all(deps, now=now, directory=False)
    async with deps.db.transaction() as session:
        await repo.record_job_run(session, JOB, moment, now)
    log.info("entities re-scored as time passed", due=moment.isoformat(), **done)
    return done
