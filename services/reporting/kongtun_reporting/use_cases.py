"""Use cases of the reporting service: read models and report obligations."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import String, bindparam, exists, func, literal, select, update

from kongtun_common.engine import utcnow
from kongtun_common.thai import BANGKOK, thai_date

from . import orm
from .domain import (
    DEFAULT_FINANCIAL_REPORT_DAYS,
    DEFAULT_IDLE_MAX_PERCENT,
    DEFAULT_MENTOR_MAX_FUNDS,
    DEFAULT_PACE_PERCENTS,
    STATUS_AFTER,
    Obligation,
    carried_balances,
    due_notice,
    fiscal_year_of,
    fund_duties,
    idle_flagged,
    overdue_notice,
    percent_text,
    plan_coverage,
    quarter_of,
    spending_pace,
    supersedes,
)

TOTAL_DIMENSIONS = ("issue", "spending_type", "owner_kind", "district")
OBLIGATION_NAMESPACE = uuid.UUID("5d0f3c8e-2b1a-4c4e-9a57-6f1f0b7c2d11")

AREA = ("subdistrict", "district", "province", "region")

log = logging.getLogger(__name__)


def keep_in_history(uow, event) -> None:
    """Every event of the deployment, as received: the history read models can be rebuilt from."""
    uow.session.execute(
        orm.event_history.insert(),
        {
            "event_id": event.id,
            "type": event.type,
            "source": event.source,
            "subject": event.subject,
            "time": event.time,
            "received_at": utcnow(),
            "envelope": event.to_envelope(),
        },
    )


# Statements built once: building them per event costs more than running them (rebuild profile).
_FUND_KNOWN = select(orm.fund_facts.c.fund_code).where(orm.fund_facts.c.fund_code == bindparam("b_fund_code"))
_OBLIGATION_KNOWN = select(orm.obligations.c.id).where(orm.obligations.c.id == bindparam("b_id"))
_SUBMITTED_AT = select(orm.submitted_reports.c.submitted_at).where(
    orm.submitted_reports.c.project_id == bindparam("b_project_id"),
    orm.submitted_reports.c.report == bindparam("b_report"),
    orm.submitted_reports.c.period == bindparam("b_period"),
)


def record_fund(uow, event) -> None:
    data = event.data
    if uow.session.execute(_FUND_KNOWN, {"b_fund_code": data["fund_code"]}).first() is None:
        uow.session.execute(
            orm.fund_facts.insert(),
            {"fund_code": data["fund_code"], "name_th": data["name_th"], **{key: data[key] for key in AREA}},
        )


_FACTS = orm.project_facts
_TOTALED = ("province", "region", "fiscal_year", "status", "requested_amount", "approved_amount", *TOTAL_DIMENSIONS)
_SELECT_FACT = select(_FACTS.c.status_time, *(getattr(_FACTS.c, name) for name in _TOTALED)).where(
    _FACTS.c.project_id == bindparam("project_id")
)
_TOTALS = orm.project_totals
_TOTALS_KEY = ("dimension", "value", "province", "fiscal_year", "status")
_ADD_TOTALS = (
    update(_TOTALS)
    .where(*(getattr(_TOTALS.c, name) == bindparam(f"k_{name}") for name in _TOTALS_KEY))
    .values(
        projects=_TOTALS.c.projects + bindparam("d_projects"),
        requested_amount=_TOTALS.c.requested_amount + bindparam("d_requested"),
        approved_amount=_TOTALS.c.approved_amount + bindparam("d_approved"),
    )
)


def _count_in_totals(uow, facts, sign: int) -> None:
    """Add (sign 1) or take out (sign -1) one project's facts from the running totals.  A rebuild
    (``uow.totals_later``) skips them and recomputes the totals once from the facts at the end."""
    if getattr(uow, "totals_later", False):
        return
    for dimension in ("", *TOTAL_DIMENSIONS):
        value = "" if not dimension or facts[dimension] is None else str(facts[dimension])
        key = {
            "dimension": dimension,
            "value": value,
            "province": facts["province"],
            "fiscal_year": facts["fiscal_year"],
            "status": facts["status"],
        }
        delta = {
            "d_projects": sign,
            "d_requested": sign * facts["requested_amount"],
            "d_approved": sign * (facts["approved_amount"] or 0),
        }
        changed = uow.session.execute(_ADD_TOTALS, {**{f"k_{k}": v for k, v in key.items()}, **delta}).rowcount
        if changed == 0:
            uow.session.execute(
                _TOTALS.insert().values(
                    **key,
                    region=facts["region"],
                    projects=delta["d_projects"],
                    requested_amount=delta["d_requested"],
                    approved_amount=delta["d_approved"],
                )
            )


_UPDATE_FACTS = update(_FACTS).where(_FACTS.c.project_id == bindparam("b_project_id"))


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_project(uow, event, status: str | None = None) -> None:
    """Upsert a project's facts from any project lifecycle event; the newest event sets status and amounts."""
    data = event.data
    status = status or STATUS_AFTER[event.name]
    event_time = _instant(event.time)
    current = uow.session.execute(_SELECT_FACT, {"project_id": data["project_id"]}).first()
    moments = {}
    if event.name == "ProjectSubmitted":
        moments["submitted_at"] = _instant(data.get("submitted_at"))
    if event.name == "ProjectApproved":
        moments["approved_at"] = _instant(data.get("approved_at"))
    if data.get("project_code"):
        moments["project_code"] = data["project_code"]
    if current is not None and not supersedes(current.status_time, current.status, event_time, status):
        if moments:  # an older event still tells when things happened
            uow.session.execute(_UPDATE_FACTS, {"b_project_id": data["project_id"], **moments})
        return
    values = {
        "fund_code": data["fund_code"],
        "fund_name": data.get("fund_name"),
        **{key: data[key] for key in AREA},
        "title": data.get("title"),
        "owner_name": data["owner"]["name"],
        "fiscal_year": data["fiscal_year"],
        "issue": data["issue"],
        "spending_type": data["spending_type"],
        "owner_kind": data["owner"]["kind"],
        "status": status,
        "status_time": event_time,
        "requested_amount": data["requested_amount_satang"],
        "approved_amount": None if event.name == "ProjectApprovalRevoked" else data.get("approved_amount_satang"),
        "start_date": date.fromisoformat(data["start_date"]) if data.get("start_date") else None,
        "end_date": date.fromisoformat(data["end_date"]) if data.get("end_date") else None,
        **moments,
    }
    if current is None:
        uow.session.execute(_FACTS.insert(), {"project_id": data["project_id"], **values})
    else:
        _count_in_totals(uow, current._mapping, -1)
        uow.session.execute(_UPDATE_FACTS, {"b_project_id": data["project_id"], **values})
    _count_in_totals(uow, values, 1)


def drop_open_obligations(uow, event) -> None:
    """A cancelled project owes no more reports (those already in stay as the record)."""
    table = orm.obligations
    uow.session.execute(
        table.delete().where(table.c.project_id == event.data["project_id"], table.c.fulfilled_at.is_(None))
    )


def cancel_project(uow, event) -> None:
    record_project(uow, event)
    drop_open_obligations(uow, event)


