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
    older = clock.now() - timedelta(hours=deps.settings.idempotency_keep_hours)
    await repo.purge_idempotency_keys(tx.session, older)
    await repo.purge_signed_out_tokens(tx.session, clock.now())
