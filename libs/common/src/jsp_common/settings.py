"""The one settings base every service extends (pydantic-settings, environment variables).

Shared addresses are read from fixed ``JSP_*`` names so one environment serves every service;
a service's own settings use its prefix, e.g. ``JSP_REGISTRY_DATABASE_URL``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_MARKER = "change-me"


def asyncpg_url(url: str) -> str:
    """A database URL for SQLAlchemy's asyncpg driver: ``postgresql://`` and ``postgres://`` (libpq's forms,
    e.g. the ``uri`` of a CloudNativePG ``<cluster>-app`` Secret) become ``postgresql+asyncpg://``."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+asyncpg://" + url[len(scheme):]
    return url


def with_database(server_url: str, database: str) -> str:
    """The URL of ``database`` on the server of ``server_url``, its options (e.g. ``?sslmode=verify-full``) kept."""
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


def _dev_caller_keys() -> str:
    from .caller import DEV_KEYS

    return DEV_KEYS


def service_default(env_prefix: str, name: str, default, **constraints):
    """A shared setting (``JSP_<name>``) with a service's own default, which ``<env_prefix><name>`` sets for that
    service alone: e.g. ``consumer_max_records: int = service_default("JSP_RISK_", "CONSUMER_MAX_RECORDS", 5000)``."""
    return Field(default, validation_alias=AliasChoices(f"{env_prefix}{name}", f"JSP_{name}"), **constraints)


