"""The reporting service's tables: read models built from events, and obligations."""

from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, MetaData, String, Table

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
    Column("title", String(500), nullable=True),
    Column("owner_name", String(300), nullable=True),
    Column("project_code", String(40), nullable=True),
    Column("fund_name", String(300), nullable=True),
    Column("start_date", Date, nullable=True),
    Column("end_date", Date, nullable=True),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("approved_at", UtcDateTime, nullable=True),
    Column("status_time", UtcDateTime, nullable=True),
    Index("ix_project_facts_status_year", "status", "fiscal_year"),
    Index("ix_project_facts_province_year", "province", "fiscal_year"),
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
    Column("overdue_notices_sent", String(100), nullable=False, default="", server_default=""),
)

programme_funds = Table(
    "programme_funds",
    metadata,
    Column("programme_id", String(36), primary_key=True),
    Column("fund_code", String(5), primary_key=True),
    Column("programme_name", String(300), nullable=False),
    Column("taxonomy_code", String(60), nullable=False),
)

plan_facts = Table(
    "plan_facts",
    metadata,
    Column("plan_id", String(36), primary_key=True),
    Column("fund_code", String(5), nullable=False, index=True),
    Column("programme_id", String(36), nullable=False, index=True),
    Column("issue", String(60), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("approved_on", Date, nullable=False),
    Column("late", Integer, nullable=False),
)

# Running totals of project_facts by province, year and status, and by one more dimension (``dimension``,
# ``value``; the empty dimension is the plain total): what national, regional and provincial summaries read,
# a few thousand rows instead of a million projects.  Kept in the same transaction as project_facts.
project_totals = Table(
    "project_totals",
    metadata,
    Column("dimension", String(20), primary_key=True),
    Column("value", String(300), primary_key=True),
    Column("province", String(300), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("status", String(30), primary_key=True),
    Column("region", Integer, nullable=False),
    Column("projects", BigInteger, nullable=False),
    Column("requested_amount", BigInteger, nullable=False),
    Column("approved_amount", BigInteger, nullable=False),
    Index("ix_project_totals_dimension_year", "dimension", "fiscal_year"),
)

submitted_reports = Table(
    "submitted_reports",
    metadata,
    Column("project_id", String(36), primary_key=True),
    Column("report", String(30), primary_key=True),
    Column("period", Integer, primary_key=True),
    Column("submitted_at", UtcDateTime, nullable=False),
)

# Fund-level duties (annual plan, quarterly financial reports): one row per fund, fiscal year, duty and quarter.
fund_obligations = Table(
    "fund_obligations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("fund_code", String(5), nullable=False, index=True),
    Column("fund_name", String(300), nullable=False),
    Column("subdistrict", String(300), nullable=False),
    Column("district", String(300), nullable=False),
    Column("province", String(300), nullable=False),
    Column("region", Integer, nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("duty", String(40), nullable=False),
    Column("quarter", Integer, nullable=True),
    Column("due_date", Date, nullable=False, index=True),
    Column("notices_sent", String(100), nullable=False, default=""),
    Column("overdue_notices_sent", String(100), nullable=False, default=""),
    Column("last_notice_at", UtcDateTime, nullable=True),
    Column("fulfilled_at", UtcDateTime, nullable=True),
    Column("fulfilled_on", Date, nullable=True),
    Index("ix_fund_obligations_fund_year", "fund_code", "fiscal_year"),
)

# A fund's money per fiscal year from LedgerEntryRecorded, BudgetCommitted and BudgetReleased, in satang:
# income (with refunds), committed (commitments less releases and disbursements paid against them) and spent by
# the quarter of the entry's date (5: dated after the year).  Additive, so arrival order does not matter.
fund_money = Table(
    "fund_money",
    metadata,
    Column("fund_code", String(5), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("fund_name", String(300), nullable=False),
    Column("subdistrict", String(300), nullable=False),
    Column("district", String(300), nullable=False),
    Column("province", String(300), nullable=False),
    Column("region", Integer, nullable=False),
    Column("income", BigInteger, nullable=False),
    Column("committed", BigInteger, nullable=False),
    Column("spent_q1", BigInteger, nullable=False),
    Column("spent_q2", BigInteger, nullable=False),
    Column("spent_q3", BigInteger, nullable=False),
    Column("spent_q4", BigInteger, nullable=False),
    Column("spent_q5", BigInteger, nullable=False),
    Index("ix_fund_money_province_year", "province", "fiscal_year"),
)

mentor_assignments = Table(
    "mentor_assignments",
    metadata,
    Column("mentor_id", String(36), primary_key=True),
    Column("fund_code", String(5), primary_key=True),
    Column("mentor_name", String(300), nullable=False),
    Column("level", String(20), nullable=False),
    Column("fund_name", String(300), nullable=False),
    Column("subdistrict", String(300), nullable=False),
    Column("district", String(300), nullable=False),
    Column("province", String(300), nullable=False),
    Column("region", Integer, nullable=False),
    Column("assigned_at", UtcDateTime, nullable=False),
)

READ_MODELS = (
    "fund_facts",
    "project_facts",
    "report_obligations",
    "programme_funds",
    "plan_facts",
    "submitted_reports",
    "project_totals",
    "fund_obligations",
    "fund_money",
    "mentor_assignments",
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
    Index("ix_event_history_received", "received_at", "event_id"),  # the rebuild reads it in this order
)

outbox, processed_events = backbone_tables(metadata)
