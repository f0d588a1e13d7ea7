"""Use cases of the notifications service: one function per use case, on a unit of work or a session.

Every message is decided in the transaction of what caused it (an event, a meeting change, a reminder
falling due): a ``notifications`` row (the in-app record) and a ``deliveries`` row per channel, each with
an idempotency key (source + recipient + channel) that a repeat cannot insert twice.  The delivery loop
(``delivery.py``) sends due rows and marks them.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, delete, func, or_, select, update

from kongtun_common.db import insert_ignoring_conflicts
from kongtun_common.errors import Conflict, InvalidInput, NotFound
from kongtun_common.thai import BANGKOK

from . import domain, orm
from .domain import Invitee, MeetingView, Message, Recipient, Role

WEBHOOK_TYPES = (
    "ReportDue",
    "ReportOverdue",
    "ProjectSubmitted",
    "ProjectApproved",
    "ProjectRevisionRequested",
    "ProjectRejected",
    "MeetingScheduled",
    "MeetingRescheduled",
    "MeetingCancelled",
    "MeetingMinutesRecorded",
)
MAIL_DOMAIN = "kongtun.local"


def new_id() -> str:
    return str(uuid.uuid4())


def insert_or_ignore(session, table, values: dict) -> bool:
    """Insert unless the primary key is taken; True if the row was inserted."""
    statement = insert_ignoring_conflicts(session.get_bind().dialect.name, table).values(**values)
    return session.execute(statement).first() is not None


# --- the recipient directory ----------------------------------------------------------------------


def _recipient_values(data: dict) -> dict:
    quiet = domain.parse_quiet_hours(data.get("quiet_hours"))
    channels = list(dict.fromkeys(data.get("channels", ["email"])))
    if "email" in channels and not data.get("email"):
        raise InvalidInput({"email": ["An email address is needed for the email channel."]})
    return {
        "name": data["name"],
        "email": data.get("email") or None,
        "language": data.get("language", "th"),
        "channels": channels,
        "quiet_start": quiet[0].strftime("%H:%M") if quiet else None,
        "quiet_end": quiet[1].strftime("%H:%M") if quiet else None,
        "unsubscribed": bool(data.get("unsubscribed", False)),
    }


def _write_roles(session, recipient_id: str, roles: list[dict]) -> None:
    session.execute(delete(orm.recipient_roles).where(orm.recipient_roles.c.recipient_id == recipient_id))
    for role in {(item["scope"], item["role"]) for item in roles}:
        session.execute(orm.recipient_roles.insert().values(recipient_id=recipient_id, scope=role[0], role=role[1]))


def register_recipient(uow, data: dict, now: datetime) -> dict:
    recipient_id = new_id()
    uow.session.execute(
        orm.recipients.insert().values(id=recipient_id, created_at=now, updated_at=now, **_recipient_values(data))
    )
    _write_roles(uow.session, recipient_id, data.get("roles", []))
    return get_recipient(uow.session, recipient_id)


def update_recipient(uow, recipient_id: str, data: dict, now: datetime) -> dict:
    _recipient_row(uow.session, recipient_id)
    uow.session.execute(
        update(orm.recipients)
        .where(orm.recipients.c.id == recipient_id)
        .values(updated_at=now, **_recipient_values(data))
    )
    _write_roles(uow.session, recipient_id, data.get("roles", []))
    return get_recipient(uow.session, recipient_id)


def unsubscribe(uow, recipient_id: str, now: datetime) -> dict:
    """No more messages to this person on any channel; pending ones are dropped (kept in the record)."""
    _recipient_row(uow.session, recipient_id)
    uow.session.execute(
        update(orm.recipients).where(orm.recipients.c.id == recipient_id).values(unsubscribed=True, updated_at=now)
    )
    held = select(orm.notifications.c.id).where(orm.notifications.c.recipient_id == recipient_id)
    uow.session.execute(
        update(orm.deliveries)
        .where(orm.deliveries.c.notification_id.in_(held))
        .where(orm.deliveries.c.status == "pending")
        .values(status="unsubscribed", last_error="recipient unsubscribed")
    )
    return get_recipient(uow.session, recipient_id)


def _recipient_row(session, recipient_id: str):
    row = session.execute(select(orm.recipients).where(orm.recipients.c.id == recipient_id)).mappings().first()
    if row is None:
        raise NotFound("recipient", recipient_id, field="recipient_id")
    return row


def _to_recipient(row, roles) -> Recipient:
    quiet = None
    if row["quiet_start"] and row["quiet_end"]:
        quiet = (time.fromisoformat(row["quiet_start"]), time.fromisoformat(row["quiet_end"]))
    return Recipient(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        language=row["language"],
        channels=tuple(row["channels"]),
        quiet_hours=quiet,
        unsubscribed=row["unsubscribed"],
        roles=tuple(roles),
    )


def _roles_of(session, ids) -> dict[str, list[Role]]:
    found: dict[str, list[Role]] = {}
    if not ids:
        return found
    table = orm.recipient_roles
    for row in session.execute(select(table).where(table.c.recipient_id.in_(list(ids)))).mappings():
        found.setdefault(row["recipient_id"], []).append(Role(row["scope"], row["role"]))
    return found


def recipients_with(session, scopes, roles, name: str | None = None) -> list[Recipient]:
    """Registered recipients holding one of ``roles`` in one of ``scopes`` (funds or committees)."""
    table, link = orm.recipients, orm.recipient_roles
    holders = select(link.c.recipient_id).where(link.c.scope.in_(list(scopes)), link.c.role.in_(list(roles)))
    query = select(table).where(table.c.id.in_(holders)).order_by(table.c.name, table.c.id)
    if name is not None:
        query = query.where(table.c.name == name)
    rows = session.execute(query).mappings().all()
    roles_by_id = _roles_of(session, {row["id"] for row in rows})
    return [_to_recipient(row, roles_by_id.get(row["id"], [])) for row in rows]


def recipient_out(recipient: Recipient, row) -> dict:
    return {
        "id": recipient.id,
        "name": recipient.name,
        "email": recipient.email,
        "language": recipient.language,
        "channels": list(recipient.channels),
        "quiet_hours": (
            {"start": recipient.quiet_hours[0].strftime("%H:%M"), "end": recipient.quiet_hours[1].strftime("%H:%M")}
            if recipient.quiet_hours
            else None
        ),
        "unsubscribed": recipient.unsubscribed,
        "roles": [{"scope": role.scope, "role": role.role} for role in sorted(recipient.roles, key=str)],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


def get_recipient(session, recipient_id: str) -> dict:
    row = _recipient_row(session, recipient_id)
    return recipient_out(_to_recipient(row, _roles_of(session, [recipient_id]).get(recipient_id, [])), row)


def list_recipients(session, scope: str | None = None, role: str | None = None) -> list[dict]:
    table, link = orm.recipients, orm.recipient_roles
    query = select(table).order_by(table.c.name, table.c.id)
    if scope or role:
        conditions = [link.c.recipient_id == table.c.id]
        if scope:
            conditions.append(link.c.scope == scope)
        if role:
            conditions.append(link.c.role == role)
        query = query.where(select(link.c.recipient_id).where(*conditions).exists())
    rows = session.execute(query).mappings().all()
    roles_by_id = _roles_of(session, {row["id"] for row in rows})
    return [recipient_out(_to_recipient(row, roles_by_id.get(row["id"], [])), row) for row in rows]


# --- deciding messages ----------------------------------------------------------------------------


def owner_invitees(session, fund_code: str, owner: dict) -> list[Invitee]:
    """A project's owner as the event names them, or the recipient registered as that owner of that fund."""
    registered = recipients_with(session, [fund_code], ["owner"], name=owner["name"])
    if registered:
        return [Invitee(f"r:{person.id}", person.name, "owner", person) for person in registered]
    return [Invitee(f"owner:{fund_code}:{owner['name']}", owner["name"], "owner", None, owner.get("contact", ""))]


