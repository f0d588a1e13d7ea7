"""Use cases of the reporting service: read models and report obligations."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import String, bindparam, func, literal, select, update

from kongtun_common.engine import utcnow

from . import orm
from .domain import STATUS_AFTER, Obligation, due_notice, overdue_notice, plan_coverage, supersedes

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


def record_fund(uow, event) -> None:
    data = event.data
    exists = uow.session.execute(
        select(orm.fund_facts.c.fund_code).where(orm.fund_facts.c.fund_code == data["fund_code"])
    ).first()
    if exists is None:
        uow.session.execute(
            orm.fund_facts.insert().values(
                fund_code=data["fund_code"], name_th=data["name_th"], **{key: data[key] for key in AREA}
            )
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
    """Add (sign 1) or take out (sign -1) one project's facts from the running totals."""
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
    funds = orm.fund_facts
    if uow.session.execute(select(funds.c.fund_code).where(funds.c.fund_code == fund_code)).first() is None:
        uow.session.execute(
            funds.insert().values(fund_code=fund_code, name_th=name, **{key: data[key] for key in AREA})
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
        if uow.session.execute(select(table.c.id).where(table.c.id == ident)).first() is not None:
            continue  # a re-approval owes what the first approval owed
        uow.session.execute(
            orm.obligations.insert().values(
                id=ident,
                project_id=data["project_id"],
                report=due["report"],
                period=due.get("period", 1),
                due_date=date.fromisoformat(due["due_date"]),
                project_title=data["title"],
                fund_code=data["fund_code"],
                fund_name=data["fund_name"],
                **{key: data[key] for key in AREA},
                owner_name=data["owner"]["name"],
                owner_kind=data["owner"]["kind"],
                owner_contact=data["owner"].get("contact") or "",
                notices_sent="",
            )
        )
        reports = orm.submitted_reports
        submitted = uow.session.execute(
            select(reports.c.submitted_at).where(
                reports.c.project_id == data["project_id"],
                reports.c.report == due["report"],
                reports.c.period == due.get("period", 1),
            )
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


def list_obligations(session, project_id: str | None, filters: dict | None = None, today: date | None = None) -> list:
    """Obligations, optionally by project, fund or area and by state: ``due`` (open, not yet past due),
    ``overdue`` (open, past due), ``fulfilled``, ``late`` (fulfilled after the due date), ``open`` or ``all``."""
    table = orm.obligations
    filters = dict(filters or {})
    state = filters.pop("state", None) or "all"
    limit = filters.pop("limit", None)
    query = select(table).order_by(table.c.due_date, table.c.id)
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
                "project_id": row["project_id"],
                "project_title": row["project_title"],
                "fund_code": row["fund_code"],
                "province": row["province"],
                "district": row["district"],
                "report": row["report"],
                "period": row["period"],
                "due_date": row["due_date"].isoformat(),
                "notices_sent": sorted(_leads(row["notices_sent"]), reverse=True),
                "overdue_notices_sent": sorted(_leads(row["overdue_notices_sent"])),
                "fulfilled_at": fulfilled.isoformat() if fulfilled else None,
                "days_overdue": (today - row["due_date"]).days
                if today and not fulfilled and row["due_date"] < today
                else 0,
            }
        )
    return items


# What each event type does to the read models: the live handlers run the same functions, one queue each.
REPLAY = {
    "FundRegistered": (record_fund,),
    "FundJoinedProgramme": (record_programme_member,),
    "PlanApproved": (record_plan,),
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
}


def rebuild(uow, leads, steps, batch: int = 5000, progress=None) -> int:
    """Empty the read models and replay the whole event history through the same use cases, in the order it
    was received; the notices reporting itself sent (ReportDue, ReportOverdue, also in the history) mark
    what was announced, so a rebuild announces nothing again.  Returns the number of events replayed."""
    from kongtun_common.events.envelope import Event

    for name in orm.READ_MODELS:
        uow.session.execute(orm.metadata.tables[name].delete())
    history = orm.event_history
    after = None
    replayed = 0
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
            return replayed
        for row in rows:
            event = Event.from_envelope(row.envelope)
            if event.name in ("ReportDue", "ReportOverdue"):
                remember_notice(uow, event, leads, steps)
            for use_case in REPLAY.get(event.name, ()):
                use_case(uow, event)
            replayed += 1
        after = (rows[-1].received_at, rows[-1].event_id)
        if progress:
            progress(replayed)


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
