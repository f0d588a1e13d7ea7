"""The recipient directory, deciding messages (the in-app record and the delivery outbox), reading them."""

from __future__ import annotations

import json
from datetime import datetime, time

from sqlalchemy import delete, select, update

from kongtun_common.errors import InvalidInput, NotFound

from .. import domain, orm
from ..domain import Invitee, Message, Recipient, Role
from .base import insert_or_ignore, new_id

# --- the recipient directory -------------------------------------------------------------------


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


# --- deciding messages -------------------------------------------------------------------------


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
        queued = insert_or_ignore(
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
        _count_queued(uow, queued)
    return True


def _count_queued(uow, queued: int) -> None:
    """Note on the unit of work that deliveries were queued: only then is the delivery loop woken."""
    uow.deliveries_queued = getattr(uow, "deliveries_queued", 0) + int(queued)


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
    _count_queued(uow, count)
    return count


# --- reading notifications ---------------------------------------------------------------------


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