def as_invitees(people: list[Recipient], scopes) -> list[Invitee]:
    scopes = set(scopes)
    invitees = []
    for person in people:
        role = next(
            (
                role.role
                for role in sorted(person.roles, key=lambda r: domain.ROLES.index(r.role))
                if role.scope in scopes
            ),
            "member",
        )
        invitees.append(Invitee(f"r:{person.id}", person.name, role, person))
    return invitees


def notify(
    uow,
    now: datetime,
    *,
    kind: str,
    source_key: str,
    invitee: Invitee,
    message: Message,
    event_id: str | None = None,
    project_id: str | None = None,
    meeting_id: str | None = None,
    attachment: dict | None = None,
) -> bool:
    """Record what ``invitee`` is told and queue its email; a repeat of the same source changes nothing."""
    notification_id = new_id()
    recorded = insert_or_ignore(
        uow.session,
        orm.notifications,
        {
            "id": notification_id,
            "kind": kind,
            "source_key": source_key,
            "event_id": event_id,
            "recipient_key": invitee.key,
            "recipient_id": invitee.recipient.id if invitee.recipient else None,
            "recipient_name": invitee.name,
            "recipient_role": invitee.role,
            "language": invitee.language,
            "subject": message.subject,
            "body": message.body,
            "project_id": project_id,
            "meeting_id": meeting_id,
            "created_at": now,
        },
    )
    if not recorded:
        return False
    person = invitee.recipient
    if person is not None and person.wants("email"):
        payload = {"to": person.email, "name": person.name, "subject": message.subject, "body": message.body}
        if attachment:
            payload["attachment"] = attachment
        insert_or_ignore(
            uow.session,
            orm.deliveries,
            {
                "id": new_id(),
                "idempotency_key": f"{source_key}|{invitee.key}|email",
                "channel": "email",
                "address": person.email,
                "notification_id": notification_id,
                "subscription_id": None,
                "event_type": kind,
                "payload": json.dumps(payload, ensure_ascii=False),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": domain.release_time(now, person.quiet_hours),
                "created_at": now,
            },
        )
    return True


