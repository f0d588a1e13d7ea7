"""The reporting service's tables: read models built from events, and obligations."""

from sqlalchemy import JSON, BigInteger, Column, Date, Integer, MetaData, String, Table

from kongtun_common.db import backbone_tables
from kongtun_common.engine import UtcDateTime

metadata = MetaData()

fund_facts = Table(
    "fund_facts",
    metadata,
    Column("fund_code", String(5), primary_key=True),
    Column("name_th", String(300), nullable=False),
    Column("subdistrict", String(300), nullable=False),
    Column("district", String(300), nullable=False),
    Column("province", String(300), nullable=False),
    Column("region", Integer, nullable=False),
)

project_facts = Table(
    "project_facts",
    metadata,
    Column("project_id", String(36), primary_key=True),
    Column("fund_code", String(5), nullable=False, index=True),
    Column("subdistrict", String(300), nullable=False),
    Column("district", String(300), nullable=False),
    Column("province", String(300), nullable=False),
    Column("region", Integer, nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("issue", String(60), nullable=True),
    Column("spending_type", Integer, nullable=False),
    Column("owner_kind", String(30), nullable=False),
    Column("status", String(30), nullable=False),
    Column("requested_amount", BigInteger, nullable=False),
    Column("approved_amount", BigInteger, nullable=True),
)

obligations = Table(
    "report_obligations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False, index=True),
    Column("report", String(30), nullable=False),
    Column("period", Integer, nullable=False),
    Column("due_date", Date, nullable=False, index=True),
    Column("project_title", String(500), nullable=False),
    Column("fund_code", String(5), nullable=False),
    Column("fund_name", String(300), nullable=False),
    Column("subdistrict", String(300), nullable=False),
    Column("district", String(300), nullable=False),
    Column("province", String(300), nullable=False),
    Column("region", Integer, nullable=False),
    Column("owner_name", String(300), nullable=False),
    Column("owner_kind", String(30), nullable=False),
    Column("owner_contact", String(200), nullable=False),
    Column("notices_sent", String(100), nullable=False, default=""),
    Column("last_notice_at", UtcDateTime, nullable=True),
    Column("fulfilled_at", UtcDateTime, nullable=True),
)

event_history = Table(
    "event_history",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("type", String(120), nullable=False, index=True),
    Column("source", String(200), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("time", String(40), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("envelope", JSON, nullable=False),
)

outbox, processed_events = backbone_tables(metadata)
