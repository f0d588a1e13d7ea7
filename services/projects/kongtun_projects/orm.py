"""The projects service's tables (its own database) and the mapping to the domain.

The proposal's nested content (indicator targets, activities, budget lines,
location, documents, the reporting schedule) is kept as JSON on the project
row: it is read and written with the project, never queried on its own.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

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
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)

from kongtun_common.db import BigId, backbone_tables, insert_ignoring_conflicts
from kongtun_common.engine import UtcDateTime
from kongtun_common.errors import Conflict, NotFound

from .domain import (
    Activity,
    BudgetLine,
    BudgetStatus,
    DocumentRef,
    ExpenseGroup,
    FundRef,
    IndicatorTarget,
    Location,
    Owner,
    OwnerKind,
    PlanView,
    Project,
    Report,
    ReportDueDate,
    ReportKind,
    ReviewComment,
    Status,
    Transition,
)

metadata = MetaData()

projects = Table(
    "projects",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("fund_code", String(5), nullable=False, index=True),
    Column("fund_name", String(300), nullable=False),
    Column("subdistrict", String(300), nullable=False),
    Column("district", String(300), nullable=False, index=True),
    Column("province", String(300), nullable=False, index=True),
    Column("region", Integer, nullable=False, index=True),
    Column("title", String(500), nullable=False),
    Column("fiscal_year", Integer, nullable=False, index=True),
    Column("issue", String(60), nullable=True, index=True),
    Column("spending_type", Integer, nullable=False),
    Column("owner_name", String(300), nullable=False),
    Column("owner_kind", String(30), nullable=False),
    Column("owner_contact", String(200), nullable=False, default=""),
    Column("owner_members", Integer, nullable=True),
    Column("requested_amount", BigInteger, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("entered_by", String(200), nullable=False),
    Column("entered_by_role", String(30), nullable=False),
    Column("plan_id", String(36), nullable=True),
    Column("content", JSON, nullable=False),
    Column("code", String(30), nullable=True, unique=True),
    Column("status", String(30), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("approved_amount", BigInteger, nullable=True),
    Column("approved_by", String(300), nullable=True),
    Column("meeting_ref", String(200), nullable=True),
    Column("budget_status", String(20), nullable=False),
    Column("budget_note", Text, nullable=False, default=""),
    Column("mentor", String(300), nullable=True),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("approved_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_projects_region_year_status", "region", "fiscal_year", "status"),
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

reports = Table(
    "project_reports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("project_id", String(36), ForeignKey("projects.id"), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("period", Integer, nullable=False),
    Column("submitted_by", String(200), nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("content", JSON, nullable=False),
    UniqueConstraint("project_id", "kind", "period", name="uq_project_report"),
)

comments = Table(
    "project_comments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("project_id", String(36), ForeignKey("projects.id"), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("author", String(200), nullable=False),
    Column("role", String(30), nullable=False),
    Column("text", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

# Approved plans, replicated from the funds service's PlanApproved events (an approved plan no longer changes):
# a submission checks its plan here; a plan not (yet) replicated is asked from the funds service over RPC.
approved_plans = Table(
    "approved_plans",
    metadata,
    Column("plan_id", String(36), primary_key=True),
    Column("fund_code", String(5), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("issue", String(60), nullable=False),
    Column("indicator_ids", JSON, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

# Creations asked with an Idempotency-Key (scoped to the caller by the gateway): the same key again answers the project
# it created instead of creating a second one; the request's hash tells a retry from a different request.
creation_keys = Table(
    "creation_keys",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("project_id", String(36), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

outbox, processed_events = backbone_tables(metadata)


def _content(project: Project) -> dict:
    return {
        "indicator_targets": [
            {"indicator_id": item.indicator_id, "target": item.target, "name": item.name, "unit": item.unit}
            for item in project.indicator_targets
        ],
        "activities": [
            {
                "name": item.name,
                "start_date": item.start_date.isoformat(),
                "end_date": item.end_date.isoformat(),
                "description": item.description,
            }
            for item in project.activities
        ],
        "budget_lines": [
            {"group": item.group.value, "description": item.description, "amount": item.amount}
            for item in project.budget_lines
        ],
        "location": {"lat": project.location.lat, "lon": project.location.lon} if project.location else None,
        "documents": [{"title": item.title, "reference": item.reference} for item in project.documents],
        "reports_due": [
            {"report": item.report.value, "period": item.period, "due_date": item.due_date.isoformat()}
            for item in project.reports_due
        ],
    }


def _columns(project: Project, now) -> dict:
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
        "owner_members": project.owner.members,
        "requested_amount": project.requested_amount,
        "start_date": project.start_date,
        "end_date": project.end_date,
        "entered_by": project.entered_by,
        "entered_by_role": project.entered_by_role,
        "plan_id": project.plan_id,
        "content": _content(project),
        "code": project.code,
        "status": project.status.value,
        "revision": project.revision,
        "approved_amount": project.approved_amount,
        "approved_by": project.approved_by,
        "meeting_ref": project.meeting_ref,
        "budget_status": project.budget_status.value,
        "budget_note": project.budget_note,
        "mentor": project.mentor,
        "submitted_at": project.submitted_at,
        "approved_at": project.approved_at,
        "updated_at": now,
    }


# Statements built once: SQLAlchemy then reuses their compiled form on every call.
_SELECT_PROJECT = select(projects).where(projects.c.id == bindparam("project_id"))
_SELECT_STEPS = (
    select(transitions).where(transitions.c.project_id == bindparam("project_id")).order_by(transitions.c.id)
)
_SELECT_REPORTS = select(reports).where(reports.c.project_id == bindparam("project_id")).order_by(reports.c.id)
_SELECT_COMMENTS = select(comments).where(comments.c.project_id == bindparam("project_id")).order_by(comments.c.id)
_SELECT_STATUS = select(projects.c.status).where(projects.c.id == bindparam("project_id"))
_SELECT_APPROVED_PLAN = select(approved_plans).where(approved_plans.c.plan_id == bindparam("plan_id"))
_UPDATE_IF_UNCHANGED = update(projects).where(
    projects.c.id == bindparam("project_id"), projects.c.version == bindparam("read_version")
)


def _day(text: str) -> date:
    return date.fromisoformat(text)


def replicated_plan(session, plan_id: str) -> PlanView | None:
    """The approved plan as replicated from PlanApproved; None if this service has not seen it (yet)."""
    row = session.execute(_SELECT_APPROVED_PLAN, {"plan_id": plan_id}).mappings().first()
    if row is None:
        return None
    return PlanView(
        row["plan_id"], row["fund_code"], row["fiscal_year"], row["issue"], "approved", frozenset(row["indicator_ids"])
    )


def record_approved_plan(session, plan: PlanView, now) -> None:
    """Keep an approved plan (again: a repeat changes nothing)."""
    session.execute(
        insert_ignoring_conflicts(session.get_bind().dialect.name, approved_plans),
        {
            "plan_id": plan.id,
            "fund_code": plan.fund_code,
            "fiscal_year": plan.fiscal_year,
            "issue": plan.issue,
            "indicator_ids": sorted(plan.indicator_ids),
            "recorded_at": now,
        },
    )


def claim_creation_key(session, key: str, request_hash: str, project_id: str, now) -> bool:
    """Claim ``key`` for a new project; False if it was claimed before (then see ``creation_by_key``)."""
    claimed = session.execute(
        insert_ignoring_conflicts(session.get_bind().dialect.name, creation_keys),
        {"key": key, "request_hash": request_hash, "project_id": project_id, "created_at": now},
    )
    return claimed.first() is not None


def creation_by_key(session, key: str) -> tuple[str, str]:
    """(project id, request hash) of the creation made with ``key``."""
    row = session.execute(
        select(creation_keys.c.project_id, creation_keys.c.request_hash).where(creation_keys.c.key == key)
    ).one()
    return row.project_id, row.request_hash


def load(session, project_id: str) -> tuple[Project, int]:
    """The project and the version it was read at."""
    row = session.execute(_SELECT_PROJECT, {"project_id": project_id}).mappings().first()
    if row is None:
        raise NotFound("project", project_id, field="project_id")
    key = {"project_id": project_id}
    history = tuple(
        Transition(
            Status(step["from_status"]) if step["from_status"] else None,
            Status(step["to_status"]),
            step["by"],
            step["at"],
            step["reason"],
        )
        for step in session.execute(_SELECT_STEPS, key).mappings()
    )
    submitted = tuple(
        Report(ReportKind(item["kind"]), item["period"], item["submitted_by"], item["submitted_at"], item["content"])
        for item in session.execute(_SELECT_REPORTS, key).mappings()
    )
    notes = tuple(
        ReviewComment(item["revision"], item["author"], item["role"], item["text"], item["at"])
        for item in session.execute(_SELECT_COMMENTS, key).mappings()
    )
    content = row["content"]
    project = Project(
        id=row["id"],
        fund=FundRef(
            row["fund_code"], row["fund_name"], row["subdistrict"], row["district"], row["province"], row["region"]
        ),
        title=row["title"],
        fiscal_year=row["fiscal_year"],
        issue=row["issue"],
        spending_type=row["spending_type"],
        owner=Owner(row["owner_name"], OwnerKind(row["owner_kind"]), row["owner_contact"], row["owner_members"]),
        requested_amount=row["requested_amount"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        entered_by=row["entered_by"],
        entered_by_role=row["entered_by_role"],
        plan_id=row["plan_id"],
        indicator_targets=tuple(IndicatorTarget(**item) for item in content["indicator_targets"]),
        activities=tuple(
            Activity(item["name"], _day(item["start_date"]), _day(item["end_date"]), item["description"])
            for item in content["activities"]
        ),
        budget_lines=tuple(
            BudgetLine(ExpenseGroup(item["group"]), item["description"], item["amount"])
            for item in content["budget_lines"]
        ),
        location=Location(**content["location"]) if content["location"] else None,
        documents=tuple(DocumentRef(**item) for item in content["documents"]),
        code=row["code"],
        status=Status(row["status"]),
        revision=row["revision"],
        approved_amount=row["approved_amount"],
        approved_by=row["approved_by"],
        meeting_ref=row["meeting_ref"],
        budget_status=BudgetStatus(row["budget_status"]),
        budget_note=row["budget_note"],
        mentor=row["mentor"],
        submitted_at=row["submitted_at"],
        approved_at=row["approved_at"],
        reports_due=tuple(
            ReportDueDate(ReportKind(item["report"]), item["period"], _day(item["due_date"]))
            for item in content["reports_due"]
        ),
        reports=submitted,
        comments=notes,
        history=history,
    )
    return project, row["version"]


def add(session, project: Project, now) -> None:
    session.execute(projects.insert(), {"id": project.id, "version": 1, **_columns(project, now)})
    _add_children(session, project, replace(project, history=(), reports=(), comments=()))


def save(session, before: Project, after: Project, read_version: int, now) -> None:
    """Write a changed project; refuse if someone else changed it since it was read."""
    result = session.execute(
        _UPDATE_IF_UNCHANGED,
        {"project_id": after.id, "read_version": read_version, "version": read_version + 1, **_columns(after, now)},
    )
    if result.rowcount != 1:
        current = session.execute(_SELECT_STATUS, {"project_id": after.id}).scalar()
        raise Conflict("The project was changed by another request; reload it and try again.", current or "")
    _add_children(session, after, before)


def _add_children(session, after: Project, before: Project) -> None:
    """Insert the transitions, reports and comments ``after`` has beyond ``before`` (they only grow)."""
    new_steps = after.history[len(before.history) :]
    if new_steps:
        session.execute(
            transitions.insert(),
            [
                {
                    "project_id": after.id,
                    "from_status": step.from_status.value if step.from_status else None,
                    "to_status": step.to_status.value,
                    "by": step.by,
                    "at": step.at,
                    "reason": step.reason,
                }
                for step in new_steps
            ],
        )
    new_reports = after.reports[len(before.reports) :]
    if new_reports:
        session.execute(
            reports.insert(),
            [
                {
                    "project_id": after.id,
                    "kind": item.kind.value,
                    "period": item.period,
                    "submitted_by": item.submitted_by,
                    "submitted_at": item.submitted_at,
                    "content": item.content,
                }
                for item in new_reports
            ],
        )
    new_comments = after.comments[len(before.comments) :]
    if new_comments:
        session.execute(
            comments.insert(),
            [
                {
                    "project_id": after.id,
                    "revision": item.revision,
                    "author": item.author,
                    "role": item.role,
                    "text": item.text,
                    "at": item.at,
                }
                for item in new_comments
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


LIST_COLUMNS = (
    projects.c.id,
    projects.c.code,
    projects.c.title,
    projects.c.status,
    projects.c.fund_code,
    projects.c.fund_name,
    projects.c.district,
    projects.c.province,
    projects.c.region,
    projects.c.fiscal_year,
    projects.c.issue,
    projects.c.spending_type,
    projects.c.owner_name,
    projects.c.owner_kind,
    projects.c.requested_amount,
    projects.c.approved_amount,
    projects.c.updated_at,
)


# SQLite: the FTS5 trigram index of title, owner and code (migration 0004) answers substrings of 3 characters or
# more; PostgreSQL's pg_trgm GIN indexes serve the LIKE below by themselves.
_SEARCH_INDEX_MINIMUM = 3
_SEARCHED = (projects.c.title, projects.c.owner_name, projects.c.code)
_IN_SEARCH_INDEX = literal_column("projects.rowid").in_(
    select(literal_column("rowid")).select_from(text("project_search")).where(text("project_search MATCH :phrase"))
)


def search(session, filters: dict, words: str | None, page: int, per_page: int) -> tuple[list[dict], int]:
    """Projects matching the filters and the Thai text (a substring of title, owner or code), newest first, with
    the total."""
    conditions = [getattr(projects.c, name) == value for name, value in filters.items() if value is not None]
    if words:
        conditions.append(_text_matches(session.get_bind().dialect.name, words))
    total = session.execute(select(func.count()).select_from(projects).where(*conditions)).scalar()
    rows = session.execute(
        select(*LIST_COLUMNS)
        .where(*conditions)
        .order_by(projects.c.updated_at.desc(), projects.c.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).mappings()
    return [dict(row) for row in rows], total


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_matches(dialect: str, words: str):
    if dialect == "sqlite" and len(words) >= _SEARCH_INDEX_MINIMUM:
        phrase = '"' + words.replace('"', '""') + '"'  # one FTS5 phrase: the characters as typed, in order
        return _IN_SEARCH_INDEX.params(phrase=phrase)
    pattern = f"%{_escape_like(words)}%"
    # case-insensitive everywhere: SQLite's LIKE and the trigram index already are, PostgreSQL needs ILIKE
    like = "ilike" if dialect == "postgresql" else "like"
    return or_(*(getattr(column, like)(pattern, escape="\\") for column in _SEARCHED))
