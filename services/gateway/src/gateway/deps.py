"""What the gateway's use cases need, built once by bootstrap.build(): a typed container, no logic."""

from __future__ import annotations

from dataclasses import dataclass, field

from .adapters.audit import AuditWriter
from .adapters.hashing import SecretHasher
from .adapters.upstream import Upstream
from .domain.identity import TokenIssuer
from .domain.ratelimit import Leases, RateLimiter
from .domain.revocations import Revocations, VerifiedKeys
from .domain.streams import PublicStreams
from .settings import Settings
from .usecases.renewals import Renewals


@dataclass
class Deps:
    settings: Settings
    hasher: SecretHasher
    issuer: TokenIssuer
    limiter: RateLimiter
    leases: Leases
    audit: AuditWriter
    upstreams: dict[str, Upstream]          # the services behind the gateway, by name
    public_streams: PublicStreams           # the public's live streams open on this replica
    revocations: Revocations = field(default_factory=Revocations)
    verified_keys: VerifiedKeys = field(default_factory=VerifiedKeys)
    renewals: Renewals = field(default_factory=Renewals)
