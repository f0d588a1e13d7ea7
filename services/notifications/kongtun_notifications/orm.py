"""The notifications service's tables (SQLAlchemy Core).

- ``recipients`` / ``recipient_roles``: the service's own directory of people (role per fund or committee);
- ``notifications``: what a person was told (the in-app record), once per source and recipient;
- ``deliveries``: the outbox of messages to send (email, webhook), written in the transaction that decided
  them, sent by the delivery loop; ``delivery_attempts`` is the log of every try;
- ``webhook_subscriptions``: integrators' endpoints;
- ``meeting_series`` / ``meetings`` / ``meeting_reminders`` / ``attendance`` / ``resolutions``: follow-up meetings;
- ``report_notices``: the report obligations this service heard of (ReportDue, ReportOverdue), for agendas.
"""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from kongtun_common.db import BigId, backbone_tables
from kongtun_common.engine import UtcDateTime

metadata = MetaData()

recipients = Table(
    "recipients",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(300), nullable=False, index=True),
    Column("email", String(320), nullable=True),
    Column("language", String(5), nullable=False),
    Column("channels", JSON, nullable=False),
    Column("quiet_start", String(5), nullable=True),
    Column("quiet_end", String(5), nullable=True),
    Column("unsubscribed", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

recipient_roles = Table(
    "recipient_roles",
    metadata,
    Column("recipient_id", String(36), primary_key=True),
    Column("scope", String(60), primary_key=True),
    Column("role", String(30), primary_key=True),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("source_key", String(200), nullable=False),
    Column("event_id", String(64), nullable=True, index=True),
    Column("recipient_key", String(400), nullable=False),
    Column("recipient_id", String(36), nullable=True, index=True),
    Column("recipient_name", String(300), nullable=False, index=True),
    Column("recipient_role", String(30), nullable=False),
    Column("language", String(5), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("project_id", String(36), nullable=True, index=True),
    Column("meeting_id", String(36), nullable=True, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("source_key", "recipient_key", name="uq_notifications_source_recipient"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),  # also the Message-ID / webhook delivery id: stable across retries
    Column("idempotency_key", String(500), nullable=False, unique=True),
    Column("channel", String(20), nullable=False),
    Column("address", String(1000), nullable=False),
    Column("notification_id", String(36), nullable=True, index=True),
    Column("subscription_id", String(36), nullable=True, index=True),
    Column("event_type", String(60), nullable=True),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending, sending, sent, failed, suspended
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False, index=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", String(36), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("outcome", String(20), nullable=False),  # delivered, failed
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("owner", String(300), nullable=False),
    Column("url", String(1000), nullable=False),
    Column("secret", String(128), nullable=False),
    Column("types", JSON, nullable=False),
    Column("fund_codes", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # active, disabled
    Column("disabled_reason", Text, nullable=True),
    Column("disabled_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

meeting_series = Table(
    "meeting_series",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("committee_code", String(60), nullable=False, index=True),
    Column("committee_kind", String(30), nullable=False),
    Column("title", String(300), nullable=False),
    Column("cadence_months", Integer, nullable=False),
    Column("day_of_month", Integer, nullable=False),
    Column("start_time", String(5), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("place", String(300), nullable=False),
    Column("first_date", Date, nullable=False),
    Column("first_number", Integer, nullable=False),
    Column("fund_codes", JSON, nullable=False),
    Column("district", String(300), nullable=True),
    Column("province", String(300), nullable=True),
    Column("reminder_days", JSON, nullable=False),
    Column("quorum", Integer, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

meetings = Table(
    "meetings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("series_id", String(36), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("place", String(300), nullable=False),
    Column("status", String(20), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("reason", Text, nullable=True),
    Column("agenda", JSON, nullable=True),  # frozen when the minutes are recorded
    Column("minutes", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("series_id", "number", name="uq_meetings_series_number"),
)

meeting_reminders = Table(
    "meeting_reminders",
    metadata,
    Column("meeting_id", String(36), primary_key=True),
    Column("sequence", Integer, primary_key=True),
    Column("days_before", Integer, primary_key=True),
    Column("due_at", UtcDateTime, nullable=False, index=True),
    Column("status", String(20), nullable=False),  # pending, sent, superseded, skipped
)

attendance = Table(
    "attendance",
    metadata,
    Column("meeting_id", String(36), primary_key=True),
    Column("invitee_key", String(400), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("role", String(30), nullable=False),
    Column("status", String(20), nullable=False),
)

resolutions = Table(
    "resolutions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("series_id", String(36), nullable=False, index=True),
    Column("meeting_id", String(36), nullable=False, index=True),
    Column("meeting_number", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("responsible", String(300), nullable=False),
    Column("due_date", Date, nullable=True),
    Column("status", String(20), nullable=False),  # open, done
    Column("closed_in_meeting_id", String(36), nullable=True),
)

report_notices = Table(
    "report_notices",
    metadata,
    Column("obligation_id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False, index=True),
    Column("project_title", String(300), nullable=False),
    Column("fund_code", String(10), nullable=False, index=True),
    Column("fund_name", String(300), nullable=False),
    Column("district", String(300), nullable=False),
    Column("province", String(300), nullable=False),
    Column("report", String(30), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("owner_name", String(300), nullable=False),
    Column("owner_contact", String(200), nullable=False),
    Column("status", String(20), nullable=False),  # due, overdue
    Column("days_overdue", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

outbox, processed_events = backbone_tables(metadata)
