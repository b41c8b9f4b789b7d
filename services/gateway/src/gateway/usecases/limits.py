"""Rate limits that hold across the gateway's replicas: each caller's token bucket is one row in the gateway's
database, taken from in one statement, whichever replica the request reaches; a replica takes several tokens at
once from a bucket holding many and hands them out itself for a second (``domain.ratelimit.Leases``). While the
database cannot be reached, each replica falls back on its own bucket in memory (the front door keeps limiting;
a caller spread over n replicas then gets up to n times its rate until the database is back)."""

from __future__ import annotations

import time

from sqlalchemy.exc import SQLAlchemyError

from jsp_common.db import Database, is_unavailable
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
    now = time.monotonic()
    if deps.leases.take(bucket, now):
        return 0.0
    count, burst = deps.leases.wanted(bucket), float(deps.settings.rate_limit_burst)
    try:
        async with db.transaction() as session:
            tokens, allowed = await repo.take_rate_tokens(session, bucket, per_second=rate, burst=burst, count=count)
            if not allowed and count > 1:  # the bucket ran low since it was last seen: this request's token only
                count = 1
                tokens, allowed = await repo.take_rate_tokens(session, bucket, per_second=rate, burst=burst)
    except (OSError, SQLAlchemyError) as exc:
        if not is_unavailable(exc):  # a statement this code got wrong is a fault to see, not an outage
            raise
        log.warning("shared rate limit unavailable; this replica's own bucket applies", error=type(exc).__name__)
        return deps.limiter.take(caller, now)
    deps.leases.taken(bucket, count if allowed else 0, tokens, now)
    return 0.0 if allowed else wait_after(tokens, rate)
