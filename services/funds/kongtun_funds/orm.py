"""The funds service's tables (its own database)."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
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

UUID = String(36)
NAME = String(300)

funds = Table(
    "funds",
    metadata,
    Column("code", String(5), primary_key=True),
    Column("name_th", String(300), nullable=False),
    Column("name_en", String(300), nullable=True),
    Column("subdistrict", String(300), nullable=False),
    Column("district", String(300), nullable=False, index=True),
    Column("province", String(300), nullable=False, index=True),
    Column("region", Integer, nullable=False, index=True),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("address", String(500), nullable=True),
    Column("lao_id", UUID, nullable=True),
)

# Registered population and the local government's own income (excluding subsidies), per fiscal year.
fund_years = Table(
    "fund_years",
    metadata,
    Column("fund_code", String(5), ForeignKey("funds.code"), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("registered_population", Integer, nullable=False),
    Column("own_income_satang", BigInteger, nullable=False),
)

provinces = Table(
    "provinces",
    metadata,
    Column("name_th", NAME, primary_key=True),
    Column("name_en", NAME, nullable=True),
    Column("region", Integer, nullable=False, index=True),
)

districts = Table(
    "districts",
    metadata,
    Column("province", NAME, ForeignKey("provinces.name_th"), primary_key=True),
    Column("name_th", NAME, primary_key=True),
    Column("name_en", NAME, nullable=True),
)

subdistricts = Table(
    "subdistricts",
    metadata,
    Column("province", NAME, primary_key=True),
    Column("district", NAME, primary_key=True),
    Column("name_th", NAME, primary_key=True),
    Column("name_en", NAME, nullable=True),
)

local_governments = Table(
    "local_governments",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("name_th", NAME, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("province", NAME, nullable=False, index=True),
    Column("district", NAME, nullable=False),
    Column("subdistrict", NAME, nullable=True),
    UniqueConstraint("province", "district", "name_th", name="uq_lao_place_name"),
)

people = Table(
    "people",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("fund_code", String(5), ForeignKey("funds.code"), nullable=False, index=True),
    Column("role", String(30), nullable=False),
    Column("name", NAME, nullable=False),
    Column("position", NAME, nullable=False),
    Column("organisation", NAME, nullable=False),
    Column("phone", String(50), nullable=False),
    Column("term_start", Date, nullable=True),
    Column("term_end", Date, nullable=True),
)

mentors = Table(
    "mentors",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("name", NAME, nullable=False),
    Column("level", String(20), nullable=False),
    Column("province", NAME, nullable=False, index=True),
    Column("organisation", NAME, nullable=False),
    Column("phone", String(50), nullable=False),
)

mentor_funds = Table(
    "mentor_funds",
    metadata,
    Column("mentor_id", UUID, ForeignKey("mentors.id"), primary_key=True),
    Column("fund_code", String(5), ForeignKey("funds.code"), primary_key=True),
)

district_committees = Table(
    "district_committees",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("name_th", NAME, nullable=False),
    Column("province", NAME, nullable=False, index=True),
    Column("district", NAME, nullable=False),
    Column("region", Integer, nullable=False),
    UniqueConstraint("province", "district", name="uq_district_committee_place"),
)

district_committee_members = Table(
    "district_committee_members",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("committee_id", UUID, ForeignKey("district_committees.id"), nullable=False, index=True),
    Column("position_no", Integer, nullable=False),
    Column("name", NAME, nullable=False),
    Column("role", String(20), nullable=False),
    Column("position", NAME, nullable=False),
    Column("organisation", NAME, nullable=False),
)

taxonomies = Table(
    "taxonomies",
    metadata,
    Column("code", String(60), primary_key=True),
    Column("name_th", NAME, nullable=False),
    Column("source", NAME, nullable=False),
)

taxonomy_issues = Table(
    "taxonomy_issues",
    metadata,
    Column("taxonomy_code", String(60), ForeignKey("taxonomies.code"), primary_key=True),
    Column("code", String(60), primary_key=True),
    Column("position_no", Integer, nullable=False),
    Column("name_th", NAME, nullable=False),
    Column("name_en", NAME, nullable=True),
)

programmes = Table(
    "programmes",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("name_th", NAME, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("taxonomy_code", String(60), ForeignKey("taxonomies.code"), nullable=False),
    Column("province", NAME, nullable=True, index=True),
    Column("district", NAME, nullable=True),
    Column("hub_lao_id", UUID, ForeignKey("local_governments.id"), nullable=True),
    Column("partners", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# A network hub's member local governments (seed 002: Phiman and 12 members).
programme_members = Table(
    "programme_members",
    metadata,
    Column("programme_id", UUID, ForeignKey("programmes.id"), primary_key=True),
    Column("lao_id", UUID, ForeignKey("local_governments.id"), primary_key=True),
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("programme_id", UUID, ForeignKey("programmes.id"), nullable=False, index=True),
    Column("title", String(500), nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("place", String(500), nullable=False),
    Column("parties", JSON, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

# The funds that joined a programme, and through which agreement.
programme_funds = Table(
    "programme_funds",
    metadata,
    Column("programme_id", UUID, ForeignKey("programmes.id"), primary_key=True),
    Column("fund_code", String(5), ForeignKey("funds.code"), primary_key=True),
    Column("agreement_id", UUID, ForeignKey("agreements.id"), nullable=False),
    Column("joined_on", Date, nullable=False),
)

plans = Table(
    "plans",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("fund_code", String(5), ForeignKey("funds.code"), nullable=False, index=True),
    Column("programme_id", UUID, ForeignKey("programmes.id"), nullable=False),
    Column("issue", String(60), nullable=False),
    Column("fiscal_year", Integer, nullable=False, index=True),
    Column("situation", Text, nullable=False),
    Column("objectives", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("approved_on", Date, nullable=True),
    Column("approved_by", NAME, nullable=True),
    Column("meeting_ref", String(200), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("fund_code", "programme_id", "issue", "fiscal_year", name="uq_plan_per_issue_year"),
)

plan_indicators = Table(
    "plan_indicators",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("plan_id", UUID, ForeignKey("plans.id"), nullable=False, index=True),
    Column("position_no", Integer, nullable=False),
    Column("name", String(500), nullable=False),
    Column("unit", String(100), nullable=False),
    Column("baseline", String(40), nullable=False),
    Column("target", String(40), nullable=False),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entry_id", UUID, nullable=False, unique=True),
    Column("fund_code", String(5), ForeignKey("funds.code"), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("code", Integer, nullable=False),
    Column("amount_satang", BigInteger, nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("description", String(500), nullable=False),
    Column("project_id", UUID, nullable=True),
    Column("commitment_id", UUID, nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_ledger_fund_year", "fund_code", "fiscal_year", "id"),
)

# Running totals kept in the same transaction as each entry: a balance reads a handful of rows,
# however long the ledger is.  The entries stay the record; the totals can be rebuilt from them.
ledger_totals = Table(
    "ledger_totals",
    metadata,
    Column("fund_code", String(5), ForeignKey("funds.code"), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("bucket", String(20), primary_key=True),
    Column("code", Integer, primary_key=True),
    Column("amount_satang", BigInteger, nullable=False),
)

commitments = Table(
    "commitments",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("project_id", UUID, nullable=False, unique=True),
    Column("project_code", String(40), nullable=False),
    Column("fund_code", String(5), ForeignKey("funds.code"), nullable=False, index=True),
    Column("fiscal_year", Integer, nullable=False),
    Column("spending_type", Integer, nullable=False),
    Column("owner_kind", String(40), nullable=False),
    Column("amount_satang", BigInteger, nullable=False),
    Column("outstanding_satang", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("committed_at", UtcDateTime, nullable=False),
    Column("released_at", UtcDateTime, nullable=True),
    Column("release_reason", String(40), nullable=True),
)

# Projects closed (cancelled / terminated) before their approval reached the fund: a late
# ProjectApproved for them commits nothing.
closed_projects = Table(
    "closed_projects",
    metadata,
    Column("project_id", UUID, primary_key=True),
    Column("reason", String(40), nullable=False),
    Column("closed_at", UtcDateTime, nullable=False),
)

# Quarterly financial reports (รายงานการเงินรายไตรมาส): the ledger's figures when sent, locked once sent
# (one per fund, fiscal year and quarter).
financial_reports = Table(
    "financial_reports",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("fund_code", String(5), ForeignKey("funds.code"), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("quarter", Integer, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("carried_satang", BigInteger, nullable=False),
    Column("income_satang", BigInteger, nullable=False),
    Column("spending_satang", BigInteger, nullable=False),
    Column("balance_satang", BigInteger, nullable=False),
    Column("submitted_by", NAME, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    UniqueConstraint("fund_code", "fiscal_year", "quarter", name="uq_financial_report_quarter"),
)

rule_sets = Table(
    "rule_sets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document", JSON, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("changed_by", NAME, nullable=False),
)

outbox, processed_events = backbone_tables(metadata)
