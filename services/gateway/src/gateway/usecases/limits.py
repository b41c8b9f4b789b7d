"""Rate limits that hold across the gateway's replicas: each caller's token bucket is one row in the gateway's
database, taken from in one statement per request, whichever replica the request reaches. While the database
cannot be reached, each replica falls back on its own bucket in memory (the front door keeps limiting; a
caller spread over n replicas then gets up to n times its rate until the database is back)."""

from __future__ import annotations

import time

from sqlalchemy.exc import SQLAlchemyError

from jsp_common.db import Database
from jsp_common.logs import get_logger

from ..adapters import repositories as repo
from ..deps import Deps
from ..domain.ratelimit import wait_after

log = get_logger(__name__)


async def take(deps: Deps, db: Database, caller: str) -> float:
    """Take one request from ``caller``'s bucket: 0.0 if it may pass, else seconds until the next one may."""
    rate = deps.settings.rate_limit_per_minute / 60.0
    # the limits are part of the bucket's name: a new limit starts every caller with a full bucket
    bucket = f"{deps.settings.rate_limit_per_minute}/{deps.settings.rate_limit_burst}:{caller}"
    try:
        async with db.transaction() as session:
            tokens, allowed = await repo.take_rate_token(session, bucket, per_second=rate,
                                                         burst=float(deps.settings.rate_limit_burst))
    except (OSError, SQLAlchemyError) as exc:
        log.warning("shared rate limit unavailable; this replica's own bucket applies", error=type(exc).__name__)
        return deps.limiter.take(caller, time.monotonic())
    return 0.0 if allowed else wait_after(tokens, rate)
