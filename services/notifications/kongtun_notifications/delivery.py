"""The sender: takes due deliveries from the table, sends them, records each outcome.

At least once, with a stable id: a delivery is claimed (an attempt counted, a lease set) in one
transaction, sent, then marked in another.  A crash before the mark leaves it claimed; when the lease
runs out it is sent again with the same Message-ID / delivery id, so the receiver can drop the copy.
A redelivered *event* never produces a second delivery: each row has a unique idempotency key.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass

import eventlet
from nameko.extensions import DependencyProvider

from kongtun_common.engine import utcnow

from . import use_cases
from .domain import RetryPolicy
from .transports import Outcome, SmtpTransport, WebhookTransport

log = logging.getLogger(__name__)


def _flag(value) -> bool:
    return str(value).lower() in ("1", "on", "true", "yes")


@dataclass
class Sender:
    smtp: SmtpTransport
    webhooks: WebhookTransport
    policy: RetryPolicy
    lease_seconds: float = 120.0
    batch_size: int = 100
    concurrency: int = 10

    @classmethod
    def from_config(cls, config: dict) -> Sender:
        region = config.get("REGION", 12)
        return cls(
            smtp=SmtpTransport(
                host=config.get("NOTIFICATIONS_SMTP_HOST", "127.0.0.1"),
                port=int(config.get("NOTIFICATIONS_SMTP_PORT", 25)),
                sender=config.get("NOTIFICATIONS_SENDER", "Kongtun <no-reply@kongtun.local>"),
                domain=f"region{region}.{use_cases.MAIL_DOMAIN}",
                timeout=float(config.get("NOTIFICATIONS_SMTP_TIMEOUT_SECONDS", 10)),
                starttls=_flag(config.get("NOTIFICATIONS_SMTP_STARTTLS", "off")),
                user=config.get("NOTIFICATIONS_SMTP_USER", ""),
                password=config.get("NOTIFICATIONS_SMTP_PASSWORD", ""),
            ),
            webhooks=WebhookTransport(timeout=float(config.get("NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS", 10))),
            policy=RetryPolicy(
                base_seconds=float(config.get("NOTIFICATIONS_RETRY_BASE_SECONDS", 30)),
                cap_seconds=float(config.get("NOTIFICATIONS_RETRY_CAP_SECONDS", 6 * 3600)),
                max_attempts=int(config.get("NOTIFICATIONS_MAX_ATTEMPTS", 8)),
            ),
            lease_seconds=float(config.get("NOTIFICATIONS_LEASE_SECONDS", 120)),
            batch_size=int(config.get("NOTIFICATIONS_BATCH_SIZE", 100)),
            concurrency=int(config.get("NOTIFICATIONS_CONCURRENCY", 10)),
        )

    def run_once(self, db, clock=utcnow) -> bool:
        """Queue meeting reminders now due, then send one batch; True if there may be more to send."""
        with db.unit_of_work() as uow:
            use_cases.dispatch_meeting_reminders(uow, clock())
        with db.unit_of_work() as uow:
            rows = use_cases.claim_due(uow, clock(), self.lease_seconds, self.batch_size)
        if not rows:
            return False
        emails = [row for row in rows if row["channel"] == "email"]
        hooks = [row for row in rows if row["channel"] == "webhook"]
        pool = eventlet.GreenPool(self.concurrency)
        groups = min(self.concurrency, math.ceil(len(emails) / 10)) if emails else 0
        for index in range(groups):
            pool.spawn(self._send_emails, db, emails[index::groups], clock)
        for row in hooks:
            pool.spawn(self._send_webhook, db, row, clock)
        pool.waitall()
        return len(rows) >= self.batch_size

    def _record(self, db, row: dict, outcome: Outcome, clock) -> None:
        with db.unit_of_work() as uow:
            state = use_cases.record_outcome(
                uow,
                row,
                clock(),
                self.policy,
                ok=outcome.ok,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                permanent=outcome.permanent,
            )
        if state != "sent":
            log.warning(
                "%s delivery %s to %s: %s (%s)", row["channel"], row["id"], row["address"], state, outcome.error
            )

    def _send_emails(self, db, rows: list[dict], clock) -> None:
        try:
            client = self.smtp.connect()
        except (OSError, Exception) as exc:  # server down: every row of this group is retried later
            for row in rows:
                self._record(db, row, Outcome(False, None, f"SMTP connect: {exc}"), clock)
            return
        try:
            for row in rows:
                try:
                    outcome = self.smtp.send(client, row["id"], json.loads(row["payload"]))
                except (OSError, Exception) as exc:
                    outcome = Outcome(False, None, f"SMTP: {type(exc).__name__}: {exc}")
                    self._record(db, row, outcome, clock)
                    client = self._reconnect(client)
                    if client is None:
                        for rest in rows[rows.index(row) + 1 :]:
                            self._record(db, rest, Outcome(False, None, "SMTP connection lost"), clock)
                        return
                    continue
                self._record(db, row, outcome, clock)
        finally:
            if client is not None:
                try:
                    client.quit()
                except Exception:  # noqa: BLE001 - closing anyway
                    client.close()

    def _reconnect(self, client):
        try:
            client.close()
            return self.smtp.connect()
        except Exception:  # noqa: BLE001
            return None

    def _send_webhook(self, db, row: dict, clock) -> None:
        body = json.dumps({"id": row["id"], **json.loads(row["payload"])}, ensure_ascii=False).encode()
        outcome = self.webhooks.post(row["address"], row["secret"] or "", row["id"], row["event_type"], body)
        self._record(db, row, outcome, clock)


class Delivery(DependencyProvider):
    """Gives workers the sender built from the container config (``NOTIFICATIONS_*`` keys)."""

    def setup(self):
        self.sender = Sender.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.sender