def record_programme_member(uow, event) -> None:
    """FundJoinedProgramme: the fund is in the programme (plan coverage counts it)."""
    data = event.data
    table = orm.programme_funds
    exists = uow.session.execute(
        select(table.c.fund_code).where(
            table.c.programme_id == data["programme_id"], table.c.fund_code == data["fund_code"]
        )
    ).first()
    if exists is None:
        uow.session.execute(
            table.insert().values(
                programme_id=data["programme_id"],
                fund_code=data["fund_code"],
                programme_name=data["programme_name"],
                taxonomy_code=data["taxonomy_code"],
            )
        )
    _remember_fund(uow, data["fund_code"], data["fund_name"], data)


def record_plan(uow, event) -> None:
    """PlanApproved: the fund has an approved plan for one issue of a programme in a fiscal year."""
    data = event.data
    table = orm.plan_facts
    if uow.session.execute(select(table.c.plan_id).where(table.c.plan_id == data["plan_id"])).first() is not None:
        return
    uow.session.execute(
        table.insert().values(
            plan_id=data["plan_id"],
            fund_code=data["fund_code"],
            programme_id=data["programme_id"],
            issue=data["issue"],
            fiscal_year=data["fiscal_year"],
            approved_on=date.fromisoformat(data["approved_on"]),
            late=1 if data.get("late") else 0,
        )
    )
    members = orm.programme_funds
    member = uow.session.execute(
        select(members.c.fund_code).where(
            members.c.programme_id == data["programme_id"], members.c.fund_code == data["fund_code"]
        )
    ).first()
    if member is None:  # the plan arrived before the agreement (another queue): the plan says it is a member
        uow.session.execute(
            members.insert().values(
                programme_id=data["programme_id"],
                fund_code=data["fund_code"],
                programme_name=data["programme_name"],
                taxonomy_code=data["taxonomy_code"],
            )
        )


def _remember_fund(uow, fund_code: str, name: str, data: dict) -> None:
    if uow.session.execute(_FUND_KNOWN, {"b_fund_code": fund_code}).first() is None:
        uow.session.execute(
            orm.fund_facts.insert(), {"fund_code": fund_code, "name_th": name, **{key: data[key] for key in AREA}}
        )


def revert_approval(uow, event) -> None:
    """The fund refused the budget (ProjectApprovalRevoked): the project counts as submitted again, owes nothing."""
    data = event.data
    record_project(uow, event, "submitted")
    uow.session.execute(orm.obligations.delete().where(orm.obligations.c.project_id == data["project_id"]))


def fulfil_obligation(uow, event) -> None:
    """A submitted report (ReportSubmitted) clears its obligation: no more notices for it.  It is remembered,
    since it may arrive before the approval that creates the obligation (they travel on different queues)."""
    data = event.data
    table = orm.obligations
    submitted_at = _instant(data.get("submitted_at")) or utcnow()
    reports = orm.submitted_reports
    key = {"project_id": data["project_id"], "report": data["report"], "period": data["period"]}
    known = uow.session.execute(
        select(reports.c.project_id).where(*(getattr(reports.c, name) == value for name, value in key.items()))
    ).first()
    if known is None:
        uow.session.execute(reports.insert().values(**key, submitted_at=submitted_at))
    uow.session.execute(
        update(table)
        .where(
            table.c.project_id == data["project_id"],
            table.c.report == data["report"],
            table.c.period == data["period"],
            table.c.fulfilled_at.is_(None),
        )
        .values(fulfilled_at=submitted_at)
    )


def register_obligations(uow, event) -> None:
    """Each report a newly approved project owes becomes an obligation."""
    data = event.data
    table = orm.obligations
    for due in data["reports_due"]:
        ident = obligation_id(data["project_id"], due["report"], due.get("period", 1))
        if uow.session.execute(_OBLIGATION_KNOWN, {"b_id": ident}).first() is not None:
            continue  # a re-approval owes what the first approval owed
        uow.session.execute(
            table.insert(),
            {
                "id": ident,
                "project_id": data["project_id"],
                "report": due["report"],
                "period": due.get("period", 1),
                "due_date": date.fromisoformat(due["due_date"]),
                "project_title": data["title"],
                "fund_code": data["fund_code"],
                "fund_name": data["fund_name"],
                **{key: data[key] for key in AREA},
                "owner_name": data["owner"]["name"],
                "owner_kind": data["owner"]["kind"],
                "owner_contact": data["owner"].get("contact") or "",
                "notices_sent": "",
                "overdue_notices_sent": "",
            },
        )
        submitted = uow.session.execute(
            _SUBMITTED_AT,
            {"b_project_id": data["project_id"], "b_report": due["report"], "b_period": due.get("period", 1)},
        ).scalar()
        if submitted is not None:  # the report came in first
            uow.session.execute(update(table).where(table.c.id == ident).values(fulfilled_at=submitted))
        log.info("project %s owes its %s report by %s", data["project_id"], due["report"], due["due_date"])


def obligation_id(project_id: str, report: str, period: int) -> str:
    """Stable: the same obligation has the same id in the live model and in a rebuild."""
    return str(uuid.uuid5(OBLIGATION_NAMESPACE, f"{project_id}/{report}/{period}"))


def obligations_to_check(session, today: date, horizon_days: int) -> list[str]:
    table = orm.obligations
    limit = date.fromordinal(today.toordinal() + horizon_days)
    rows = session.execute(
        select(table.c.id)
        .where(table.c.due_date >= today, table.c.due_date <= limit, table.c.fulfilled_at.is_(None))
        .order_by(table.c.due_date)
    )
    return [row.id for row in rows]


def announce_if_due(uow, obligation_id: str, today: date, leads) -> bool:
    """Publish ReportDue for one obligation if a lead time is reached; never twice."""
    table = orm.obligations
    row = uow.session.execute(select(table).where(table.c.id == obligation_id)).mappings().first()
    if row is None:
        return False
    sent = _leads(row["notices_sent"])
    obligation = Obligation(row["id"], row["project_id"], row["report"], row["due_date"], sent)
    notice = due_notice(obligation, today, leads)
    if notice is None:
        return False
    lead, now_sent = notice
    claimed = uow.session.execute(
        update(table)
        .where(table.c.id == obligation_id, table.c.notices_sent == row["notices_sent"])
        .values(notices_sent=_text(now_sent), last_notice_at=utcnow())
    )
    if claimed.rowcount != 1:  # another process announced it first
        return False
    uow.publish(
        "ReportDue",
        {
            "obligation_id": row["id"],
            "project_id": row["project_id"],
            "project_title": row["project_title"],
            "fund_code": row["fund_code"],
            "fund_name": row["fund_name"],
            **{key: row[key] for key in AREA},
            "report": row["report"],
            "due_date": row["due_date"].isoformat(),
            "days_before_due": lead,
            "owner": {"name": row["owner_name"], "kind": row["owner_kind"], "contact": row["owner_contact"]},
        },
        subject=row["project_id"],
    )
    log.info(
        "report %s of project %s is due %s: announced %d days ahead",
        row["report"],
        row["project_id"],
        row["due_date"],
        lead,
    )
    return True


def overdue_to_check(session, today: date, steps) -> list[str]:
    """Unfulfilled obligations past their due date whose last overdue step has not been announced."""
    table = orm.obligations
    rows = session.execute(
        select(table.c.id, table.c.overdue_notices_sent)
        .where(table.c.due_date < today, table.c.fulfilled_at.is_(None))
        .order_by(table.c.due_date)
    )
    return [row.id for row in rows if not set(steps) <= _leads(row.overdue_notices_sent)]


