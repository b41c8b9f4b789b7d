"""The gateway's own tables: clients and their hashed credentials, the audit log, idempotency keys.
(The outbox and inbox come from jsp_common.messaging_tables.)"""

from sqlalchemy import (ARRAY, BigInteger, Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer,
                        MetaData, PrimaryKeyConstraint, Table, Text, func)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

clients = Table(
    "clients", metadata,
    Column("client_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),              # system | person
    Column("name", Text, nullable=False),
    Column("username", Text, unique=True),             # people only
    Column("roles", ARRAY(Text), nullable=False),
    Column("department", Text),
    Column("division", Text),
    Column("status", Text, nullable=False, server_default="active"),  # active | disabled
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

credentials = Table(
    "credentials", metadata,
    Column("credential_id", Text, primary_key=True),   # for API keys: the public key id
    Column("client_id", Text, ForeignKey("clients.client_id"), nullable=False),
    Column("kind", Text, nullable=False),              # secret | api_key | password
    Column("hash", Text, nullable=False),              # argon2id
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Text),
    Column("last_used_at", DateTime(timezone=True)),
    Index("credentials_by_client", "client_id"),
)

# Append-only: a trigger (see the first migration) refuses UPDATE, and DELETE outside the retention purge.
audit_log = Table(
    "audit_log", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("request_id", Text),
    Column("trace_id", Text),
    Column("subject", Text),                           # client id, or null for an anonymous caller
    Column("kind", Text),
    Column("department", Text),
    Column("roles", ARRAY(Text)),
    Column("method", Text, nullable=False),
    Column("route", Text, nullable=False),             # the route template, e.g. /registry/entities/{uscc}
    Column("path", Text, nullable=False),
    Column("object_id", Text),
    Column("status", Integer, nullable=False),
    Column("outcome", Text, nullable=False),           # ok | denied | rejected | failed | unavailable
    Column("client_ip", Text),
    Column("duration_ms", Integer),
    Index("audit_by_time", "at"),
    Index("audit_by_subject", "subject", "at"),
    Index("audit_by_object", "object_id", "at"),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("subject", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("route", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("subject", "key"),
    Index("idempotency_by_time", "created_at"),
)

# The official working-day schedule of each year (节假日安排) as the office uploaded and corrected it; every
# change is also published on reference.workday-schedules.v1 for the services that count working days.
workday_schedules = Table(
    "workday_schedules", metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("holidays", ARRAY(Date), nullable=False),
    Column("makeup_workdays", ARRAY(Date), nullable=False),
    Column("notice", Text, nullable=False, server_default=""),
    Column("revision", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Text, nullable=False),
)

# Tokens signed out before they expire (by a digest of the token): every replica refuses them until then.
signed_out_tokens = Table(
    "signed_out_tokens", metadata,
    Column("token_digest", Text, primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("signed_out_tokens_expires_at", "expires_at"),
)

# Each caller's token bucket, shared by every replica of the gateway (one statement per request takes a token).
rate_buckets = Table(
    "rate_buckets", metadata,
    Column("caller", Text, primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("allowed", Boolean, nullable=False),   # whether the last request was let through
    Column("at", DateTime(timezone=True), nullable=False),
    Index("rate_buckets_at", "at"),
)
