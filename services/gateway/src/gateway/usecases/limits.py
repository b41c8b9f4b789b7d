"""Rate limits that hold across the gateway's replicas: each caller's token bucket is one row in the gateway's
database, taken from in one statement, whichever replica the request reaches; a replica takes several tokens at
once from a bucket holding many and hands them out itself for a second (``domain.ratelimit.Leases``). While the
database cannot be reached, each replica falls back on its own bucket in memory (the front door keeps limiting;
a caller spread over n replicas then gets up to n times its rate until the database is back).

Requests of one caller arriving while the replica renews its lease wait for that renewal and take from the
lease it brings (``usecases.renewals``), or from the replica's own bucket when it found the database away. Each
renewing at once would take a lease of its own from the shared bucket and keep only the last, throwing the other
tokens away: a line system sending twenty calls at a time was refused long before its burst was spent.

Failed sign-ins are limited per account tried as well, wherever they come from (``hold_sign_in``): a bucket of
the same kind (its own limits, no leases: every attempt counts where the replicas share it) that a sign-in takes
from before its credential is checked and gets back unless it failed."""

from __future__ import annotations

import asyncio
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
    while not deps.leases.take(bucket, time.monotonic()):
        pending = deps.renewals.in_flight(bucket)
        if pending is None:
            with deps.renewals.renewing(bucket) as done:
                return await _renew(deps, db, caller, bucket, rate, done)
        if not await asyncio.shield(pending):  # the database was away: this replica's own bucket applies
            return deps.limiter.take(caller, time.monotonic())
    return 0.0


async def _renew(deps: Deps, db: Database, caller: str, bucket: str, rate: float, done: asyncio.Future) -> float:
    """Take a lease from the shared bucket (this request's token and, when it holds many, more to hand out);
    ``done`` tells the requests waiting for it whether the database answered."""
    now = time.monotonic()
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
        done.set_result(False)
        return deps.limiter.take(caller, now)
    deps.leases.taken(bucket, count if allowed else 0, tokens, now)
    done.set_result(True)
    return 0.0 if allowed else wait_after(tokens, rate)


def _sign_in_bucket(deps: Deps, account: str) -> str:
    return f"sign-in {deps.settings.sign_in_failures_per_minute:g}/{deps.settings.sign_in_failures_burst}:{account}"


async def hold_sign_in(deps: Deps, db: Database, account: str) -> float:
    """Before a sign-in to ``account`` checks its credential: one of the account's failed sign-ins held, from its
    bucket shared by every replica (0.0), or the seconds until it holds one again (its allowance is spent: the
    credential must not be checked). Taken in one statement, so sign-ins at once never get past more than the bucket
    holds. The sign-in gives it back unless it failed (``release_sign_in``). While the database cannot be reached
    this raises, as the credential's lookup would: there is no sign-in to pace (503)."""
    rate = deps.settings.sign_in_failures_per_minute / 60.0
    async with db.transaction() as session:
        tokens, allowed = await repo.take_rate_tokens(session, _sign_in_bucket(deps, account), per_second=rate,
                                                      burst=float(deps.settings.sign_in_failures_burst))
    return 0.0 if allowed else wait_after(tokens, rate)


async def release_sign_in(deps: Deps, db: Database, account: str) -> None:
    """A sign-in to ``account`` that did not fail (it succeeded, or could not be answered): what it held goes back.
    The database gone meanwhile, it stays taken and refills with time."""
    try:
        async with db.transaction() as session:
            await repo.give_back_rate_token(session, _sign_in_bucket(deps, account),
                                            burst=float(deps.settings.sign_in_failures_burst))
    except (OSError, SQLAlchemyError) as exc:
        if not is_unavailable(exc):
            raise
        log.warning("a sign-in's hold on its account's allowance of failures is not given back", account=account,
                    error=type(exc).__name__)
