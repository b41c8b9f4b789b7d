"""Tables of the messaging core that live in every service's own database: outbox, inbox and the answers to
requests sent with an Idempotency-Key."""

from sqlalchemy import (DDL, BigInteger, Column, DateTime, Index, Integer, LargeBinary, MetaData, PrimaryKeyConstraint,
                        Table, Text, event, func, text)
from sqlalchemy.dialects.postgresql import ARRAY

metadata = MetaData()

# Transactional outbox: the events a transaction emits, written in that transaction as one row (parallel
# arrays, in emission order), so a batch of hundreds of events costs one row to write, read and mark sent.
outbox_batches = Table(
    "outbox_batches", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("topics", ARRAY(Text), nullable=False),
    Column("keys", ARRAY(Text), nullable=False),  # NULL elements: unkeyed events
    Column("payloads", ARRAY(LargeBinary), nullable=False),
    Column("event_ids", ARRAY(Text), nullable=False),
    Column("event_types", ARRAY(Text), nullable=False),
    Column("traceparents", ARRAY(Text), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    Index("outbox_batches_unsent", "id", postgresql_where=text("sent_at IS NULL")),
)
# Stored as is: compressing a batch's payloads would cost more than the disk it saves for a day's retention.
STORE_PAYLOADS_UNCOMPRESSED = "ALTER TABLE outbox_batches ALTER COLUMN payloads SET STORAGE EXTERNAL"
event.listen(outbox_batches, "after_create", DDL(STORE_PAYLOADS_UNCOMPRESSED))

# Inbox: ids of events a consumer group has processed; written in the same transaction as the effect.
inbox = Table(
    "inbox", metadata,
    Column("consumer_group", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer_group", "event_id"),
)

# The answer to a request with an Idempotency-Key that took effect (its claim is in the inbox, group "http"),
# answered again to the same request resent (jsp_common.answers); kept as long as the outbox keeps sent events.
http_answers = Table(
    "http_answers", metadata,
    Column("request_id", Text, primary_key=True),
    Column("request_digest", Text),       # SHA-256 of its query and body: a resend with others is refused
    Column("status", Integer, nullable=False),
    Column("media_type", Text),
    Column("location", Text),
    Column("body", LargeBinary, nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("http_answers_age", "answered_at"),
)
