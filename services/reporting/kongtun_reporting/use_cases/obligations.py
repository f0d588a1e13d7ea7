"""Project report obligations: registered on approval, fulfilled by submitted reports, announced when due and
overdue (ReportDue, ReportOverdue), listed with the fund duties."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import bindparam, select, update

from kongtun_common.engine import utcnow
from kongtun_common.thai import BANGKOK, thai_date

from .. import orm
from ..domain import DEFAULT_OVERDUE_WINDOW_DAYS, Obligation, due_notice, oldest_announced_due_date, overdue_notice
from .base import AREA, LABELS, _claim_notice, _instant, _leads, _text, log
from .fund_obligations import list_fund_obligations
from .projects import record_project

OBLIGATION_NAMESPACE = uuid.UUID("5d0f3c8e-2b1a-4c4e-9a57-6f1f0b7c2d11")


# Statements built once: building them per event costs more than running them (rebuild profile).
_OBLIGATION_KNOWN = select(orm.obligations.c.id).where(orm.obligations.c.id == bindparam("b_id"))


_SUBMITTED_AT = select(orm.submitted_reports.c.submitted_at).where(
    orm.submitted_reports.c.project_id == bindparam("b_project_id"),
    orm.submitted_reports.c.report == bindparam("b_report"),
    orm.submitted_reports.c.period == bindparam("b_period"),
)


def drop_open_obligations(uow, event) -> None:
    """A cancelled project owes no more reports (those already in stay as the record)."""
    table = orm.obligations
    uow.session.execute(
        table.delete().where(table.c.project_id == event.data["project_id"], table.c.fulfilled_at.is_(None))
    )


def cancel_project(uow, event) -> None:
    record_project(uow, event)
    drop_open_obligations(uow, event)


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
    if not _claim_notice(uow.session, table, row, "notices_sent", now_sent):  # another process announced it first
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


def overdue_to_check(session, today: date, steps, window_days: int = DEFAULT_OVERDUE_WINDOW_DAYS) -> list[str]:
    """Unfulfilled obligations past their due date (within the announcing window) whose last overdue step has not
    been announced."""
    table = orm.obligations
    statement = select(table.c.id, table.c.overdue_notices_sent).where(
        table.c.due_date < today, table.c.fulfilled_at.is_(None)
    )
    oldest = oldest_announced_due_date(today, window_days)
    if oldest is not None:
        statement = statement.where(table.c.due_date >= oldest)
    rows = session.execute(statement.order_by(table.c.due_date))
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
    if not _claim_notice(uow.session, table, row, "overdue_notices_sent", now_sent):
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
