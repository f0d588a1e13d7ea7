"""Fund-level duties (annual plan, quarterly financial reports): obligations like the projects' reports, same
notices, same "never twice" claim.  Created per fiscal year, fulfilled by plans and financial reports, announced
when due and overdue (FundReportDue, FundReportOverdue)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import exists, select, update

from kongtun_common.thai import BANGKOK, thai_date

from .. import orm
from ..domain import (
    DEFAULT_FINANCIAL_REPORT_DAYS,
    DEFAULT_OVERDUE_WINDOW_DAYS,
    Obligation,
    due_notice,
    fiscal_year_of,
    fund_duties,
    oldest_announced_due_date,
    overdue_notice,
)
from .base import _FUND_PLACE, LABELS, _claim_notice, _instant, _leads, _place, _text, log

FUND_OBLIGATION_NAMESPACE = uuid.UUID("0b6f1a52-7d3e-4f0a-8e21-3c9d5a4b7e60")


def fund_obligation_id(fund_code: str, fiscal_year: int, duty: str, quarter: int | None) -> str:
    """Stable: the same duty has the same id live, after a rebuild and whoever created it first."""
    return str(uuid.uuid5(FUND_OBLIGATION_NAMESPACE, f"{fund_code}/{fiscal_year}/{duty}/{quarter or 0}"))


def fund_duty_label(duty: str, fiscal_year: int, quarter: int | None) -> str:
    """Thai, for people: "รายงานการเงินรายไตรมาส ไตรมาสที่ 1 ปีงบประมาณ 2567"."""
    label = LABELS["duty"][duty]
    if quarter:
        label += f" ไตรมาสที่ {quarter}"
    return f"{label} ปีงบประมาณ {fiscal_year}"


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


def fund_overdue_to_check(session, today: date, steps, window_days: int = DEFAULT_OVERDUE_WINDOW_DAYS) -> list[str]:
    table = orm.fund_obligations
    statement = select(table.c.id, table.c.overdue_notices_sent).where(
        table.c.due_date < today,
        table.c.fulfilled_on.is_(None),
        table.c.overdue_notices_sent != _text(steps),  # every step announced: nothing left to say
    )
    oldest = oldest_announced_due_date(today, window_days)
    if oldest is not None:
        statement = statement.where(table.c.due_date >= oldest)
    rows = session.execute(statement.order_by(table.c.due_date, table.c.id))
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
    if not _claim_notice(uow.session, table, row, "notices_sent", now_sent):
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
    if not _claim_notice(uow.session, table, row, "overdue_notices_sent", now_sent):
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