class ServiceSettings(BaseSettings):
    """Settings common to every service. Subclasses set ``service_name`` and their env prefix."""

    model_config = SettingsConfigDict(env_prefix="JSP_", extra="ignore", populate_by_name=True)

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias=AliasChoices("JSP_ENVIRONMENT"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("JSP_LOG_LEVEL"))
    log_json: bool = Field(True, validation_alias=AliasChoices("JSP_LOG_JSON"))
    # A library's repeated log line is written once per this many seconds, with how many were left out.
    log_repeat_window_s: float = Field(60.0, validation_alias=AliasChoices("JSP_LOG_REPEAT_WINDOW_S"))
    # Kafka and the database are probed this often; losing one, still missing it every
    # connection_report_s, and getting it back are each logged once (jsp_common.runtime).
    connection_check_s: float = Field(2.0, validation_alias=AliasChoices("JSP_CONNECTION_CHECK_S"))
    connection_report_s: float = Field(30.0, validation_alias=AliasChoices("JSP_CONNECTION_REPORT_S"))

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias=AliasChoices("JSP_KAFKA_BOOTSTRAP_SERVERS"))
    kafka_security_protocol: str = Field("PLAINTEXT", validation_alias=AliasChoices("JSP_KAFKA_SECURITY_PROTOCOL"))
    kafka_sasl_mechanism: str | None = Field(None, validation_alias=AliasChoices("JSP_KAFKA_SASL_MECHANISM"))
    kafka_sasl_username: str | None = Field(None, validation_alias=AliasChoices("JSP_KAFKA_SASL_USERNAME"))
    kafka_sasl_password: str | None = Field(None, validation_alias=AliasChoices("JSP_KAFKA_SASL_PASSWORD"))
    # The CA that signed the brokers' certificates (SSL, SASL_SSL), e.g. Strimzi's <cluster>-cluster-ca-cert; the
    # system's CAs when not set. A client certificate and key for brokers that ask for one (mutual TLS).
    kafka_ssl_cafile: str | None = Field(None, validation_alias=AliasChoices("JSP_KAFKA_SSL_CAFILE"))
    kafka_ssl_certfile: str | None = Field(None, validation_alias=AliasChoices("JSP_KAFKA_SSL_CERTFILE"))
    kafka_ssl_keyfile: str | None = Field(None, validation_alias=AliasChoices("JSP_KAFKA_SSL_KEYFILE"))
    # Two environments on one broker (e.g. "staging"): consumer group ids and dead-letter topics are prefixed
    # "<prefix>." (jsp_common.topics.in_environment), so neither takes the other's partitions or dead letters.
    env_prefix: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{0,39}$",
                                   validation_alias=AliasChoices("JSP_ENV_PREFIX"))
    # Replicas per partition when topics are created: jsp_common.topics.REPLICATION (local 1/1, cluster 3/2).
    kafka_replication: Literal["local", "cluster"] = Field(
        "local", validation_alias=AliasChoices("JSP_KAFKA_REPLICATION"))

    postgres_url: str = Field("postgresql+asyncpg://postgres@127.0.0.1:5432",
                              validation_alias=AliasChoices("JSP_POSTGRES_URL"))
    # Full URL of this service's own database; default: postgres_url + "/" + service_name.
    database_url: str | None = None
    # A replica opens up to twice this many connections to its database, as its work needs them, and keeps them.
    db_pool_size: int = 10
    # A pooled connection idle longer than this is tried (one round trip) before it is used, so one the server
    # dropped meanwhile (a restart, a failover) is replaced instead of failing the work; one back in use sooner
    # is not (a busy service pays no extra round trip per transaction). 0: try every connection every time.
    db_ping_after_idle_s: float = Field(1.0, ge=0)

    # Python's cyclic garbage collector: once the service has started, what start-up made is frozen (never
    # scanned again) and a young collection runs after this many allocations (Python's default: 700). Most
    # garbage is freed by reference counting; at a few thousand events a second the default collections took
    # device readings from 0.72 to 0.55-0.60 of the bare loop (make bench). A poll of thousands of events keeps
    # as many objects alive while it is applied, which every young collection scans and promotes: 50,000 rather
    # than 5,000 took the services' CPU over a Henan day 8% lower (four alternated pairs). 0: Python's defaults.
    gc_young_threshold: int = Field(50_000, ge=0, validation_alias=AliasChoices("JSP_GC_YOUNG_THRESHOLD"))

    consumer_max_attempts: int = Field(5, validation_alias=AliasChoices("JSP_CONSUMER_MAX_ATTEMPTS"))
    consumer_backoff_initial_s: float = Field(0.2, validation_alias=AliasChoices("JSP_CONSUMER_BACKOFF_INITIAL_S"))
    consumer_backoff_max_s: float = Field(5.0, validation_alias=AliasChoices("JSP_CONSUMER_BACKOFF_MAX_S"))
    consumer_max_records: int = Field(500, validation_alias=AliasChoices("JSP_CONSUMER_MAX_RECORDS"))
    # Partitions of a poll with fewer messages than this share a transaction (jsp_common.consumer).
    consumer_chunk_records: int = Field(100, ge=1, validation_alias=AliasChoices("JSP_CONSUMER_CHUNK_RECORDS"))
    outbox_batch_size: int = Field(500, ge=1, validation_alias=AliasChoices("JSP_OUTBOX_BATCH_SIZE"))
    outbox_batch_bytes: int = Field(16 * 1024 * 1024, validation_alias=AliasChoices("JSP_OUTBOX_BATCH_BYTES"))
    outbox_poll_interval_s: float = Field(0.5, validation_alias=AliasChoices("JSP_OUTBOX_POLL_INTERVAL_S"))
    outbox_keep_sent_hours: float = Field(24.0, validation_alias=AliasChoices("JSP_OUTBOX_KEEP_SENT_HOURS"))
    # Liveness (/healthz) fails when a replica's outbox relay has held unsent events without publishing any, or a
    # consumer loop has failed every read from the broker, for this long: a restart may cure what keeps it (a Kafka
    # client that can no longer reach the broker), and it never waits for ever. Ten minutes: a broker restart, a
    # cluster's rolling upgrade or a leader election are over well before (no pod restarted for them); during a
    # longer outage each replica restarts every ten minutes or so, which costs a start and loses nothing (the
    # events stay in the outbox, the offsets uncommitted), and back-off of the kubelet's restarts stays short.
    liveness_stall_s: float = Field(600.0, gt=0, validation_alias=AliasChoices("JSP_LIVENESS_STALL_S"))
    # A replica that does not lead a periodic job tries to take it over this often (jsp_common.leadership).
    periodic_leader_retry_s: float = Field(5.0, validation_alias=AliasChoices("JSP_PERIODIC_LEADER_RETRY_S"))

    # A CSV (date,is_workday) with holiday schedules chinese-calendar does not know yet (jsp_common.workdays).
    workday_overrides: str | None = Field(None, validation_alias=AliasChoices("JSP_WORKDAY_OVERRIDES"))
    # Warn (log, daily) when the working-day calendar knows holidays for fewer days ahead than this.
    workday_calendar_warn_days: int = Field(45, validation_alias=AliasChoices("JSP_WORKDAY_CALENDAR_WARN_DAYS"))

    # Who is calling (jsp_common.caller): the public keys (a JWK set, Ed25519) whose assertions this service
    # accepts; during a key rotation the new and the old one. Default: the development key (refused in production).
    caller_keys: str = Field(default_factory=lambda: _dev_caller_keys(), validation_alias=AliasChoices("JSP_CALLER_KEYS"))
    caller_leeway_s: float = Field(5.0, validation_alias=AliasChoices("JSP_CALLER_LEEWAY_S"))

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # An idle HTTP connection is closed after this many seconds. Whoever pools connections to a service must let
    # go of them sooner, or a request sent as the service closes one fails: the gateway's pool
    # (JSP_GATEWAY_UPSTREAM_KEEP_ALIVE_S, checked) and, in front of the gateway, the ingress (ingress-nginx keeps
    # upstream connections 60 s: upstream-keepalive-timeout). uvicorn's own default is 5 s.
    http_keep_alive_s: float = Field(75.0, gt=0, validation_alias=AliasChoices("JSP_HTTP_KEEP_ALIVE_S"))
    # On SIGTERM, responses still open after this many seconds are ended (a live page's event stream never ends by
    # itself), then the runtime shuts down: leaves its consumer groups, publishes the outbox's last rows. Well
    # within the pods' terminationGracePeriodSeconds (30): without it a rollout waited for the SIGKILL.
    http_graceful_shutdown_s: float = Field(10.0, gt=0,
                                            validation_alias=AliasChoices("JSP_HTTP_GRACEFUL_SHUTDOWN_S"))
    # The peers whose X-Forwarded-For names the caller (comma-separated addresses or networks; * any): the proxy in
    # front (on the cluster the ingress controller; the gateway's NetworkPolicy lets in only it and the dashboard).
    # Without it the caller is the proxy: every anonymous caller shared one rate-limit bucket and audited address.
    http_forwarded_allow_ips: str = Field("127.0.0.1", validation_alias=AliasChoices("JSP_HTTP_FORWARDED_ALLOW_IPS"))
    # /metrics on a port of its own (only the scraper is let through to it), instead of on http_port; 0: any free.
    metrics_port: int | None = None

    @model_validator(mode="after")
    def _derive(self) -> "ServiceSettings":
        self.postgres_url = asyncpg_url(self.postgres_url)
        if not self.database_url:  # the service's database on that server (its options, e.g. TLS, kept)
            self.database_url = with_database(self.postgres_url, self.service_name)
        self.database_url = asyncpg_url(self.database_url)
        return self

    def refuse_placeholder_secrets(self, **secrets: str | None) -> None:
        """Outside development a placeholder secret is a configuration error, not a default."""
        if self.environment == "production":
            bad = [k for k, v in secrets.items() if not v or DEV_SECRET_MARKER in v.lower()]
            if bad:
                raise ValueError(f"set real values for {', '.join(bad)} in production")

    def kafka_group(self, group: str) -> str:
        """The consumer group id of ``group`` (``<service>.<purpose>``) in this environment."""
        from .topics import in_environment

        return in_environment(group, self.env_prefix)

    def kafka_client_options(self) -> dict:
        opts: dict = {"bootstrap_servers": self.kafka_bootstrap_servers,
                      "security_protocol": self.kafka_security_protocol}
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            opts["ssl_context"] = create_ssl_context(cafile=self.kafka_ssl_cafile, certfile=self.kafka_ssl_certfile,
                                                     keyfile=self.kafka_ssl_keyfile)
        if self.kafka_sasl_mechanism:
            opts.update(sasl_mechanism=self.kafka_sasl_mechanism,
                        sasl_plain_username=self.kafka_sasl_username,
                        sasl_plain_password=self.kafka_sasl_password)
        return opts