def fan_out_webhooks(
    uow, now: datetime, *, event_type: str, source_key: str, fund_codes, data: dict, occurred_at: str
) -> int:
    """One delivery per subscription that wants ``event_type`` for one of ``fund_codes`` (or every fund)."""
    table = orm.webhook_subscriptions
    count = 0
    for sub in uow.session.execute(select(table)).mappings():
        if event_type not in sub["types"]:
            continue
        if sub["fund_codes"] and not set(sub["fund_codes"]) & set(fund_codes):
            continue
        payload = {"type": event_type, "occurred_at": occurred_at, "data": data}
        count += insert_or_ignore(
            uow.session,
            orm.deliveries,
            {
                "id": new_id(),
                "idempotency_key": f"{source_key}|webhook:{sub['id']}",
                "channel": "webhook",
                "address": sub["url"],
                "notification_id": None,
                "subscription_id": sub["id"],
                "event_type": event_type,
                "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True),
                "status": "pending" if sub["status"] == "active" else "suspended",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
    return count


# --- events consumed ------------------------------------------------------------------------------


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


# --- reading notifications ------------------------------------------------------------------------


def _deliveries_by_notification(session, ids) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    if not ids:
        return found
    table = orm.deliveries
    query = select(table).where(table.c.notification_id.in_(list(ids))).order_by(table.c.created_at)
    for row in session.execute(query).mappings():
        found.setdefault(row["notification_id"], []).append(
            {
                "id": row["id"],
                "channel": row["channel"],
                "status": row["status"],
                "attempts": row["attempts"],
                "next_attempt_at": row["next_attempt_at"].isoformat(),
                "sent_at": row["sent_at"].isoformat() if row["sent_at"] else None,
            }
        )
    return found


def list_notifications(
    session, project_id=None, recipient=None, recipient_id=None, meeting_id=None, limit: int = 200
) -> list[dict]:
    table = orm.notifications
    query = select(table).order_by(table.c.created_at, table.c.id).limit(limit)
    if project_id:
        query = query.where(table.c.project_id == project_id)
    if recipient:
        query = query.where(table.c.recipient_name == recipient)
    if recipient_id:
        query = query.where(table.c.recipient_id == recipient_id)
    if meeting_id:
        query = query.where(table.c.meeting_id == meeting_id)
    rows = session.execute(query).mappings().all()
    deliveries = _deliveries_by_notification(session, [row["id"] for row in rows])
    items = []
    for row in rows:
        sent = deliveries.get(row["id"], [])
        items.append(
            {
                "id": row["id"],
                "kind": row["kind"],
                "project_id": row["project_id"],
                "meeting_id": row["meeting_id"],
                "recipient": row["recipient_name"],
                "recipient_id": row["recipient_id"],
                "role": row["recipient_role"],
                "channel": sent[0]["channel"] if sent else "record",
                "language": row["language"],
                "subject": row["subject"],
                "body": row["body"],
                "created_at": row["created_at"].isoformat(),
                "deliveries": sent,
            }
        )
    return items


def list_reminders(session, project_id: str | None, recipient: str | None) -> list[dict]:
    """The foundation slice's reminders: notifications about a project or to a person."""
    return list_notifications(session, project_id=project_id, recipient=recipient)


def recipient_notifications(session, recipient_id: str) -> list[dict]:
    _recipient_row(session, recipient_id)
    return list_notifications(session, recipient_id=recipient_id)


# --- webhook subscriptions ------------------------------------------------------------------------


def subscription_out(row, with_secret: bool = False) -> dict:
    out = {
        "id": row["id"],
        "owner": row["owner"],
        "url": row["url"],
        "types": list(row["types"]),
        "fund_codes": list(row["fund_codes"]),
        "status": row["status"],
        "disabled_reason": row["disabled_reason"],
        "disabled_at": row["disabled_at"].isoformat() if row["disabled_at"] else None,
        "created_at": row["created_at"].isoformat(),
    }
    if with_secret:
        out["secret"] = row["secret"]
    return out


def subscribe(uow, data: dict, now: datetime) -> dict:
    subscription_id = new_id()
    uow.session.execute(
        orm.webhook_subscriptions.insert().values(
            id=subscription_id,
            owner=data["owner"],
            url=data["url"],
            secret=secrets.token_hex(32),
            types=sorted(set(data["types"])),
            fund_codes=sorted(set(data.get("fund_codes", []))),
            status="active",
            created_at=now,
            updated_at=now,
        )
    )
    return subscription_out(_subscription_row(uow.session, subscription_id), with_secret=True)


def _subscription_row(session, subscription_id: str):
    table = orm.webhook_subscriptions
    row = session.execute(select(table).where(table.c.id == subscription_id)).mappings().first()
    if row is None:
        raise NotFound("webhook subscription", subscription_id, field="subscription_id")
    return row


def get_subscription(session, subscription_id: str) -> dict:
    return subscription_out(_subscription_row(session, subscription_id))


def enable_subscription(uow, subscription_id: str, secret: str, now: datetime) -> dict:
    """Its owner (who holds the signing secret) turns a disabled subscription back on; what it missed is resent."""
    row = _subscription_row(uow.session, subscription_id)
    if not secrets.compare_digest(row["secret"], secret):
        raise InvalidInput({"secret": ["Does not match this subscription's signing secret."]})
    table = orm.webhook_subscriptions
    uow.session.execute(
        update(table)
        .where(table.c.id == subscription_id)
        .values(status="active", disabled_reason=None, disabled_at=None, updated_at=now)
    )
    uow.session.execute(
        update(orm.deliveries)
        .where(orm.deliveries.c.subscription_id == subscription_id)
        .where(orm.deliveries.c.status.in_(["suspended", "failed"]))
        .values(status="pending", attempts=0, next_attempt_at=now, lease_until=None)
    )
    return subscription_out(_subscription_row(uow.session, subscription_id))


def subscription_deliveries(session, subscription_id: str, limit: int = 200) -> list[dict]:
    _subscription_row(session, subscription_id)
    table, log = orm.deliveries, orm.delivery_attempts
    rows = (
        session.execute(
            select(table).where(table.c.subscription_id == subscription_id).order_by(table.c.created_at).limit(limit)
        )
        .mappings()
        .all()
    )
    attempts: dict[str, list[dict]] = {}
    if rows:
        query = select(log).where(log.c.delivery_id.in_([row["id"] for row in rows])).order_by(log.c.id)
        for attempt in session.execute(query).mappings():
            attempts.setdefault(attempt["delivery_id"], []).append(
                {
                    "attempt": attempt["attempt"],
                    "at": attempt["at"].isoformat(),
                    "outcome": attempt["outcome"],
                    "status_code": attempt["status_code"],
                    "error": attempt["error"],
                    "duration_ms": attempt["duration_ms"],
                }
            )
    return [
        {
            "id": row["id"],
            "event_type": row["event_type"],
            "status": row["status"],
            "attempts": row["attempts"],
            "next_attempt_at": row["next_attempt_at"].isoformat(),
            "last_error": row["last_error"],
            "created_at": row["created_at"].isoformat(),
            "sent_at": row["sent_at"].isoformat() if row["sent_at"] else None,
            "log": attempts.get(row["id"], []),
        }
        for row in rows
    ]


# --- sending: claim, then record the outcome -------------------------------------------------------


def claim_due(uow, now: datetime, lease_seconds: float, limit: int) -> list[dict]:
    """Take up to ``limit`` due deliveries (pending, or sending with an expired lease: a crash mid-send).

    Each claimed row counts an attempt and gets a lease; if the sender dies before recording the outcome
    the row is due again when the lease runs out, and is resent with the same id.
    """
    table = orm.deliveries
    due = or_(
        and_(table.c.status == "pending", table.c.next_attempt_at <= now),
        and_(table.c.status == "sending", table.c.lease_until < now),
    )
    query = select(table).where(due).order_by(table.c.next_attempt_at).limit(limit)
    if uow.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [dict(row) for row in uow.session.execute(query).mappings()]
    if not rows:
        return []
    lease = now + timedelta(seconds=lease_seconds)
    for row in rows:
        row["attempts"] += 1
        uow.session.execute(
            update(table)
            .where(table.c.id == row["id"])
            .values(status="sending", attempts=row["attempts"], lease_until=lease)
        )
    secrets_by_id = {}
    ids = {row["subscription_id"] for row in rows if row["subscription_id"]}
    if ids:
        subs = orm.webhook_subscriptions
        for sub in uow.session.execute(select(subs.c.id, subs.c.secret).where(subs.c.id.in_(ids))):
            secrets_by_id[sub.id] = sub.secret
    for row in rows:
        row["secret"] = secrets_by_id.get(row["subscription_id"])
    return rows


def _quiet_hours_of(session, notification_id: str | None):
    if not notification_id:
        return None
    person = session.execute(
        select(orm.recipients.c.quiet_start, orm.recipients.c.quiet_end)
        .join(orm.notifications, orm.notifications.c.recipient_id == orm.recipients.c.id)
        .where(orm.notifications.c.id == notification_id)
    ).first()
    if person is None or not person.quiet_start:
        return None
    return time.fromisoformat(person.quiet_start), time.fromisoformat(person.quiet_end)


def record_outcome(
    uow,
    delivery: dict,
    now: datetime,
    policy: domain.RetryPolicy,
    *,
    ok: bool,
    status_code: int | None = None,
    error: str | None = None,
    duration_ms: int = 0,
    permanent: bool = False,
) -> str:
    """Mark a delivery sent, or schedule its retry with backoff; after the last attempt it fails and its
    webhook subscription is disabled (its other deliveries wait, suspended, for the owner to re-enable it)."""
    table = orm.deliveries
    session = uow.session
    session.execute(
        orm.delivery_attempts.insert().values(
            delivery_id=delivery["id"],
            attempt=delivery["attempts"],
            at=now,
            outcome="delivered" if ok else "failed",
            status_code=status_code,
            error=(error or "")[:2000] or None,
            duration_ms=duration_ms,
        )
    )
    mine = and_(table.c.id == delivery["id"], table.c.status == "sending", table.c.attempts == delivery["attempts"])
    if ok:
        session.execute(update(table).where(mine).values(status="sent", sent_at=now, lease_until=None, last_error=None))
        return "sent"
    if permanent or policy.exhausted(delivery["attempts"]):
        session.execute(update(table).where(mine).values(status="failed", lease_until=None, last_error=error))
        if delivery["subscription_id"]:
            disable_subscription(uow, delivery["subscription_id"], f"delivery {delivery['id']} failed: {error}", now)
        return "failed"
    retry_at = now + timedelta(seconds=policy.delay(delivery["attempts"]))
    if delivery["channel"] == "email":
        retry_at = domain.release_time(retry_at, _quiet_hours_of(session, delivery["notification_id"]))
    session.execute(
        update(table).where(mine).values(status="pending", next_attempt_at=retry_at, lease_until=None, last_error=error)
    )
    return "retry"


def disable_subscription(uow, subscription_id: str, reason: str, now: datetime) -> None:
    subs = orm.webhook_subscriptions
    uow.session.execute(
        update(subs)
        .where(subs.c.id == subscription_id, subs.c.status == "active")
        .values(status="disabled", disabled_reason=reason[:2000], disabled_at=now, updated_at=now)
    )
    uow.session.execute(
        update(orm.deliveries)
        .where(orm.deliveries.c.subscription_id == subscription_id, orm.deliveries.c.status == "pending")
        .values(status="suspended")
    )


def delivery_counts(session) -> dict[str, int]:
    table = orm.deliveries
    return {
        status: count
        for status, count in session.execute(select(table.c.status, func.count()).group_by(table.c.status))
    }


# --- follow-up meetings ---------------------------------------------------------------------------


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


# --- calendars ------------------------------------------------------------------------------------


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
