"""The notifications service's tables."""

from sqlalchemy import Column, MetaData, String, Table, Text

from kongtun_common.db import backbone_tables
from kongtun_common.engine import UtcDateTime

metadata = MetaData()

reminders = Table(
    "reminders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("event_id", String(64), nullable=False, index=True),
    Column("project_id", String(36), nullable=False, index=True),
    Column("recipient_name", String(300), nullable=False, index=True),
    Column("recipient_role", String(30), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("language", String(5), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

outbox, processed_events = backbone_tables(metadata)
