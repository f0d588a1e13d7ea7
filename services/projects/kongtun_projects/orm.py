"""The projects service's tables (its own database) and the mapping to the domain."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    select,
    update,
)

from kongtun_common.db import BigId, backbone_tables
from kongtun_common.engine import UtcDateTime
from kongtun_common.errors import Conflict, NotFound

from .domain import FundRef, Owner, OwnerKind, Project, Status, Transition

metadata = MetaData()

projects = Table(
    "projects",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("fund_code", String(5), nullable=False, index=True),
    Column("fund_name", String(300), nullable=False),
    Column("subdistrict", String(300), nullable=False),
    Column("district", String(300), nullable=False),
    Column("province", String(300), nullable=False),
    Column("region", Integer, nullable=False),
    Column("title", String(500), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("issue", String(60), nullable=True),
    Column("spending_type", Integer, nullable=False),
    Column("owner_name", String(300), nullable=False),
    Column("owner_kind", String(30), nullable=False),
    Column("owner_contact", String(200), nullable=False, default=""),
    Column("requested_amount", BigInteger, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("entered_by", String(200), nullable=False),
    Column("code", String(30), nullable=True, unique=True),
    Column("status", String(30), nullable=False, index=True),
    Column("approved_amount", BigInteger, nullable=True),
    Column("approved_by", String(300), nullable=True),
    Column("meeting_ref", String(200), nullable=True),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("approved_at", UtcDateTime, nullable=True),
)

project_codes = Table(
    "project_codes",
    metadata,
    Column("fund_code", String(5), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("last_sequence", Integer, nullable=False),
)

transitions = Table(
    "project_transitions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("project_id", String(36), ForeignKey("projects.id"), nullable=False, index=True),
    Column("from_status", String(30), nullable=True),
    Column("to_status", String(30), nullable=False),
    Column("by", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False, default=""),
)

outbox, processed_events = backbone_tables(metadata)


def _columns(project: Project) -> dict:
    return {
        "fund_code": project.fund.code,
        "fund_name": project.fund.name,
        "subdistrict": project.fund.subdistrict,
        "district": project.fund.district,
        "province": project.fund.province,
        "region": project.fund.region,
        "title": project.title,
        "fiscal_year": project.fiscal_year,
        "issue": project.issue,
        "spending_type": project.spending_type,
        "owner_name": project.owner.name,
        "owner_kind": project.owner.kind.value,
        "owner_contact": project.owner.contact,
        "requested_amount": project.requested_amount,
        "start_date": project.start_date,
        "end_date": project.end_date,
        "entered_by": project.entered_by,
        "code": project.code,
        "status": project.status.value,
        "approved_amount": project.approved_amount,
        "approved_by": project.approved_by,
        "meeting_ref": project.meeting_ref,
        "submitted_at": project.submitted_at,
        "approved_at": project.approved_at,
    }


# Statements built once: SQLAlchemy then reuses their compiled form on every call.
_SELECT_PROJECT = select(projects).where(projects.c.id == bindparam("project_id"))
_SELECT_STEPS = (
    select(transitions).where(transitions.c.project_id == bindparam("project_id")).order_by(transitions.c.id)
)
_SELECT_STATUS = select(projects.c.status).where(projects.c.id == bindparam("project_id"))
_UPDATE_IF_UNCHANGED = update(projects).where(
    projects.c.id == bindparam("project_id"), projects.c.version == bindparam("read_version")
)


def load(session, project_id: str) -> tuple[Project, int]:
    """The project and the version it was read at."""
    row = session.execute(_SELECT_PROJECT, {"project_id": project_id}).mappings().first()
    if row is None:
        raise NotFound("project", project_id, field="project_id")
    steps = session.execute(_SELECT_STEPS, {"project_id": project_id}).mappings()
    history = tuple(
        Transition(
            Status(step["from_status"]) if step["from_status"] else None,
            Status(step["to_status"]),
            step["by"],
            step["at"],
            step["reason"],
        )
        for step in steps
    )
    project = Project(
        id=row["id"],
        fund=FundRef(
            row["fund_code"], row["fund_name"], row["subdistrict"], row["district"], row["province"], row["region"]
        ),
        title=row["title"],
        fiscal_year=row["fiscal_year"],
        issue=row["issue"],
        spending_type=row["spending_type"],
        owner=Owner(row["owner_name"], OwnerKind(row["owner_kind"]), row["owner_contact"]),
        requested_amount=row["requested_amount"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        entered_by=row["entered_by"],
        code=row["code"],
        status=Status(row["status"]),
        approved_amount=row["approved_amount"],
        approved_by=row["approved_by"],
        meeting_ref=row["meeting_ref"],
        submitted_at=row["submitted_at"],
        approved_at=row["approved_at"],
        history=history,
    )
    return project, row["version"]


def add(session, project: Project) -> None:
    session.execute(projects.insert(), {"id": project.id, "version": 1, **_columns(project)})
    _add_steps(session, project, project.history)


def save(session, project: Project, read_version: int, new_steps: int) -> None:
    """Write a changed project; refuse if someone else changed it since it was read."""
    result = session.execute(
        _UPDATE_IF_UNCHANGED,
        {"project_id": project.id, "read_version": read_version, "version": read_version + 1, **_columns(project)},
    )
    if result.rowcount != 1:
        current = session.execute(_SELECT_STATUS, {"project_id": project.id}).scalar()
        raise Conflict("The project was changed by another request; reload it and try again.", current or "")
    _add_steps(session, project, project.history[-new_steps:] if new_steps else ())


def _add_steps(session, project: Project, steps) -> None:
    if steps:
        session.execute(
            transitions.insert(),
            [
                {
                    "project_id": project.id,
                    "from_status": step.from_status.value if step.from_status else None,
                    "to_status": step.to_status.value,
                    "by": step.by,
                    "at": step.at,
                    "reason": step.reason,
                }
                for step in steps
            ],
        )


_SELECT_SEQUENCE = (
    select(project_codes.c.last_sequence)
    .where(project_codes.c.fund_code == bindparam("fund_code"), project_codes.c.fiscal_year == bindparam("fiscal_year"))
    .with_for_update()
)
_BUMP_SEQUENCE = update(project_codes).where(
    project_codes.c.fund_code == bindparam("b_fund_code"), project_codes.c.fiscal_year == bindparam("b_fiscal_year")
)


def next_sequence(session, fund_code: str, fiscal_year: int) -> int:
    """The next project number of a fund's fiscal year; the row lock serialises concurrent approvals."""
    key = {"fund_code": fund_code, "fiscal_year": fiscal_year}
    last = session.execute(_SELECT_SEQUENCE, key).scalar()
    if last is None:
        session.execute(project_codes.insert(), {**key, "last_sequence": 1})
        return 1
    session.execute(_BUMP_SEQUENCE, {"b_fund_code": fund_code, "b_fiscal_year": fiscal_year, "last_sequence": last + 1})
    return last + 1