def announce_if_overdue(uow, obligation_id: str, today: date, steps) -> bool:
    """Publish ReportOverdue for one obligation if an overdue step is reached; never twice per step."""
    table = orm.obligations
    row = uow.session.execute(select(table).where(table.c.id == obligation_id)).mappings().first()
    if row is None or row["fulfilled_at"] is not None:
        return False
    sent = _leads(row["overdue_notices_sent"])
    obligation = Obligation(row["id"], row["project_id"], row["report"], row["due_date"], overdue_sent=sent)
    notice = overdue_notice(obligation, today, steps)
    if notice is None:
        return False
    step, now_sent = notice
    claimed = uow.session.execute(
        update(table)
        .where(table.c.id == obligation_id, table.c.overdue_notices_sent == row["overdue_notices_sent"])
        .values(overdue_notices_sent=_text(now_sent), last_notice_at=utcnow())
    )
    if claimed.rowcount != 1:
        return False
    uow.publish(
        "ReportOverdue",
        {
            "obligation_id": row["id"],
            "project_id": row["project_id"],
            "project_title": row["project_title"],
            "fund_code": row["fund_code"],
            "fund_name": row["fund_name"],
            **{key: row[key] for key in AREA},
            "report": row["report"],
            "due_date": row["due_date"].isoformat(),
            "days_overdue": step,
            "owner": {"name": row["owner_name"], "kind": row["owner_kind"], "contact": row["owner_contact"]},
        },
        subject=row["project_id"],
    )
    log.info("report %s of project %s is %d days overdue", row["report"], row["project_id"], step)
    return True


def remember_notice(uow, event, leads, steps) -> None:
    """ReportDue / ReportOverdue as found in the history: the notice was sent (used by a rebuild)."""
    data = event.data
    table = orm.obligations
    row = uow.session.execute(
        select(table.c.notices_sent, table.c.overdue_notices_sent).where(table.c.id == data["obligation_id"])
    ).first()
    if row is None:
        return
    if event.name == "ReportDue":
        lead = data["days_before_due"]
        sent = _leads(row.notices_sent) | {value for value in leads if value >= lead} | {lead}
        uow.session.execute(update(table).where(table.c.id == data["obligation_id"]).values(notices_sent=_text(sent)))
    else:
        step = data["days_overdue"]
        sent = _leads(row.overdue_notices_sent) | {value for value in steps if value <= step} | {step}
        uow.session.execute(
            update(table).where(table.c.id == data["obligation_id"]).values(overdue_notices_sent=_text(sent))
        )


def _text(values) -> str:
    return ",".join(str(value) for value in sorted(values))


def _leads(text: str) -> frozenset[int]:
    return frozenset(int(value) for value in text.split(",") if value)


FUND_FILTERS = ("fund_code", *AREA)


_TOTALS_FILTERS = ("region", "province", "fiscal_year", "status")


def _totals_dimension(wanted: dict, group_by: str | None) -> str | None:
    """The running-totals dimension that answers this summary, or None when only the facts can."""
    if any(key not in _TOTALS_FILTERS and key not in TOTAL_DIMENSIONS for key in wanted):
        return None
    if group_by is not None and group_by not in _TOTALS_FILTERS and group_by not in TOTAL_DIMENSIONS:
        return None
    dimensions = {key for key in wanted if key in TOTAL_DIMENSIONS}
    if group_by in TOTAL_DIMENSIONS:
        dimensions.add(group_by)
    if len(dimensions) > 1:
        return None
    return dimensions.pop() if dimensions else ""


def _dimension_value(dimension: str, value: str):
    if dimension == "spending_type":
        return int(value)
    return value if value != "" else None


def summary(session, filters: dict, use_totals: bool = True) -> dict:
    """Projects and budgets under ``filters`` (any of GROUP_BY), optionally grouped by one of GROUP_BY.

    Province-level questions (national, regional, provincial; by year, status and one more dimension) read the
    running totals; questions about a fund or subdistrict, or crossing two dimensions, read the project facts
    through their indexes.  Both give the same numbers (tested)."""
    facts = orm.project_facts
    funds = orm.fund_facts
    filters = dict(filters)
    group_by = filters.pop("group_by", None)
    wanted = {key: value for key, value in filters.items() if value is not None}
    fund_conditions = [getattr(funds.c, key) == value for key, value in wanted.items() if key in FUND_FILTERS]
    fund_count = session.execute(select(func.count()).select_from(funds).where(*fund_conditions)).scalar()
    dimension = _totals_dimension(wanted, group_by) if use_totals else None
    if dimension is not None:
        table = orm.project_totals
        conditions = [table.c.dimension == dimension, table.c.projects > 0]
        for key, value in wanted.items():
            column = table.c.value if key in TOTAL_DIMENSIONS else getattr(table.c, key)
            conditions.append(column == (str(value) if key in TOTAL_DIMENSIONS else value))
        totals = (
            func.sum(table.c.projects),
            func.sum(table.c.requested_amount),
            func.sum(table.c.approved_amount),
        )
        if group_by in (None, "status"):
            keys = [table.c.status]
        elif group_by in TOTAL_DIMENSIONS:
            keys = [table.c.status, table.c.value]
        else:
            keys = [table.c.status, getattr(table.c, group_by)]
        rows = [
            (row[0], _dimension_value(dimension, row[1]), *row[2:])
            if len(row) == 5 and group_by == dimension
            else tuple(row)
            for row in session.execute(select(*keys, *totals).where(*conditions).group_by(*keys)).all()
        ]
    else:
        project_conditions = [getattr(facts.c, key) == value for key, value in wanted.items()]
        totals = (
            func.count(),
            func.coalesce(func.sum(facts.c.requested_amount), 0),
            func.coalesce(func.sum(facts.c.approved_amount), 0),
        )
        keys = [facts.c.status] if group_by in (None, "status") else [facts.c.status, getattr(facts.c, group_by)]
        rows = session.execute(select(*keys, *totals).where(*project_conditions).group_by(*keys)).all()
    by_status: dict[str, int] = {}
    groups: dict = {}
    requested = approved = 0
    for row in rows:
        status, count, row_requested, row_approved = row[0], int(row[-3]), int(row[-2]), int(row[-1])
        by_status[status] = by_status.get(status, 0) + count
        requested += row_requested
        approved += row_approved
        if group_by is not None:
            key = row[1] if len(row) == 5 else status
            group = groups.setdefault(key, {"key": key, "projects": 0, "requested_amount": 0, "approved_amount": 0})
            group["projects"] += count
            group["requested_amount"] += row_requested
            group["approved_amount"] += row_approved
    result = {
        "funds": fund_count,
        "projects": sum(by_status.values()),
        "projects_by_status": by_status,
        "requested_amount": requested,
        "approved_amount": approved,
    }
    if group_by is not None:
        result["group_by"] = group_by
        result["groups"] = sorted(groups.values(), key=lambda group: (group["key"] is None, str(group["key"])))
    return result


