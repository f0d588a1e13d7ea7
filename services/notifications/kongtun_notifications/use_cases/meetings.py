"""Follow-up meetings: series, reminders, rescheduling, attendance, minutes and agendas, calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, delete, func, or_, select, update

from kongtun_common.errors import Conflict, InvalidInput, NotFound
from kongtun_common.thai import BANGKOK

from .. import domain, orm
from ..domain import Invitee, MeetingView
from .base import MAIL_DOMAIN, new_id
from .recipients import as_invitees, fan_out_webhooks, notify, owner_invitees, recipients_with


def _series_row(session, series_id: str):
    row = session.execute(select(orm.meeting_series).where(orm.meeting_series.c.id == series_id)).mappings().first()
    if row is None:
        raise NotFound("meeting series", series_id, field="series_id")
    return row


def _meeting_row(session, meeting_id: str):
    row = session.execute(select(orm.meetings).where(orm.meetings.c.id == meeting_id)).mappings().first()
    if row is None:
        raise NotFound("meeting", meeting_id, field="meeting_id")
    return row


def meeting_view(row, series) -> MeetingView:
    return MeetingView(
        id=row["id"],
        number=row["number"],
        title=series["title"],
        committee_kind=series["committee_kind"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        place=row["place"],
        status=row["status"],
        sequence=row["sequence"],
        reason=row["reason"] or "",
    )


def series_out(row) -> dict:
    return {
        "id": row["id"],
        "committee_code": row["committee_code"],
        "committee_kind": row["committee_kind"],
        "title": row["title"],
        "cadence_months": row["cadence_months"],
        "day_of_month": row["day_of_month"],
        "start_time": row["start_time"],
        "duration_minutes": row["duration_minutes"],
        "place": row["place"],
        "first_date": row["first_date"].isoformat(),
        "first_number": row["first_number"],
        "fund_codes": list(row["fund_codes"]),
        "district": row["district"],
        "province": row["province"],
        "reminder_days": list(row["reminder_days"]),
        "quorum": row["quorum"],
    }


def create_series(uow, data: dict, now: datetime, count: int) -> dict:
    """A meeting series and its first ``count`` meetings (numbered from ``first_number``), invitations and reminders."""
    series_id = new_id()
    first_date = data["first_date"]
    values = {
        "id": series_id,
        "committee_code": data["committee_code"],
        "committee_kind": data["committee_kind"],
        "title": data["title"],
        "cadence_months": data["cadence_months"],
        "day_of_month": data.get("day_of_month") or first_date.day,
        "start_time": data["start_time"],
        "duration_minutes": data["duration_minutes"],
        "place": data["place"],
        "first_date": first_date,
        "first_number": data["first_number"],
        "fund_codes": sorted(set(data.get("fund_codes", []))),
        "district": data.get("district"),
        "province": data.get("province"),
        "reminder_days": sorted(set(data.get("reminder_days", [7, 1])), reverse=True),
        "quorum": data.get("quorum"),
        "created_at": now,
    }
    uow.session.execute(orm.meeting_series.insert().values(**values))
    extend_series(uow, series_id, count, now)
    return get_series(uow.session, series_id)


def extend_series(uow, series_id: str, count: int, now: datetime) -> list[dict]:
    """Schedule the next ``count`` meetings of a series by its cadence."""
    series = _series_row(uow.session, series_id)
    table = orm.meetings
    existing = uow.session.execute(
        select(func.count()).select_from(table).where(table.c.series_id == series_id)
    ).scalar()
    dates = domain.series_dates(
        series["first_date"], series["cadence_months"], series["day_of_month"], existing + count
    )[existing:]
    at = time.fromisoformat(series["start_time"])
    created = []
    for offset, day in enumerate(dates):
        starts_at = domain.meeting_start(day, at)
        meeting_id = new_id()
        uow.session.execute(
            table.insert().values(
                id=meeting_id,
                series_id=series_id,
                number=series["first_number"] + existing + offset,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=series["duration_minutes"]),
                place=series["place"],
                status="scheduled",
                sequence=0,
                created_at=now,
                updated_at=now,
            )
        )
        _schedule_reminders(uow.session, meeting_id, 0, starts_at, series["reminder_days"])
        row = _meeting_row(uow.session, meeting_id)
        if starts_at > now:
            _tell_invitees(uow, now, series, row, "invitation")
        _meeting_webhook(uow, now, series, row, "MeetingScheduled")
        created.append(row)
    return [meeting_out(row, series) for row in created]


def _schedule_reminders(session, meeting_id: str, sequence: int, starts_at: datetime, days: list[int]) -> None:
    table = orm.meeting_reminders
    session.execute(
        update(table).where(table.c.meeting_id == meeting_id, table.c.status == "pending").values(status="skipped")
    )
    for days_before in days:
        session.execute(
            table.insert().values(
                meeting_id=meeting_id,
                sequence=sequence,
                days_before=days_before,
                due_at=starts_at - timedelta(days=days_before),
                status="pending",
            )
        )


def _series_scopes(series) -> list[str]:
    return [series["committee_code"], *series["fund_codes"]]


def _notices(session, series, status: str, start: date | None = None, end: date | None = None):
    table = orm.report_notices
    area = [table.c.fund_code.in_(list(series["fund_codes"]))] if series["fund_codes"] else []
    if series["district"]:
        area.append(
            and_(table.c.district == series["district"], table.c.province == (series["province"] or table.c.province))
        )
    if not area:
        return []
    query = select(table).where(or_(*area), table.c.status == status).order_by(table.c.due_date, table.c.project_title)
    if start is not None:
        query = query.where(table.c.due_date >= start)
    if end is not None:
        query = query.where(table.c.due_date <= end)
    return [
        domain.ReportNotice(
            row["project_id"],
            row["project_title"],
            row["fund_code"],
            row["fund_name"],
            row["report"],
            row["due_date"],
            row["owner_name"],
            row["status"],
            row["days_overdue"],
        )
        for row in session.execute(query).mappings()
    ]


def invitees(session, series) -> list[Invitee]:
    """Committee members and mentors from the directory, and the owners of projects with late reports."""
    members = recipients_with(session, [series["committee_code"]], domain.MEMBER_ROLES + ("mentor", "officer"))
    mentors = recipients_with(session, series["fund_codes"], ["mentor"]) if series["fund_codes"] else []
    found: dict[str, Invitee] = {}
    for invitee in as_invitees(members, [series["committee_code"]]) + as_invitees(mentors, series["fund_codes"]):
        found.setdefault(invitee.key, invitee)
    for notice in _notices(session, series, "overdue"):
        owner = {"name": notice.owner_name}
        contact = (
            session.execute(
                select(orm.report_notices.c.owner_contact).where(orm.report_notices.c.project_id == notice.project_id)
            )
            .scalars()
            .first()
        )
        owner["contact"] = contact or ""
        for invitee in owner_invitees(session, notice.fund_code, owner):
            found.setdefault(invitee.key, invitee)
    return list(found.values())


def _tell_invitees(
    uow, now: datetime, series, row, kind: str, days_before: int = 0, previous_start: datetime | None = None
) -> int:
    meeting = meeting_view(row, series)
    people = invitees(uow.session, series)
    ics = meeting_ics_text(meeting, people, now, method="CANCEL" if kind == "cancelled" else "REQUEST")
    source = f"meeting:{row['id']}:{kind}:{row['sequence']}" + (f":{days_before}" if kind == "reminder" else "")
    days_left = (domain.local(row["starts_at"]).date() - domain.local(now).date()).days  # as the invitee counts
    told = 0
    for invitee in people:
        message = domain.meeting_message(kind, meeting, invitee.name, invitee.language, days_left, previous_start)
        told += notify(
            uow,
            now,
            kind=f"meeting_{kind}",
            source_key=source,
            invitee=invitee,
            message=message,
            meeting_id=row["id"],
            attachment={
                "filename": "invite.ics",
                "content": ics,
                "method": "CANCEL" if kind == "cancelled" else "REQUEST",
            },
        )
    return told


def _meeting_payload(series, row) -> dict:
    return {
        "meeting_id": row["id"],
        "series_id": series["id"],
        "committee_code": series["committee_code"],
        "committee_kind": series["committee_kind"],
        "title": series["title"],
        "number": row["number"],
        "starts_at": row["starts_at"].astimezone(BANGKOK).isoformat(),
        "ends_at": row["ends_at"].astimezone(BANGKOK).isoformat(),
        "place": row["place"],
        "status": row["status"],
        "sequence": row["sequence"],
        "reason": row["reason"] or "",
        "fund_codes": list(series["fund_codes"]),
        "district": series["district"],
        "province": series["province"],
    }


def _meeting_webhook(uow, now, series, row, event_type: str) -> None:
    fan_out_webhooks(
        uow,
        now,
        event_type=event_type,
        source_key=f"meeting:{row['id']}:{event_type}:{row['sequence']}",
        fund_codes=series["fund_codes"] or ["*"],
        data=_meeting_payload(series, row),
        occurred_at=now.isoformat(),
    )


def dispatch_meeting_reminders(uow, now: datetime) -> int:
    """Reminders now due → invitees (the closest one only; a meeting already started gets none)."""
    table = orm.meeting_reminders
    due = (
        uow.session.execute(
            select(table).where(table.c.status == "pending", table.c.due_at <= now).order_by(table.c.due_at)
        )
        .mappings()
        .all()
    )
    by_meeting: dict[tuple, list[int]] = {}
    for row in due:
        by_meeting.setdefault((row["meeting_id"], row["sequence"]), []).append(row["days_before"])
    told = 0
    for (meeting_id, sequence), days in by_meeting.items():
        meeting = _meeting_row(uow.session, meeting_id)
        mine = and_(table.c.meeting_id == meeting_id, table.c.sequence == sequence)
        if meeting["status"] != "scheduled" or meeting["starts_at"] <= now or meeting["sequence"] != sequence:
            uow.session.execute(update(table).where(mine, table.c.days_before.in_(days)).values(status="skipped"))
            continue
        send, superseded = domain.reminders_to_send(days)
        series = _series_row(uow.session, meeting["series_id"])
        told += _tell_invitees(uow, now, series, meeting, "reminder", days_before=send)
        uow.session.execute(update(table).where(mine, table.c.days_before == send).values(status="sent"))
        if superseded:
            uow.session.execute(
                update(table).where(mine, table.c.days_before.in_(superseded)).values(status="superseded")
            )
    return told


def reschedule(uow, meeting_id: str, data: dict, now: datetime) -> dict:
    row = _meeting_row(uow.session, meeting_id)
    domain.check_can_change(row["status"], "rescheduled")
    series = _series_row(uow.session, row["series_id"])
    at = time.fromisoformat(data.get("start_time") or series["start_time"])
    starts_at = domain.meeting_start(data["date"], at)
    if starts_at <= now:
        raise InvalidInput({"date": ["A meeting can only be moved to a time in the future."]})
    sequence = row["sequence"] + 1
    uow.session.execute(
        update(orm.meetings)
        .where(orm.meetings.c.id == meeting_id)
        .values(
            starts_at=starts_at,
            ends_at=starts_at + (row["ends_at"] - row["starts_at"]),
            place=data.get("place") or row["place"],
            sequence=sequence,
            reason=data.get("reason", ""),
            updated_at=now,
        )
    )
    _schedule_reminders(uow.session, meeting_id, sequence, starts_at, series["reminder_days"])
    moved = _meeting_row(uow.session, meeting_id)
    _tell_invitees(uow, now, series, moved, "rescheduled", previous_start=row["starts_at"])
    _meeting_webhook(uow, now, series, moved, "MeetingRescheduled")
    return meeting_out(moved, series)


def cancel(uow, meeting_id: str, reason: str, now: datetime) -> dict:
    row = _meeting_row(uow.session, meeting_id)
    domain.check_can_change(row["status"], "cancelled")
    series = _series_row(uow.session, row["series_id"])
    uow.session.execute(
        update(orm.meetings)
        .where(orm.meetings.c.id == meeting_id)
        .values(status="cancelled", sequence=row["sequence"] + 1, reason=reason, updated_at=now)
    )
    uow.session.execute(
        update(orm.meeting_reminders)
        .where(orm.meeting_reminders.c.meeting_id == meeting_id, orm.meeting_reminders.c.status == "pending")
        .values(status="skipped")
    )
    cancelled = _meeting_row(uow.session, meeting_id)
    _tell_invitees(uow, now, series, cancelled, "cancelled")
    _meeting_webhook(uow, now, series, cancelled, "MeetingCancelled")
    return meeting_out(cancelled, series)


def record_attendance(uow, meeting_id: str, entries: list[dict]) -> dict:
    row = _meeting_row(uow.session, meeting_id)
    if row["status"] == "cancelled":
        raise Conflict("A cancelled meeting has no attendance.", row["status"])
    series = _series_row(uow.session, row["series_id"])
    known = {invitee.key: invitee for invitee in invitees(uow.session, series)}
    table = orm.attendance
    for entry in entries:
        key = entry.get("invitee_key") or f"guest:{entry['name']}"
        invitee = known.get(key)
        if entry.get("invitee_key") and invitee is None:
            raise InvalidInput({"attendees.invitee_key": [f"{key} is not invited to this meeting."]})
        name = invitee.name if invitee else entry["name"]
        role = invitee.role if invitee else entry.get("role") or "guest"
        uow.session.execute(delete(table).where(table.c.meeting_id == meeting_id, table.c.invitee_key == key))
        uow.session.execute(
            table.insert().values(meeting_id=meeting_id, invitee_key=key, name=name, role=role, status=entry["status"])
        )
    return get_meeting(uow.session, meeting_id, datetime.now(UTC))


def record_minutes(uow, meeting_id: str, data: dict, now: datetime) -> dict:
    """The minutes: the meeting is held, its agenda frozen; new resolutions open, resolved ones close."""
    row = _meeting_row(uow.session, meeting_id)
    if row["status"] == "cancelled":
        raise Conflict("A cancelled meeting has no minutes.", row["status"])
    if row["status"] == "held":
        raise Conflict("The minutes of this meeting are already recorded.", row["status"])
    series = _series_row(uow.session, row["series_id"])
    agenda = _live_agenda(uow.session, series, row)
    resolutions = orm.resolutions
    for resolution_id in data.get("resolved", []):
        closed = uow.session.execute(
            update(resolutions)
            .where(
                resolutions.c.id == resolution_id,
                resolutions.c.series_id == series["id"],
                resolutions.c.status == "open",
            )
            .values(status="done", closed_in_meeting_id=meeting_id)
        ).rowcount
        if not closed:
            raise InvalidInput({"resolved": [f"{resolution_id} is not an open resolution of this series."]})
    for item in data.get("resolutions", []):
        uow.session.execute(
            resolutions.insert().values(
                id=new_id(),
                series_id=series["id"],
                meeting_id=meeting_id,
                meeting_number=row["number"],
                text=item["text"],
                responsible=item.get("responsible", ""),
                due_date=item.get("due_date"),
                status="open",
            )
        )
    uow.session.execute(
        update(orm.meetings)
        .where(orm.meetings.c.id == meeting_id)
        .values(status="held", agenda=agenda, minutes=data["text"], updated_at=now)
    )
    held = _meeting_row(uow.session, meeting_id)
    _meeting_webhook(uow, now, series, held, "MeetingMinutesRecorded")
    return get_meeting(uow.session, meeting_id, now)


def _open_resolutions(session, series_id: str, before_number: int) -> list[domain.OpenResolution]:
    table = orm.resolutions
    query = (
        select(table)
        .where(table.c.series_id == series_id, table.c.status == "open", table.c.meeting_number < before_number)
        .order_by(table.c.meeting_number, table.c.text)
    )
    return [
        domain.OpenResolution(row["id"], row["meeting_number"], row["text"], row["responsible"])
        for row in session.execute(query).mappings()
    ]


def _next_meeting(session, series_id: str, number: int):
    table = orm.meetings
    return session.execute(
        select(table.c.starts_at)
        .where(table.c.series_id == series_id, table.c.number > number, table.c.status != "cancelled")
        .order_by(table.c.number)
        .limit(1)
    ).scalar_one_or_none()


def _live_agenda(session, series, row) -> list[dict]:
    day = row["starts_at"].astimezone(BANGKOK).date()
    next_start = _next_meeting(session, series["id"], row["number"])
    horizon = (
        next_start.astimezone(BANGKOK).date()
        if next_start
        else domain.add_months(day, series["cadence_months"], series["day_of_month"])
    )
    return domain.prefilled_agenda(
        row["number"],
        _open_resolutions(session, series["id"], row["number"]),
        _notices(session, series, "due", start=day, end=horizon),
        _notices(session, series, "overdue"),
        next_start,
    )


def meeting_out(row, series) -> dict:
    start = row["starts_at"].astimezone(BANGKOK)
    return {
        "id": row["id"],
        "series_id": series["id"],
        "committee_code": series["committee_code"],
        "title": series["title"],
        "number": row["number"],
        "date": start.date().isoformat(),
        "start_time": start.strftime("%H:%M"),
        "starts_at": start.isoformat(),
        "ends_at": row["ends_at"].astimezone(BANGKOK).isoformat(),
        "date_th": domain.people_datetime(row["starts_at"], "th"),
        "place": row["place"],
        "status": row["status"],
        "sequence": row["sequence"],
        "reason": row["reason"] or "",
    }


def get_meeting(session, meeting_id: str, now: datetime) -> dict:
    row = _meeting_row(session, meeting_id)
    series = _series_row(session, row["series_id"])
    out = meeting_out(row, series)
    out["agenda"] = row["agenda"] if row["agenda"] is not None else _live_agenda(session, series, row)
    out["minutes"] = row["minutes"]
    people = invitees(session, series)
    out["invitees"] = [
        {
            "key": invitee.key,
            "name": invitee.name,
            "role": invitee.role,
            "recipient_id": invitee.recipient.id if invitee.recipient else None,
        }
        for invitee in people
    ]
    table = orm.attendance
    rows = session.execute(select(table).where(table.c.meeting_id == meeting_id).order_by(table.c.name)).mappings()
    out["attendance"] = [
        {"key": r["invitee_key"], "name": r["name"], "role": r["role"], "status": r["status"]} for r in rows
    ]
    members = {invitee.key for invitee in people if invitee.role in domain.MEMBER_ROLES}
    present = [entry for entry in out["attendance"] if entry["status"] == "present"]
    counted = domain.quorum(
        len(members), sum(1 for entry in present if entry["key"] in members), len(present), series["quorum"]
    )
    out["quorum"] = {
        "members": counted.members,
        "members_present": counted.members_present,
        "required": counted.required,
        "attendees": counted.attendees,
        "met": counted.met,
    }
    res = orm.resolutions
    out["resolutions"] = [
        {
            "id": r["id"],
            "meeting_number": r["meeting_number"],
            "text": r["text"],
            "responsible": r["responsible"],
            "due_date": r["due_date"].isoformat() if r["due_date"] else None,
            "status": r["status"],
        }
        for r in session.execute(select(res).where(res.c.meeting_id == meeting_id).order_by(res.c.text)).mappings()
    ]
    return out


def get_series(session, series_id: str) -> dict:
    series = _series_row(session, series_id)
    out = series_out(series)
    out["meetings"] = list_meetings(session, series_id)
    return out


def list_series(session, committee_code: str | None = None) -> list[dict]:
    table = orm.meeting_series
    query = select(table).order_by(table.c.committee_code, table.c.first_date)
    if committee_code:
        query = query.where(table.c.committee_code == committee_code)
    return [series_out(row) for row in session.execute(query).mappings()]


def list_meetings(session, series_id: str) -> list[dict]:
    series = _series_row(session, series_id)
    table = orm.meetings
    rows = session.execute(select(table).where(table.c.series_id == series_id).order_by(table.c.number)).mappings()
    return [meeting_out(row, series) for row in rows]


# --- calendars ---------------------------------------------------------------------------------


def meeting_ics_text(meeting: MeetingView, people: list[Invitee], now: datetime, method: str = "PUBLISH") -> str:
    attendees = [
        (invitee.name, invitee.recipient.email) for invitee in people if invitee.recipient and invitee.recipient.email
    ]
    event = domain.ical_event(meeting, MAIL_DOMAIN, now, attendees=attendees, organizer=f"no-reply@{MAIL_DOMAIN}")
    return domain.ical_calendar([event], method=method)


def meeting_ics(session, meeting_id: str, now: datetime) -> str:
    row = _meeting_row(session, meeting_id)
    series = _series_row(session, row["series_id"])
    agenda = row["agenda"] if row["agenda"] is not None else _live_agenda(session, series, row)
    event = domain.ical_event(meeting_view(row, series), MAIL_DOMAIN, now, description=domain.agenda_text(agenda))
    return domain.ical_calendar([event])


def committee_feed(session, committee_code: str, now: datetime) -> str:
    """Every meeting of a committee's series (cancelled ones marked so) as one subscribable calendar."""
    series_rows = (
        session.execute(select(orm.meeting_series).where(orm.meeting_series.c.committee_code == committee_code))
        .mappings()
        .all()
    )
    if not series_rows:
        raise NotFound("committee", committee_code, field="committee_code")
    by_id = {row["id"]: row for row in series_rows}
    table = orm.meetings
    rows = session.execute(
        select(table).where(table.c.series_id.in_(list(by_id))).order_by(table.c.starts_at)
    ).mappings()
    events = [domain.ical_event(meeting_view(row, by_id[row["series_id"]]), MAIL_DOMAIN, now) for row in rows]
    return domain.ical_calendar(events, name=series_rows[0]["title"])
