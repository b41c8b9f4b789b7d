"""Builds the gateway's dependencies once (nothing happens at import time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from jsp_common import clock
from jsp_common.runtime import ServiceRuntime

from .adapters import repositories
from .adapters.audit import AuditWriter
from .adapters.hashing import SecretHasher
from .adapters.upstream import Upstream, build_client
from .domain.identity import TokenIssuer
from .domain.ratelimit import RateLimiter
from .settings import Settings


class Revocations:
    """Credentials revoked and clients disabled: tokens issued for them stop working.

    Reloaded from the database every few seconds (so every gateway replica learns of a revocation),
    and updated at once in the replica that made it.
    """

    # How long a change made here is re-applied over reloads: a reload whose read began before the change
    # was committed must not undo it.
    KEEP_LOCAL_S = 60.0

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.credentials: set[str] = set()
        self.clients: set[str] = set()
        self._local: list[tuple[float, str, str, bool]] = []  # (when, "credential" | "client", id, blocked)

    def blocks(self, client_id: str, credential_id: str) -> bool:
        return credential_id in self.credentials or client_id in self.clients

    def revoke_credential(self, credential_id: str) -> None:
        self._record("credential", credential_id, True)

    def set_client_blocked(self, client_id: str, blocked: bool) -> None:
        self._record("client", client_id, blocked)

    def reload(self, credentials: set[str], clients: set[str]) -> None:
        """The state read from the database, with this replica's recent changes applied on top."""
        horizon = self._monotonic() - self.KEEP_LOCAL_S
        self._local = [c for c in self._local if c[0] >= horizon]
        self.credentials, self.clients = set(credentials), set(clients)
        for _, kind, key, blocked in self._local:
            self._apply(kind, key, blocked)

    def _record(self, kind: str, key: str, blocked: bool) -> None:
        self._local.append((self._monotonic(), kind, key, blocked))
        self._apply(kind, key, blocked)

    def _apply(self, kind: str, key: str, blocked: bool) -> None:
        target = self.credentials if kind == "credential" else self.clients
        if blocked:
            target.add(key)
        else:
            target.discard(key)


class GatewayRuntime(ServiceRuntime):
    """The service runtime (database, producer, outbox relay) plus what the gateway adds."""

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.settings: Settings = settings
        self.hasher = SecretHasher()
        self.issuer = TokenIssuer(keys=tuple(settings.jwt_keys), issuer=settings.jwt_issuer,
                                  audience=settings.jwt_audience, ttl_s=settings.token_ttl_s)
        self.revocations = Revocations()
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.audit = AuditWriter(self.db, batch_size=settings.audit_batch_size,
                                 flush_interval_s=settings.audit_flush_interval_s, queue_max=settings.audit_queue_max)
        self.api_key_cache: dict[str, tuple[float, object]] = {}
        self.upstreams: dict[str, Upstream] = {}
        for name, url in (("registry", settings.registry_url), ("clues", settings.clues_url),
                          ("dashboard", settings.dashboard_url)):
            self.upstreams[name] = Upstream(
                name=name,
                client=build_client(url, connect_timeout_s=settings.upstream_connect_timeout_s,
                                    timeout_s=settings.upstream_timeout_s,
                                    max_connections=settings.upstream_max_connections),
                retries=settings.upstream_retries, backoff_s=settings.upstream_retry_backoff_s,
                openapi_ttl_s=settings.openapi_refresh_s)
        self.add_periodic("gateway-revocations", self.refresh_revocations, settings.revocation_refresh_s)
        self.add_periodic("gateway-idempotency-purge", self.purge_idempotency_keys, 3600)

    async def refresh_revocations(self) -> None:
        since = clock.now() - timedelta(seconds=self.settings.token_ttl_s + 60)
        async with self.db.transaction() as session:
            creds, clients = await repositories.unusable_since(session, since)
        self.revocations.reload(creds, clients)

    async def purge_idempotency_keys(self) -> None:
        older = clock.now() - timedelta(hours=self.settings.idempotency_keep_hours)
        async with self.db.transaction() as session:
            await repositories.purge_idempotency_keys(session, older)

    async def start(self) -> None:
        await self.refresh_revocations()
        await super().start()
        self.audit.start()

    async def stop(self) -> None:
        await self.audit.stop()
        for up in self.upstreams.values():
            await up.client.aclose()
        await super().stop()


def build_runtime(settings: Settings | None = None) -> GatewayRuntime:
    return GatewayRuntime((settings or Settings()).check())
