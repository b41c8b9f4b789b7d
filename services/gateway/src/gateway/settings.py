"""The gateway's settings (environment variables ``JSP_GATEWAY_*``)."""

from __future__ import annotations

import json

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jsp_common.caller import DEV_SIGNING_KEY, public_keys
from jsp_common.settings import DEV_SECRET_MARKER, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JSP_GATEWAY_")

    service_name: str = "gateway"
    http_port: int = 8000

    # Services behind the gateway (never reachable from outside).
    registry_url: str = "http://127.0.0.1:8101"
    clues_url: str = "http://127.0.0.1:8102"
    inspection_url: str = "http://127.0.0.1:8103"
    risk_url: str = "http://127.0.0.1:8104"
    dashboard_url: str = "http://127.0.0.1:8105"
    upstream_connect_timeout_s: float = 1.0
    upstream_timeout_s: float = 10.0
    # Routes marked long-running in domain/policy.py (the registry's rule dry-run over the whole directory).
    upstream_long_timeout_s: float = 120.0
    upstream_retries: int = 2           # extra attempts, for safe methods (GET, HEAD) only
    upstream_retry_backoff_s: float = 0.1
    upstream_max_connections: int = 100
    upstream_max_streams: int = Field(1000, ge=1)  # live pages' streams to the dashboard: a pool of their own
    # Of them, the public pages' (no sign-in) at most this many per address and in all (domain/streams.py): the
    # rest stay for the office's and the departments' live pages.
    public_streams_per_address: int = Field(4, ge=1)
    public_streams: int = Field(500, ge=1)
    # An idle pooled connection to a service is closed after this long: below the services' JSP_HTTP_KEEP_ALIVE_S
    # (checked), so the gateway never sends a request on a connection the service is closing (a POST is not
    # retried: it would fail with 503).
    upstream_keep_alive_s: float = Field(15.0, gt=0)
    openapi_refresh_s: float = 30.0     # how long a fetched service OpenAPI document is reused

    # Tokens: short-lived JWTs signed with HS256. Rotation: put the new key first; old ones still verify.
    jwt_keys: list[str] = Field(default_factory=lambda: [f"{DEV_SECRET_MARKER}-gateway-jwt-key-0123456789abcdef"])
    jwt_issuer: str = "jsp-gateway"
    jwt_audience: str = "jsp"
    token_ttl_s: int = 900
    # A person's sign-in session on the pages: its token renewed while a page of it is in use (an open live page
    # keeps it: the office's command page on a wall screen), never beyond this long after signing in.
    session_max_s: int = Field(12 * 3600, gt=0)
    # How often revoked keys, disabled clients and signed-out tokens are reloaded, and an open live page's token is
    # checked again (pages.py: a stream is closed once its session has ended).
    revocation_refresh_s: float = 5.0

    # Who is calling, proven to the services (jsp_common.caller): the private Ed25519 JWK the gateway signs each
    # forwarded call's assertion with (its kid must be in JSP_CALLER_KEYS), and how long an assertion is good for.
    caller_signing_key: str = DEV_SIGNING_KEY
    caller_assertion_ttl_s: int = Field(60, ge=5, le=600)

    # Prometheus metrics on their own port, reached only by the cluster's scraper (never through the Ingress).
    metrics_port: int | None = 9464

    # People signed in on the dashboard's pages: the token lives in this HttpOnly cookie (Secure in production).
    session_cookie: str = "jsp_session"
    session_cookie_secure: bool | None = None   # default: secure outside development and test
    stream_idle_timeout_s: float = 60.0         # a live page's event stream (the dashboard sends keep-alives)

    # Protection.
    rate_limit_per_minute: int = 600    # per client (or per address for public routes)
    rate_limit_burst: int = 100
    # A replica takes up to this many of a caller's tokens at once (at most an eighth of what the shared bucket
    # holds) and hands them out itself for rate_limit_lease_s; unused ones are lost. 1: every request asks the
    # database.
    rate_limit_lease_most: int = Field(50, ge=1)
    rate_limit_lease_s: float = Field(1.0, gt=0)
    # Failed sign-ins per account tried (client id or user name), wherever they come from: a bucket of its own per
    # account, shared by the replicas, that only a failure spends (usecases/limits.py). 10 at once, then one every
    # 20 minutes: fewer than the 100 failures NIST SP 800-63B §5.2.2 allows on an account in any day (82), while
    # whoever mistyped ten times waits 20 minutes at most once they have it right (the gateway's README).
    sign_in_failures_per_minute: float = Field(0.05, gt=0)
    sign_in_failures_burst: int = Field(10, ge=1)
    max_body_bytes: int = 1_000_000
    idempotency_keep_hours: float = 72.0

    # Audit log: written in batches off the request path; kept at least six months (Cybersecurity Law art. 21).
    audit_flush_interval_s: float = 0.2
    audit_batch_size: int = 500
    audit_queue_max: int = 10_000
    audit_retention_days: int = 190

    def check(self) -> "Settings":
        if self.session_cookie_secure is None:
            self.session_cookie_secure = self.environment == "production"
        # Every key verifies tokens, not only the first that signs them: the placeholder kept behind a real key (a
        # rotation away from it) would let anyone who read this repository sign a token with any role.
        self.refuse_placeholder_secrets(caller_signing_key=self.caller_signing_key, **{
            f"jwt_keys[{i}]": key for i, key in enumerate(self.jwt_keys or [None])})
        if self.upstream_keep_alive_s >= self.http_keep_alive_s:
            raise ValueError(f"JSP_GATEWAY_UPSTREAM_KEEP_ALIVE_S ({self.upstream_keep_alive_s:g} s) must be below "
                             f"the services' JSP_HTTP_KEEP_ALIVE_S ({self.http_keep_alive_s:g} s): a request sent "
                             "on a connection as the service closes it fails")
        kid = json.loads(self.caller_signing_key).get("kid")
        if kid not in public_keys(self.caller_keys):
            raise ValueError(f"the caller signing key {kid!r} is not in JSP_CALLER_KEYS: the services would refuse "
                             "every call (rotation: add its public key everywhere first)")
        return self