def coverage(session, fiscal_year: int, programme_id: str | None = None, issues: list[str] | None = None) -> dict:
    """Plan coverage: funds with an approved plan for every issue of their programme ÷ the programme's funds.

    The events do not carry a programme's issue list; unless ``issues`` is given, a programme's issues are
    those any of its funds has an approved plan for in the year (the whole taxonomy once one fund covers it).
    """
    members_table, plans_table = orm.programme_funds, orm.plan_facts
    query = select(members_table)
    if programme_id:
        query = query.where(members_table.c.programme_id == programme_id)
    programmes: dict[str, dict] = {}
    for row in session.execute(query).mappings():
        entry = programmes.setdefault(
            row["programme_id"],
            {"programme_id": row["programme_id"], "programme_name": row["programme_name"], "members": set()},
        )
        entry["members"].add(row["fund_code"])
    plans_query = select(plans_table.c.programme_id, plans_table.c.fund_code, plans_table.c.issue).where(
        plans_table.c.fiscal_year == fiscal_year
    )
    if programme_id:
        plans_query = plans_query.where(plans_table.c.programme_id == programme_id)
    planned: dict[str, dict[str, set[str]]] = {}
    for row in session.execute(plans_query):
        planned.setdefault(row.programme_id, {}).setdefault(row.fund_code, set()).add(row.issue)
    items = []
    total_covered = total_funds = 0
    for key, entry in sorted(programmes.items(), key=lambda item: item[1]["programme_name"]):
        plans = planned.get(key, {})
        programme_issues = set(issues) if issues else set().union(*plans.values()) if plans else set()
        covered, count = plan_coverage(entry["members"], plans, programme_issues)
        total_covered += covered
        total_funds += count
        items.append(
            {
                "programme_id": key,
                "programme_name": entry["programme_name"],
                "issues": sorted(programme_issues),
                "funds": count,
                "funds_covered": covered,
                "funds_not_covered": sorted(
                    fund for fund in entry["members"] if not programme_issues <= plans.get(fund, set())
                ),
                **_ratio(covered, count),
            }
        )
    return {
        "fiscal_year": fiscal_year,
        "funds": total_funds,
        "funds_covered": total_covered,
        **_ratio(total_covered, total_funds),
        "programmes": items,
    }


def _ratio(part: int, whole: int) -> dict:
    if not whole:
        return {"coverage": None, "coverage_percent": None}
    percent = (part * 10000) // whole  # hundredths of a percent, truncated: 13/14 → 92.85
    return {"coverage": part / whole, "coverage_percent": f"{percent // 100}.{percent % 100:02d}"}


OBLIGATION_STATES = ("open", "due", "overdue", "fulfilled", "late", "all")
OBLIGATION_KINDS = ("project", "fund", "all")


def list_obligations(session, project_id: str | None, filters: dict | None = None, today: date | None = None) -> list:
    """Obligations, optionally by project, fund or area and by state: ``due`` (open, not yet past due),
    ``overdue`` (open, past due), ``fulfilled``, ``late`` (fulfilled after the due date), ``open`` or ``all``."""
    table = orm.obligations
    filters = dict(filters or {})
    kind = filters.pop("kind", None) or ("fund" if filters.get("duty") else "project")
    if project_id or filters.get("report"):
        kind = "project"
    fund_filters = {key: filters.pop(key, None) for key in ("duty", "fiscal_year", "region")}
    if kind == "fund":
        return list_fund_obligations(session, {**filters, **fund_filters}, today)
    if kind == "all":
        both = list_obligations(session, None, {**filters, "kind": "project"}, today)
        both += list_fund_obligations(session, {**filters, **fund_filters}, today)
        both.sort(key=lambda item: (item["due_date"], item["id"]))
        return both[: filters["limit"]] if filters.get("limit") else both
    state = filters.pop("state", None) or "all"
    limit = filters.pop("limit", None)
    query = select(table).order_by(table.c.due_date, table.c.id)
    if fund_filters["region"] is not None:
        query = query.where(table.c.region == fund_filters["region"])
    if project_id:
        query = query.where(table.c.project_id == project_id)
    for key, value in filters.items():
        if value is not None:
            query = query.where(getattr(table.c, key) == value)
    if state in ("open", "due", "overdue"):
        query = query.where(table.c.fulfilled_at.is_(None))
    if state == "due":
        query = query.where(table.c.due_date >= today)
    if state == "overdue":
        query = query.where(table.c.due_date < today)
    if state in ("fulfilled", "late"):
        query = query.where(table.c.fulfilled_at.is_not(None))
    if limit:
        query = query.limit(limit)
    items = []
    for row in session.execute(query).mappings():
        fulfilled = row["fulfilled_at"]
        if state == "late" and not (fulfilled and fulfilled.date() > row["due_date"]):
            continue
        items.append(
            {
                "id": row["id"],
                "kind": "project",
                "project_id": row["project_id"],
                "project_title": row["project_title"],
                "fund_code": row["fund_code"],
                "fund_name": row["fund_name"],
                "province": row["province"],
                "district": row["district"],
                "region": row["region"],
                "report": row["report"],
                "period": row["period"],
                "duty": None,
                "fiscal_year": None,
                "quarter": None,
                "label_th": LABELS["report"].get(row["report"], row["report"])
                + (f" งวดที่ {row['period']}" if row["period"] > 1 else ""),
                "due_date": row["due_date"].isoformat(),
                "due_date_th": thai_date(row["due_date"]),
                "notices_sent": sorted(_leads(row["notices_sent"]), reverse=True),
                "overdue_notices_sent": sorted(_leads(row["overdue_notices_sent"])),
                "fulfilled_at": fulfilled.isoformat() if fulfilled else None,
                "fulfilled_on": fulfilled.astimezone(BANGKOK).date().isoformat() if fulfilled else None,
                "days_overdue": (today - row["due_date"]).days
                if today and not fulfilled and row["due_date"] < today
                else 0,
            }
        )
    return items


