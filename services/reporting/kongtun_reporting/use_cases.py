"""Use cases of the reporting service: read models and report obligations."""

from __future__ import annotations

import logging
import uuid
from datetime import date

from sqlalchemy import bindparam, func, select, update

from kongtun_common.engine import utcnow

from . import orm
from .domain import Obligation, advances, due_notice

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
_SELECT_FACT_STATUS = select(_FACTS.c.status).where(_FACTS.c.project_id == bindparam("project_id"))
_UPDATE_FACTS = update(_FACTS).where(_FACTS.c.project_id == bindparam("b_project_id"))


def record_project(uow, event, status: str) -> None:
    """Upsert a project's facts from ProjectSubmitted or ProjectApproved."""
    data = event.data
    current = uow.session.execute(_SELECT_FACT_STATUS, {"project_id": data["project_id"]}).scalar()
    if not advances(current, status):
        return
    values = {
        "fund_code": data["fund_code"],
        **{key: data[key] for key in AREA},
        "fiscal_year": data["fiscal_year"],
        "issue": data["issue"],
        "spending_type": data["spending_type"],
        "owner_kind": data["owner"]["kind"],
        "status": status,
        "requested_amount": data["requested_amount_satang"],
        "approved_amount": data.get("approved_amount_satang"),
    }
    if current is None:
        uow.session.execute(_FACTS.insert(), {"project_id": data["project_id"], **values})
    else:
        uow.session.execute(_UPDATE_FACTS, {"b_project_id": data["project_id"], **values})


def revert_approval(uow, event) -> None:
    """The fund refused the budget (ProjectApprovalRevoked): the project counts as submitted again, owes nothing."""
    data = event.data
    uow.session.execute(
        _UPDATE_FACTS,
        {"b_project_id": data["project_id"], "status": "submitted", "approved_amount": None},
    )
    uow.session.execute(orm.obligations.delete().where(orm.obligations.c.project_id == data["project_id"]))


def fulfil_obligation(uow, event) -> None:
    """A submitted report (ReportSubmitted) clears its obligation: no more notices for it."""
    data = event.data
    table = orm.obligations
    uow.session.execute(
        update(table)
        .where(
            table.c.project_id == data["project_id"],
            table.c.report == data["report"],
            table.c.period == data["period"],
            table.c.fulfilled_at.is_(None),
        )
        .values(fulfilled_at=utcnow())
    )


def register_obligations(uow, event) -> None:
    """Each report a newly approved project owes becomes an obligation."""
    data = event.data
    for due in data["reports_due"]:
        uow.session.execute(
            orm.obligations.insert().values(
                id=str(uuid.uuid4()),
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
        log.info("project %s owes its %s report by %s", data["project_id"], due["report"], due["due_date"])


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
        .values(notices_sent=",".join(str(value) for value in sorted(now_sent)), last_notice_at=utcnow())
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


def _leads(text: str) -> frozenset[int]:
    return frozenset(int(value) for value in text.split(",") if value)


def summary(session, filters: dict) -> dict:
    facts = orm.project_facts
    funds = orm.fund_facts
    project_conditions = [getattr(facts.c, key) == value for key, value in filters.items() if value is not None]
    fund_conditions = [
        getattr(funds.c, key) == value for key, value in filters.items() if value is not None and key in AREA
    ]
    fund_count = session.execute(select(func.count()).select_from(funds).where(*fund_conditions)).scalar()
    rows = session.execute(
        select(
            facts.c.status,
            func.count(),
            func.coalesce(func.sum(facts.c.requested_amount), 0),
            func.coalesce(func.sum(facts.c.approved_amount), 0),
        )
        .where(*project_conditions)
        .group_by(facts.c.status)
    ).all()
    by_status = {status: count for status, count, _requested, _approved in rows}
    return {
        "funds": fund_count,
        "projects": sum(by_status.values()),
        "projects_by_status": by_status,
        "requested_amount": sum(int(requested) for _s, _c, requested, _a in rows),
        "approved_amount": sum(int(approved) for _s, _c, _r, approved in rows),
    }


def list_obligations(session, project_id: str | None) -> list[dict]:
    table = orm.obligations
    query = select(table).order_by(table.c.due_date)
    if project_id:
        query = query.where(table.c.project_id == project_id)
    return [
        {
            "id": row["id"],
            "project_id": row["project_id"],
            "project_title": row["project_title"],
            "fund_code": row["fund_code"],
            "report": row["report"],
            "period": row["period"],
            "due_date": row["due_date"].isoformat(),
            "notices_sent": sorted(_leads(row["notices_sent"]), reverse=True),
            "fulfilled_at": row["fulfilled_at"].isoformat() if row["fulfilled_at"] else None,
        }
        for row in session.execute(query).mappings()
    ]
