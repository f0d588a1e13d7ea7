"""Webhook subscriptions, and sending: claiming due deliveries and recording each outcome."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta

from sqlalchemy import and_, func, or_, select, update

from kongtun_common.errors import InvalidInput, NotFound

from .. import domain, orm
from .base import new_id

# --- webhook subscriptions ---------------------------------------------------------------------


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


# --- sending: claim, then record the outcome ---------------------------------------------------


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
