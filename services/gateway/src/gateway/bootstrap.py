"""The one place that wires the gateway: its runtime (database, producer, outbox relay), its dependencies,
the start-up and shutdown steps and the periodic jobs. Nothing happens at import time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from jsp_common.caller import Signer
from jsp_common.outbox import SessionTx
from jsp_common.runtime import ServiceRuntime

from .adapters.audit import AuditWriter
from .adapters.hashing import SecretHasher
from .adapters.upstream import Upstream
from .deps import Deps
from .domain.identity import TokenIssuer
from .domain.ratelimit import Leases, RateLimiter
from .domain.streams import PublicStreams
from .settings import Settings
from .usecases import housekeeping

Job = Callable[[Deps, SessionTx], Awaitable[object]]


def build(settings: Settings | None = None, *, consume: bool = True, periodic: bool = True
          ) -> ServiceRuntime[Deps]:
    """The gateway consumes no topic (``consume`` is accepted for the shape every service shares);
    ``periodic=False`` leaves out the periodic jobs (one-off commands)."""
    settings = (settings or Settings()).check()
    runtime: ServiceRuntime[Deps] = ServiceRuntime(settings)
    deps = runtime.deps = Deps(
        settings=settings,
        hasher=SecretHasher(),
        issuer=TokenIssuer(keys=tuple(settings.jwt_keys), issuer=settings.jwt_issuer,
                           audience=settings.jwt_audience, ttl_s=settings.token_ttl_s),
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        leases=Leases(settings.rate_limit_lease_most, settings.rate_limit_lease_s),
        audit=AuditWriter(runtime.db, batch_size=settings.audit_batch_size,
                          flush_interval_s=settings.audit_flush_interval_s, queue_max=settings.audit_queue_max),
        upstreams=_upstreams(settings, Signer.from_jwk(settings.caller_signing_key,
                                                       ttl_s=settings.caller_assertion_ttl_s)),
        public_streams=PublicStreams(per_address=settings.public_streams_per_address, total=settings.public_streams))
    refresh_revocations = in_transaction(runtime, housekeeping.refresh_revocations)
    runtime.on_start(refresh_revocations)  # a revoked credential is refused from the first request on
    runtime.on_start(deps.audit.start)
    runtime.on_stop(deps.audit.stop)       # flushes what is queued
    for upstream in deps.upstreams.values():
        runtime.on_stop(upstream.close)
    if periodic:
        # every replica keeps its own copy of the revocations
        runtime.add_periodic("gateway-revocations", refresh_revocations, settings.revocation_refresh_s,
                             every_replica=True)
        runtime.add_periodic("gateway-idempotency-purge",
                             in_transaction(runtime, housekeeping.purge_idempotency_keys), 3600)
    return runtime


def in_transaction(runtime: ServiceRuntime[Deps], job: Job) -> Callable[[], Awaitable[None]]:
    """A periodic job (or a command) in its own transaction."""
    async def run() -> None:
        async with runtime.db.transaction() as session:
            await job(runtime.deps, SessionTx(session, runtime.source))
    return run


def _upstreams(settings: Settings, signer: Signer) -> dict[str, Upstream]:
    return {name: Upstream(name=name, signer=signer,
                           base_url=url, max_connections=settings.upstream_max_connections,
                           max_streams=settings.upstream_max_streams,
                           keep_alive_s=settings.upstream_keep_alive_s,
                           connect_timeout_s=settings.upstream_connect_timeout_s,
                           timeout_s=settings.upstream_timeout_s,
                           retries=settings.upstream_retries, backoff_s=settings.upstream_retry_backoff_s,
                           openapi_ttl_s=settings.openapi_refresh_s)
            for name, url in (("registry", settings.registry_url), ("clues", settings.clues_url),
                              ("inspection", settings.inspection_url), ("risk", settings.risk_url),
                              ("dashboard", settings.dashboard_url))}