class _Direct:
    """The session's connection, for the rebuild's many small statements: the same transaction without the ORM
    session's bookkeeping around each statement (the use cases only ever ``execute``)."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, statement, params=None):
        return self.connection.execute(statement, params)

    def get_bind(self):
        return self.connection


# What each event type does to the read models: the live handlers run the same functions, one queue each.
def replay_table(report_days: int = DEFAULT_FINANCIAL_REPORT_DAYS) -> dict:
    return {
        "FundRegistered": (record_fund,),
        "FundJoinedProgramme": (record_programme_member,),
        "PlanApproved": (record_plan, lambda uow, event: record_plan_duty(uow, event, report_days)),
        "ProjectSubmitted": (record_project,),
        "ProjectRevisionRequested": (record_project,),
        "ProjectApproved": (record_project, register_obligations),
        "ProjectRejected": (record_project,),
        "ProjectCancelled": (cancel_project,),
        "ProjectStarted": (record_project,),
        "ProjectSuspended": (record_project,),
        "ProjectResumed": (record_project,),
        "ProjectTerminated": (record_project,),
        "ProjectCompleted": (record_project,),
        "ProjectApprovalRevoked": (revert_approval,),
        "ReportSubmitted": (fulfil_obligation,),
        "FundFinancialReportSubmitted": (lambda uow, event: record_fund_report(uow, event, report_days),),
        "MentorAssigned": (record_mentor,),
        "LedgerEntryRecorded": (record_ledger_entry,),
        "BudgetCommitted": (record_commitment,),
        "BudgetReleased": (record_release,),
    }


def rebuild(
    uow,
    leads,
    steps,
    batch: int = 5000,
    progress=None,
    fund_leads=None,
    report_days: int = DEFAULT_FINANCIAL_REPORT_DAYS,
    today: date | None = None,
) -> int:
    """Empty the read models and replay the whole event history through the same use cases, in the order it
    was received; the notices reporting itself sent (ReportDue, ReportOverdue, FundReportDue, FundReportOverdue,
    also in the history) mark what was announced, so a rebuild announces nothing again.  The running totals
    (project totals, funds' money) are not updated event by event: they are summed once at the end, which gives
    the same numbers (tested).  Returns the number of events replayed."""
    from kongtun_common.events.envelope import Event

    fund_leads = fund_leads if fund_leads is not None else leads
    replay = replay_table(report_days)
    for name in orm.READ_MODELS:
        uow.session.execute(orm.metadata.tables[name].delete())
    uow.totals_later, uow.money_batch = True, {}
    session, uow.session = uow.session, _Direct(uow.session.connection())  # same transaction, less per statement
    history = orm.event_history
    after = None
    replayed = 0
    try:
        while True:
            query = select(history.c.received_at, history.c.event_id, history.c.envelope).order_by(
                history.c.received_at, history.c.event_id
            )
            if after is not None:
                query = query.where(
                    (history.c.received_at > after[0])
                    | ((history.c.received_at == after[0]) & (history.c.event_id > after[1]))
                )
            rows = uow.session.execute(query.limit(batch)).all()
            if not rows:
                break
            for row in rows:
                event = Event.from_envelope(row.envelope)
                if event.name in ("ReportDue", "ReportOverdue"):
                    remember_notice(uow, event, leads, steps)
                elif event.name in ("FundReportDue", "FundReportOverdue"):
                    remember_fund_notice(uow, event, fund_leads, steps, report_days)
                for use_case in replay.get(event.name, ()):
                    use_case(uow, event)
                replayed += 1
            after = (rows[-1].received_at, rows[-1].event_id)
            if progress:
                progress(replayed)
        flush_money_batch(uow)
        recompute_totals(uow.session)
        ensure_current_year(uow, today or datetime.now(BANGKOK).date(), report_days)
    finally:
        uow.totals_later, uow.money_batch, uow.session = False, None, session
    return replayed


FUNDED = ("approved", "running", "suspended", "completed", "terminated")

EXPORT_COLUMNS = (
    "project_id",
    "project_code",
    "title",
    "fund_code",
    "fund_name",
    "subdistrict",
    "district",
    "province",
    "region",
    "fiscal_year",
    "issue",
    "spending_type",
    "owner_kind",
    "owner_name",
    "status",
    "requested_amount",
    "approved_amount",
    "start_date",
    "end_date",
    "submitted_at",
    "approved_at",
)


def export_page(session, filters: dict, after: str | None, limit: int) -> list[dict]:
    """One page of project facts (keyset on the project id) for the streamed exports; money in satang."""
    facts = orm.project_facts
    filters = dict(filters)
    funded = filters.pop("funded", False)
    filters.pop("group_by", None)
    query = select(*(getattr(facts.c, name) for name in EXPORT_COLUMNS)).order_by(facts.c.project_id).limit(limit)
    for key, value in filters.items():
        if value is not None:
            query = query.where(getattr(facts.c, key) == value)
    if funded:
        query = query.where(facts.c.status.in_(FUNDED))
    if after:
        query = query.where(facts.c.project_id > after)
    rows = []
    for row in session.execute(query).mappings():
        item = dict(row)
        for key in ("start_date", "end_date", "submitted_at", "approved_at"):
            item[key] = item[key].isoformat() if item[key] else None
        rows.append(item)
    return rows


def recompute_totals(session) -> None:
    """Rebuild the running totals from project_facts in one pass per dimension (for bulk loads)."""
    facts, table = orm.project_facts, orm.project_totals
    session.execute(table.delete())
    for dimension in ("", *TOTAL_DIMENSIONS):
        value = func.coalesce(func.cast(getattr(facts.c, dimension), String), "") if dimension else literal("")
        rows = session.execute(
            select(
                value,
                facts.c.province,
                facts.c.fiscal_year,
                facts.c.status,
                func.min(facts.c.region),
                func.count(),
                func.sum(facts.c.requested_amount),
                func.coalesce(func.sum(facts.c.approved_amount), 0),
            ).group_by(value, facts.c.province, facts.c.fiscal_year, facts.c.status)
        ).all()
        if rows:
            session.execute(
                table.insert(),
                [
                    {
                        "dimension": dimension,
                        "value": row[0],
                        "province": row[1],
                        "fiscal_year": row[2],
                        "status": row[3],
                        "region": row[4],
                        "projects": row[5],
                        "requested_amount": int(row[6]),
                        "approved_amount": int(row[7]),
                    }
                    for row in rows
                ],
            )


def approval_lead_time(session, filters: dict) -> dict:
    """Days from (first) submission to approval of the projects under ``filters`` that have both."""
    facts = orm.project_facts
    filters = {key: value for key, value in filters.items() if value is not None and key != "group_by"}
    conditions = [getattr(facts.c, key) == value for key, value in filters.items()]
    conditions += [facts.c.submitted_at.is_not(None), facts.c.approved_at.is_not(None)]
    if session.get_bind().dialect.name == "postgresql":
        days = func.extract("epoch", facts.c.approved_at - facts.c.submitted_at) / 86400.0
    else:
        days = func.julianday(facts.c.approved_at) - func.julianday(facts.c.submitted_at)
    count, average, longest = session.execute(
        select(func.count(), func.avg(days), func.max(days)).where(*conditions)
    ).one()
    return {
        "projects": int(count),
        "average_days": round(float(average), 1) if average is not None else None,
        "longest_days": round(float(longest), 1) if longest is not None else None,
    }


# ------------------------------------------------------------------ fund-level duties (annual plan, quarterly
# financial reports): obligations like the projects' reports, same notices, same "never twice" claim

FUND_OBLIGATION_NAMESPACE = uuid.UUID("0b6f1a52-7d3e-4f0a-8e21-3c9d5a4b7e60")
LABELS = json.loads((Path(__file__).parent / "data" / "labels.json").read_text("utf-8"))
_FUND_PLACE = ("fund_code", "fund_name", *AREA)


def fund_obligation_id(fund_code: str, fiscal_year: int, duty: str, quarter: int | None) -> str:
    """Stable: the same duty has the same id live, after a rebuild and whoever created it first."""
    return str(uuid.uuid5(FUND_OBLIGATION_NAMESPACE, f"{fund_code}/{fiscal_year}/{duty}/{quarter or 0}"))


def fund_duty_label(duty: str, fiscal_year: int, quarter: int | None) -> str:
    """Thai, for people: "รายงานการเงินรายไตรมาส ไตรมาสที่ 1 ปีงบประมาณ 2567"."""
    label = LABELS["duty"][duty]
    if quarter:
        label += f" ไตรมาสที่ {quarter}"
    return f"{label} ปีงบประมาณ {fiscal_year}"


def _place(data: dict) -> dict:
    """A fund's code, name and area from an event (FundRegistered calls the name ``name_th``)."""
    return {
        "fund_code": data["fund_code"],
        "fund_name": data.get("fund_name") or data.get("name_th"),
        **{key: data[key] for key in AREA},
    }


def ensure_fund_obligations(uow, place: dict, fiscal_year: int, report_days: int) -> int:
    """The fund's duties of a fiscal year exist (created once; idempotent); returns how many were created."""
    table = orm.fund_obligations
    existing = set(
        uow.session.execute(
            select(table.c.id).where(table.c.fund_code == place["fund_code"], table.c.fiscal_year == fiscal_year)
        ).scalars()
    )
    rows = []
    for duty, quarter, due in fund_duties(fiscal_year, report_days):
        ident = fund_obligation_id(place["fund_code"], fiscal_year, duty, quarter)
        if ident not in existing:
            rows.append(
                {
                    "id": ident,
                    **place,
                    "fiscal_year": fiscal_year,
                    "duty": duty,
                    "quarter": quarter,
                    "due_date": due,
                    "notices_sent": "",
                    "overdue_notices_sent": "",
                }
            )
    if rows:
        uow.session.execute(table.insert(), rows)
    return len(rows)


def _fulfil_fund_duty(uow, fund_code, fiscal_year, duty, quarter, on: date, at: datetime) -> None:
    """The earliest fulfilment wins, whatever order the events arrive in (live and rebuild agree)."""
    table = orm.fund_obligations
    uow.session.execute(
        update(table)
        .where(
            table.c.id == fund_obligation_id(fund_code, fiscal_year, duty, quarter),
            table.c.fulfilled_on.is_(None)
            | (table.c.fulfilled_on > on)
            | ((table.c.fulfilled_on == on) & (table.c.fulfilled_at > at)),
        )
        .values(fulfilled_on=on, fulfilled_at=at)
    )


def record_plan_duty(uow, event, report_days: int = DEFAULT_FINANCIAL_REPORT_DAYS) -> None:
    """PlanApproved: the fund has duties in that fiscal year, and the first approved plan clears the annual plan."""
    data = event.data
    ensure_fund_obligations(uow, _place(data), data["fiscal_year"], report_days)
    approved_on = date.fromisoformat(data["approved_on"])
    approved_at = _instant(data.get("approved_at")) or datetime(
        approved_on.year, approved_on.month, approved_on.day, tzinfo=BANGKOK
    )
    _fulfil_fund_duty(uow, data["fund_code"], data["fiscal_year"], "annual_plan", None, approved_on, approved_at)


def record_fund_report(uow, event, report_days: int = DEFAULT_FINANCIAL_REPORT_DAYS) -> None:
    """FundFinancialReportSubmitted clears that quarter's financial report (creating the year's duties if the
    report came before them)."""
    data = event.data
    ensure_fund_obligations(uow, _place(data), data["fiscal_year"], report_days)
    submitted_at = _instant(data["submitted_at"])
    on = submitted_at.astimezone(BANGKOK).date()
    _fulfil_fund_duty(
        uow, data["fund_code"], data["fiscal_year"], "quarterly_financial_report", data["quarter"], on, submitted_at
    )


def ensure_current_year(uow, today: date, report_days: int) -> int:
    """Every known fund owes the current fiscal year's duties (the timer, from the first day of the year)."""
    fiscal_year = fiscal_year_of(today)
    funds, table = orm.fund_facts, orm.fund_obligations
    has_year = exists().where(table.c.fund_code == funds.c.fund_code, table.c.fiscal_year == fiscal_year)
    missing = [
        {**_place(row), "fund_name": row["name_th"]}
        for row in uow.session.execute(select(funds).where(~has_year)).mappings()
    ]
    if not missing:
        return 0
    existing = set(uow.session.execute(select(table.c.id).where(table.c.fiscal_year == fiscal_year)).scalars())
    duties = fund_duties(fiscal_year, report_days)
    rows = [
        {
            "id": ident,
            **place,
            "fiscal_year": fiscal_year,
            "duty": duty,
            "quarter": quarter,
            "due_date": due,
            "notices_sent": "",
            "overdue_notices_sent": "",
        }
        for place in missing
        for duty, quarter, due in duties
        if (ident := fund_obligation_id(place["fund_code"], fiscal_year, duty, quarter)) not in existing
    ]
    if rows:
        uow.session.execute(table.insert(), rows)
    return len(rows)


def fund_obligations_to_check(session, today: date, horizon_days: int) -> list[str]:
    table = orm.fund_obligations
    limit = date.fromordinal(today.toordinal() + horizon_days)
    rows = session.execute(
        select(table.c.id)
        .where(table.c.due_date >= today, table.c.due_date <= limit, table.c.fulfilled_on.is_(None))
        .order_by(table.c.due_date, table.c.id)
    )
    return [row.id for row in rows]


def fund_overdue_to_check(session, today: date, steps) -> list[str]:
    table = orm.fund_obligations
    rows = session.execute(
        select(table.c.id, table.c.overdue_notices_sent)
        .where(
            table.c.due_date < today,
            table.c.fulfilled_on.is_(None),
            table.c.overdue_notices_sent != _text(steps),  # every step announced: nothing left to say
        )
        .order_by(table.c.due_date, table.c.id)
    )
    return [row.id for row in rows if not set(steps) <= _leads(row.overdue_notices_sent)]


def _fund_notice(row, **extra) -> dict:
    return {
        "obligation_id": row["id"],
        **{key: row[key] for key in _FUND_PLACE},
        "fiscal_year": row["fiscal_year"],
        "duty": row["duty"],
        "quarter": row["quarter"],
        "due_date": row["due_date"].isoformat(),
        **extra,
    }


def announce_fund_due(uow, obligation_id: str, today: date, leads) -> bool:
    """Publish FundReportDue for one fund duty if a lead time is reached; never twice (claimed by a row update
    in the same transaction as the event in the outbox)."""
    table = orm.fund_obligations
    row = uow.session.execute(select(table).where(table.c.id == obligation_id)).mappings().first()
    if row is None or row["fulfilled_on"] is not None:
        return False
    obligation = Obligation(row["id"], row["fund_code"], row["duty"], row["due_date"], _leads(row["notices_sent"]))
    notice = due_notice(obligation, today, leads)
    if notice is None:
        return False
    lead, now_sent = notice
    claimed = uow.session.execute(
        update(table)
        .where(table.c.id == obligation_id, table.c.notices_sent == row["notices_sent"])
        .values(notices_sent=_text(now_sent), last_notice_at=utcnow())
    )
    if claimed.rowcount != 1:
        return False
    uow.publish("FundReportDue", _fund_notice(row, days_before_due=lead), subject=row["fund_code"])
    log.info("fund %s: %s %s due %s, announced %d days ahead", row["fund_code"], row["duty"], row["quarter"],
             row["due_date"], lead)  # fmt: skip
    return True


def announce_fund_overdue(uow, obligation_id: str, today: date, steps) -> bool:
    """Publish FundReportOverdue for one fund duty if an overdue step is reached; never twice per step."""
    table = orm.fund_obligations
    row = uow.session.execute(select(table).where(table.c.id == obligation_id)).mappings().first()
    if row is None or row["fulfilled_on"] is not None:
        return False
    sent = _leads(row["overdue_notices_sent"])
    obligation = Obligation(row["id"], row["fund_code"], row["duty"], row["due_date"], overdue_sent=sent)
    notice = overdue_notice(obligation, today, steps)
    if notice is None:
        return False
    step, now_sent = notice
    claimed = uow.session.execute(
        update(table)
        .where(table.c.id == obligation_id, table.c.overdue_notices_sent == row["overdue_notices_sent"])
        .values(overdue_notices_sent=_text(now_sent), last_notice_at=utcnow())
    )
    if claimed.rowcount != 1:
        return False
    uow.publish("FundReportOverdue", _fund_notice(row, days_overdue=step), subject=row["fund_code"])
    log.info("fund %s: %s %s is %d days overdue", row["fund_code"], row["duty"], row["quarter"], step)
    return True


def remember_fund_notice(uow, event, leads, steps, report_days: int = DEFAULT_FINANCIAL_REPORT_DAYS) -> None:
    """FundReportDue / FundReportOverdue found in the history (a rebuild): the notice was sent.  The duty may
    have been created by the timer, not by an event: the notice itself says which fund and year it was."""
    data = event.data
    ensure_fund_obligations(uow, _place(data), data["fiscal_year"], report_days)
    table = orm.fund_obligations
    row = uow.session.execute(
        select(table.c.notices_sent, table.c.overdue_notices_sent).where(table.c.id == data["obligation_id"])
    ).first()
    if row is None:
        return
    if event.name == "FundReportDue":
        lead = data["days_before_due"]
        sent = _leads(row.notices_sent) | {value for value in leads if value >= lead} | {lead}
        values = {"notices_sent": _text(sent)}
    else:
        step = data["days_overdue"]
        sent = _leads(row.overdue_notices_sent) | {value for value in steps if value <= step} | {step}
        values = {"overdue_notices_sent": _text(sent)}
    uow.session.execute(update(table).where(table.c.id == data["obligation_id"]).values(**values))


def list_fund_obligations(session, filters: dict, today: date | None) -> list[dict]:
    """Fund duties by fund, area, fiscal year, duty and state (the states of ``list_obligations``)."""
    table = orm.fund_obligations
    filters = dict(filters)
    state = filters.pop("state", None) or "all"
    query = select(table).order_by(table.c.due_date, table.c.id)
    for key in ("fund_code", "province", "district", "region", "fiscal_year", "duty"):
        if filters.get(key) is not None:
            query = query.where(getattr(table.c, key) == filters[key])
    if state in ("open", "due", "overdue"):
        query = query.where(table.c.fulfilled_on.is_(None))
    if state == "due":
        query = query.where(table.c.due_date >= today)
    if state == "overdue":
        query = query.where(table.c.due_date < today)
    if state in ("fulfilled", "late"):
        query = query.where(table.c.fulfilled_on.is_not(None))
    if state == "late":
        query = query.where(table.c.fulfilled_on > table.c.due_date)
    if filters.get("limit"):
        query = query.limit(filters["limit"])
    items = []
    for row in session.execute(query).mappings():
        fulfilled = row["fulfilled_at"]
        items.append(
            {
                "id": row["id"],
                "kind": "fund",
                "project_id": None,
                "project_title": None,
                "fund_code": row["fund_code"],
                "fund_name": row["fund_name"],
                "province": row["province"],
                "district": row["district"],
                "region": row["region"],
                "report": None,
                "period": None,
                "duty": row["duty"],
                "fiscal_year": row["fiscal_year"],
                "quarter": row["quarter"],
                "label_th": fund_duty_label(row["duty"], row["fiscal_year"], row["quarter"]),
                "due_date": row["due_date"].isoformat(),
                "due_date_th": thai_date(row["due_date"]),
                "notices_sent": sorted(_leads(row["notices_sent"]), reverse=True),
                "overdue_notices_sent": sorted(_leads(row["overdue_notices_sent"])),
                "fulfilled_at": fulfilled.isoformat() if fulfilled else None,
                "fulfilled_on": row["fulfilled_on"].isoformat() if row["fulfilled_on"] else None,
                "days_overdue": (today - row["due_date"]).days
                if today and row["fulfilled_on"] is None and row["due_date"] < today
                else 0,
            }
        )
    return items


# ------------------------------------------------------------------ a fund's money: spending pace, idle balance

_MONEY = orm.fund_money
_MONEY_COLUMNS = ("income", "committed", "spent_q1", "spent_q2", "spent_q3", "spent_q4", "spent_q5")
_ADD_MONEY = (
    update(_MONEY)
    .where(_MONEY.c.fund_code == bindparam("k_fund_code"), _MONEY.c.fiscal_year == bindparam("k_fiscal_year"))
    .values(**{name: getattr(_MONEY.c, name) + bindparam(f"d_{name}") for name in _MONEY_COLUMNS})
)


def _add_money(uow, data: dict, **deltas: int) -> None:
    """Add to a fund's money of a fiscal year.  A rebuild collects the sums in memory (``uow.money_batch``) and
    writes them once at the end: the same numbers, one insert per fund and year instead of one per event."""
    key = (data["fund_code"], data["fiscal_year"])
    batch = getattr(uow, "money_batch", None)
    if batch is not None:
        entry = batch.get(key)
        if entry is None:
            entry = batch[key] = {**_place(data), "fiscal_year": key[1], **dict.fromkeys(_MONEY_COLUMNS, 0)}
        for name, value in deltas.items():
            entry[name] += value
        return
    full = {name: deltas.get(name, 0) for name in _MONEY_COLUMNS}
    changed = uow.session.execute(
        _ADD_MONEY,
        {"k_fund_code": key[0], "k_fiscal_year": key[1], **{f"d_{name}": value for name, value in full.items()}},
    ).rowcount
    if changed == 0:
        uow.session.execute(_MONEY.insert().values(**_place(data), fiscal_year=key[1], **full))


def flush_money_batch(uow) -> None:
    batch = getattr(uow, "money_batch", None)
    if batch:
        uow.session.execute(_MONEY.insert(), list(batch.values()))
        batch.clear()


def record_ledger_entry(uow, event) -> None:
    """LedgerEntryRecorded: income and refunds add to the year's income; a disbursement is spent in the quarter
    of its date, and one paid against a commitment leaves the committed money."""
    data = event.data
    amount = data["amount_satang"]
    if data["kind"] in ("income", "refund"):
        _add_money(uow, data, income=amount)
        return
    quarter = quarter_of(data["fiscal_year"], date.fromisoformat(data["entry_date"]))
    deltas = {f"spent_q{quarter}": amount}
    if data.get("commitment_id"):
        deltas["committed"] = -amount
    _add_money(uow, data, **deltas)


def record_commitment(uow, event) -> None:
    _add_money(uow, event.data, committed=event.data["amount_satang"])


def record_release(uow, event) -> None:
    _add_money(uow, event.data, committed=-event.data["amount_satang"])


def _baht(satang: int | None) -> str | None:
    if satang is None:
        return None
    sign = "-" if satang < 0 else ""
    whole, fraction = divmod(abs(satang), 100)
    return f"{sign}{whole}.{fraction:02d}"


_AREA_FILTERS = ("fund_code", "subdistrict", "district", "province", "region")


def fund_years(session, filters: dict) -> list[dict]:
    """Every fund × fiscal year with money under the area filters, with its carried balance (folded from the
    fund's earlier years, as the funds service does), money, spent, committed and available."""
    query = select(_MONEY).order_by(_MONEY.c.fund_code, _MONEY.c.fiscal_year)
    for key in _AREA_FILTERS:
        if filters.get(key) is not None:
            query = query.where(getattr(_MONEY.c, key) == filters[key])
    by_fund: dict[str, list[dict]] = {}
    for row in session.execute(query).mappings():
        by_fund.setdefault(row["fund_code"], []).append(dict(row))
    years = []
    for rows in by_fund.values():
        totals = {}
        for row in rows:
            row["spent"] = sum(row[f"spent_q{quarter}"] for quarter in range(1, 6))
            totals[row["fiscal_year"]] = (row["income"], row["committed"], row["spent"])
        carried = carried_balances(totals)
        for row in rows:
            row["carried"] = carried[row["fiscal_year"]]
            row["money"] = row["carried"] + row["income"]
            row["available"] = row["money"] - row["committed"] - row["spent"]
            if filters.get("fiscal_year") is None or row["fiscal_year"] == filters["fiscal_year"]:
                years.append(row)
    return years


def _fund_part(row: dict) -> dict:
    return {key: row[key] for key in (*_FUND_PLACE, "fiscal_year")}


def _page(items: list, filters: dict) -> dict:
    page, per_page = filters.get("page") or 1, filters.get("per_page") or 50
    start = (page - 1) * per_page
    return {"items": items[start : start + per_page], "page": page, "per_page": per_page, "total": len(items)}


def _rollup(items: list[dict], group_by: str | None, flag: str) -> list[dict] | None:
    """Funds and flagged funds per area (and fiscal year)."""
    if group_by is None:
        return None
    groups: dict = {}
    for item in items:
        key = (item[group_by], item["fiscal_year"])
        group = groups.setdefault(key, {"key": key[0], "fiscal_year": key[1], "funds": 0, flag: 0})
        group["funds"] += 1
        group[flag] += 1 if item[flag] else 0
    return [groups[key] for key in sorted(groups, key=lambda key: (str(key[0]), key[1]))]


def spending_pace_report(session, filters: dict, as_of: date, thresholds=DEFAULT_PACE_PERCENTS) -> dict:
    """Spending pace per fund × fiscal year as of a day: spent by the end of each ended quarter (Q2, Q3, Q4)
    against the year's money (carried balance + income, as the funds service's rule); ``behind`` when the latest
    ended quarter is under its threshold."""
    items = []
    for row in fund_years(session, filters):
        spent_by_quarter = {quarter: row[f"spent_q{quarter}"] for quarter in range(1, 6)}
        checks = spending_pace(row["fiscal_year"], row["money"], spent_by_quarter, as_of, thresholds)
        latest = checks[-1] if checks else None
        item = {
            **_fund_part(row),
            "income": _baht(row["income"]),
            "carried": _baht(row["carried"]),
            "money": _baht(row["money"]),
            "spent": _baht(row["spent"]),
            "committed": _baht(row["committed"]),
            "quarters": [
                {
                    "quarter": check.quarter,
                    "ends_on": check.ends_on.isoformat(),
                    "threshold_percent": check.threshold_percent,
                    "spent": _baht(check.spent),
                    "spent_percent": check.percent,
                    "behind": check.behind,
                }
                for check in checks
            ],
            "evaluated_quarter": latest.quarter if latest else None,
            "spent_percent": latest.percent if latest else None,
            "threshold_percent": latest.threshold_percent if latest else None,
            "behind": bool(latest and latest.behind),
        }
        if filters.get("behind") is None or item["behind"] == filters["behind"]:
            items.append(item)
    result = {"as_of": as_of.isoformat(), **_page(items, filters)}
    groups = _rollup(items, filters.get("group_by"), "behind")
    if groups is not None:
        result["group_by"], result["groups"] = filters["group_by"], groups
    return result


def idle_balance_report(session, filters: dict, max_percent: int = DEFAULT_IDLE_MAX_PERCENT) -> dict:
    """Available money (neither committed nor spent) per fund × fiscal year; ``flagged`` above ``max_percent`` of
    the year's money (carried balance + income), exactly as the funds service's idle_balance check."""
    items = []
    for row in fund_years(session, filters):
        item = {
            **_fund_part(row),
            "income": _baht(row["income"]),
            "carried": _baht(row["carried"]),
            "money": _baht(row["money"]),
            "committed": _baht(row["committed"]),
            "spent": _baht(row["spent"]),
            "available": _baht(row["available"]),
            "available_percent": percent_text(row["available"], row["money"]),
            "threshold_percent": max_percent,
            "flagged": idle_flagged(row["available"], row["money"], max_percent),
        }
        if filters.get("flagged") is None or item["flagged"] == filters["flagged"]:
            items.append(item)
    result = _page(items, filters)
    groups = _rollup(items, filters.get("group_by"), "flagged")
    if groups is not None:
        result["group_by"], result["groups"] = filters["group_by"], groups
    return result


# ------------------------------------------------------------------ mentors per fund


def record_mentor(uow, event) -> None:
    """MentorAssigned: one row per mentor and fund (a redelivery or a second assignment adds nothing)."""
    data = event.data
    table = orm.mentor_assignments
    exists = uow.session.execute(
        select(table.c.mentor_id).where(table.c.mentor_id == data["mentor_id"], table.c.fund_code == data["fund_code"])
    ).first()
    if exists is None:
        uow.session.execute(
            table.insert().values(
                mentor_id=data["mentor_id"],
                mentor_name=data["mentor_name"],
                level=data["level"],
                **_place(data),
                assigned_at=_instant(data["assigned_at"]),
            )
        )
    _remember_fund(uow, data["fund_code"], data["fund_name"], data)


def mentors_report(session, filters: dict, max_funds: int = DEFAULT_MENTOR_MAX_FUNDS) -> dict:
    """Mentors per fund (every known fund under the filters, with or without a mentor), the funds without one,
    the mentors with more than ``max_funds`` funds, and per-area counts when ``group_by`` is given."""
    funds, table = orm.fund_facts, orm.mentor_assignments
    known: dict[str, dict] = {}
    query = select(funds).order_by(funds.c.fund_code)
    for key in _AREA_FILTERS:
        if filters.get(key) is not None:
            query = query.where(getattr(funds.c, key) == filters[key])
    for row in session.execute(query).mappings():
        known[row["fund_code"]] = {**_place(row), "fund_name": row["name_th"], "mentors": []}
    assignments = select(table).order_by(table.c.fund_code, table.c.mentor_name, table.c.mentor_id)
    for key in _AREA_FILTERS:
        if filters.get(key) is not None:
            assignments = assignments.where(getattr(table.c, key) == filters[key])
    by_mentor: dict[str, dict] = {}
    for row in session.execute(assignments).mappings():
        fund = known.setdefault(row["fund_code"], {**_place(row), "mentors": []})
        fund["mentors"].append(
            {
                "mentor_id": row["mentor_id"],
                "mentor_name": row["mentor_name"],
                "level": row["level"],
                "level_th": LABELS["level"][row["level"]],
            }
        )
        mentor = by_mentor.setdefault(
            row["mentor_id"],
            {"mentor_id": row["mentor_id"], "mentor_name": row["mentor_name"], "level": row["level"], "funds": []},
        )
        mentor["funds"].append(row["fund_code"])
    items = []
    for code in sorted(known):
        fund = known[code]
        fund["mentor_count"] = len(fund["mentors"])
        if filters.get("without_mentor") is None or (fund["mentor_count"] == 0) == filters["without_mentor"]:
            items.append(fund)
    overloaded = [
        {**mentor, "fund_count": len(mentor["funds"])}
        for mentor in sorted(by_mentor.values(), key=lambda mentor: (mentor["mentor_name"], mentor["mentor_id"]))
        if len(mentor["funds"]) > max_funds
    ]
    result = {
        **_page(items, filters),
        "funds": len(known),
        "mentors": len(by_mentor),
        "funds_without_mentor": sorted(code for code, fund in known.items() if not fund["mentors"]),
        "max_funds_per_mentor": max_funds,
        "mentors_over_limit": overloaded,
    }
    group_by = filters.get("group_by")
    if group_by is not None:
        groups: dict = {}
        for fund in known.values():
            group = groups.setdefault(
                fund[group_by], {"key": fund[group_by], "funds": 0, "funds_without_mentor": 0, "assignments": 0}
            )
            group["funds"] += 1
            group["funds_without_mentor"] += 0 if fund["mentors"] else 1
            group["assignments"] += len(fund["mentors"])
        result["group_by"] = group_by
        result["groups"] = [groups[key] for key in sorted(groups, key=str)]
    return result


REPLAY = replay_table()  # with the default rules (what the live handlers do, by event type)
