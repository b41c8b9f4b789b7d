"""Tables of the messaging core that live in every service's own database: outbox and inbox."""

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, MetaData, PrimaryKeyConstraint, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# Transactional outbox: events written in the same transaction as the state change they announce.
outbox = Table(
    "outbox", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("key", Text),
    Column("payload", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    Index("outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),
)

# Inbox: ids of events a consumer group has processed; written in the same transaction as the effect.
inbox = Table(
    "inbox", metadata,
    Column("consumer_group", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer_group", "event_id"),
)
