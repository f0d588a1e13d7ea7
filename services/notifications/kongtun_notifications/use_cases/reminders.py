"""Events consumed: report and fund-duty reminders, project news, each decided in the event's transaction."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update

from kongtun_common.thai import BANGKOK

from .. import domain, orm
from .recipients import as_invitees, fan_out_webhooks, notify, owner_invitees, recipients_with


def _record_notice(session, data: dict, status: str, now: datetime) -> None:
    values = {
        "project_id": data["project_id"],
        "project_title": data["project_title"],
        "fund_code": data["fund_code"],
        "fund_name": data["fund_name"],
        "district": data["district"],
        "province": data["province"],
        "report": data["report"],
        "due_date": date.fromisoformat(data["due_date"]),
        "owner_name": data["owner"]["name"],
        "owner_contact": data["owner"].get("contact", ""),
        "status": status,
        "days_overdue": data.get("days_overdue", 0),
        "updated_at": now,
    }
    table = orm.report_notices
    existing = session.execute(
        select(table.c.status).where(table.c.obligation_id == data["obligation_id"])
    ).scalar_one_or_none()
    if existing is None:
        session.execute(table.insert().values(obligation_id=data["obligation_id"], **values))
    elif not (existing == "overdue" and status == "due"):  # an overdue report never goes back to "due"
        session.execute(update(table).where(table.c.obligation_id == data["obligation_id"]).values(**values))


def on_report_due(uow, event, now: datetime) -> None:
    """ReportDue → the project's owner and the fund's mentors, each in their language."""
    data = event.data
    today = now.astimezone(BANGKOK).date()
    _record_notice(uow.session, data, "due", now)
    people = owner_invitees(uow.session, data["fund_code"], data["owner"])
    people += as_invitees(recipients_with(uow.session, [data["fund_code"]], ["mentor"]), [data["fund_code"]])
    for invitee in people:
        role = "owner" if invitee.role == "owner" else "mentor"
        message = domain.report_due_message(data, today, invitee.name, invitee.language, role)
        notify(
            uow,
            now,
            kind="ReportDue",
            source_key=event.id,
            invitee=invitee,
            message=message,
            event_id=event.id,
            project_id=data["project_id"],
        )
    fan_out_webhooks(
        uow,
        now,
        event_type="ReportDue",
        source_key=event.id,
        fund_codes=[data["fund_code"]],
        data=data,
        occurred_at=event.time,
    )


def on_report_overdue(uow, event, now: datetime) -> None:
    data = event.data
    _record_notice(uow.session, data, "overdue", now)
    people = owner_invitees(uow.session, data["fund_code"], data["owner"])
    people += as_invitees(recipients_with(uow.session, [data["fund_code"]], ["mentor"]), [data["fund_code"]])
    for invitee in people:
        role = "owner" if invitee.role == "owner" else "mentor"
        message = domain.report_overdue_message(data, invitee.name, invitee.language, role)
        notify(
            uow,
            now,
            kind="ReportOverdue",
            source_key=event.id,
            invitee=invitee,
            message=message,
            event_id=event.id,
            project_id=data["project_id"],
        )
    fan_out_webhooks(
        uow,
        now,
        event_type="ReportOverdue",
        source_key=event.id,
        fund_codes=[data["fund_code"]],
        data=data,
        occurred_at=event.time,
    )


def _tell_fund_people(uow, event, now: datetime, kind: str, source_key: str, roles, message_for) -> None:
    """One message per person holding one of ``roles`` in the fund (each once, whatever roles they hold)."""
    data = event.data
    fund = data["fund_code"]
    for invitee in as_invitees(recipients_with(uow.session, [fund], roles), [fund]):
        notify(
            uow,
            now,
            kind=kind,
            source_key=source_key,
            invitee=invitee,
            message=message_for(invitee),
            event_id=event.id,
        )
    fan_out_webhooks(
        uow, now, event_type=kind, source_key=source_key, fund_codes=[fund], data=data, occurred_at=event.time
    )


def on_fund_report_due(uow, event, now: datetime) -> None:
    """FundReportDue → the fund's officer and committee, each in their language.

    Keyed by the obligation and its lead time (not the event id): the same notice, delivered or published
    again, tells nobody twice.
    """
    data = event.data
    today = now.astimezone(BANGKOK).date()
    _tell_fund_people(
        uow,
        event,
        now,
        "FundReportDue",
        f"FundReportDue:{data['obligation_id']}:{data['days_before_due']}",
        domain.FUND_PEOPLE,
        lambda invitee: domain.fund_report_due_message(data, today, invitee.name, invitee.language),
    )


def on_fund_report_overdue(uow, event, now: datetime) -> None:
    """FundReportOverdue → the fund's officer and committee, and its mentors (to follow it up)."""
    data = event.data
    _tell_fund_people(
        uow,
        event,
        now,
        "FundReportOverdue",
        f"FundReportOverdue:{data['obligation_id']}:{data['days_overdue']}",
        (*domain.FUND_PEOPLE, "mentor"),
        lambda invitee: domain.fund_report_overdue_message(data, invitee.name, invitee.language, invitee.role),
    )


def on_project_submitted(uow, event, now: datetime) -> None:
    """ProjectSubmitted → the fund's officer and committee."""
    data = event.data
    fund = data["fund_code"]
    for invitee in as_invitees(recipients_with(uow.session, [fund], ["officer", "committee", "chair"]), [fund]):
        message = domain.project_submitted_message(data, invitee.name, invitee.language)
        notify(
            uow,
            now,
            kind="ProjectSubmitted",
            source_key=event.id,
            invitee=invitee,
            message=message,
            event_id=event.id,
            project_id=data["project_id"],
        )
    fan_out_webhooks(
        uow,
        now,
        event_type="ProjectSubmitted",
        source_key=event.id,
        fund_codes=[fund],
        data=data,
        occurred_at=event.time,
    )


def on_project_decided(uow, event, now: datetime) -> None:
    """ProjectApproved / ProjectRevisionRequested / ProjectRejected → the proposer."""
    data = event.data
    kind = event.type.split(".")[1]
    for invitee in owner_invitees(uow.session, data["fund_code"], data["owner"]):
        message = domain.project_decision_message(kind, data, invitee.name, invitee.language)
        notify(
            uow,
            now,
            kind=kind,
            source_key=event.id,
            invitee=invitee,
            message=message,
            event_id=event.id,
            project_id=data["project_id"],
        )
    fan_out_webhooks(
        uow,
        now,
        event_type=kind,
        source_key=event.id,
        fund_codes=[data["fund_code"]],
        data=data,
        occurred_at=event.time,
    )
