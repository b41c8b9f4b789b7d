"""The gateway's periodic jobs (each in its own transaction, opened by the bootstrap's job wrapper)."""

from __future__ import annotations

from datetime import timedelta

from jsp_common import clock
from jsp_common.outbox import Transaction

from ..adapters import repositories as repo
from ..deps import Deps


async def refresh_revocations(deps: Deps, tx: Transaction) -> None:
    """Credentials revoked or expired and clients disabled, in every replica: reloaded every few seconds
    (only those recent enough for a token issued before them to be still alive)."""
    since = clock.now() - timedelta(seconds=deps.settings.token_ttl_s + 60)
    started = deps.revocations.moment()
    deps.revocations.reload(*await repo.unusable_since(tx.session, since), read_started=started)


async def purge_idempotency_keys(deps: Deps, tx: Transaction) -> None:
    """Hourly: idempotency keys past their time, tokens signed out that expired, and rate-limit buckets full again."""
    older = clock.now() - timedelta(hours=deps.settings.idempotency_keep_hours)
    await repo.purge_idempotency_keys(tx.session, older)
    await repo.purge_signed_out_tokens(tx.session, clock.now())
    await repo.purge_rate_buckets(tx.session, clock.now() - refilled_within(deps.settings))


def refilled_within(settings) -> timedelta:
    """How long an untouched bucket of any kind takes to fill up again (and for a while after: a full bucket and no
    row are the same): one per caller, address and user name tried stayed in the database for good."""
    minutes = max(settings.rate_limit_burst / max(settings.rate_limit_per_minute, 1),
                  settings.sign_in_failures_burst / settings.sign_in_failures_per_minute)
    return timedelta(minutes=2 * minutes)
