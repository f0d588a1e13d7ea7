"""The outbox relay: publishes committed outbox rows with publisher confirms.

A row is marked published only after the broker confirmed it, so a crash at
any point leaves it to be published again (at least once; consumers dedupe by
event id).  A publish the broker returns as unroutable (no queue bound for its
type) is not dropped: the row stays pending with the reason, is counted in
``kongtun_events_unroutable_total`` and is retried with a growing delay.

With PostgreSQL several processes of one service may relay the same outbox:
rows are claimed with ``FOR UPDATE SKIP LOCKED`` for the time of the publish.
SQLite has a single writer process, which reads, publishes, then marks.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import eventlet
from eventlet.queue import Empty, LightQueue
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.extensions import SharedExtension
from sqlalchemy import func, select, update

from ..engine import DatabaseEngine, utcnow
from ..observability import EVENTS_PUBLISHED, EVENTS_UNROUTABLE, OUTBOX_BACKLOG, OUTBOX_OLDEST_SECONDS
from .envelope import CONTENT_TYPE
from .topology import events_exchange

log = logging.getLogger(__name__)

BATCH_SIZE = 200
MEASURE_EVERY_SECONDS = 1.0
MAX_UNROUTABLE_DELAY = 300.0


def unroutable_delay(attempts: int) -> float:
    """Seconds before retrying a returned event: 1, 2, 4 ... capped at 5 minutes."""
    return min(2.0 ** max(attempts - 1, 0), MAX_UNROUTABLE_DELAY)


class OutboxRelay(SharedExtension):
    engine = DatabaseEngine()
    outbox = None  # the outbox table, given by the Database provider (setups run in any order)

    def setup(self):
        config = self.container.config
        self.service = self.container.service_name
        self.enabled = bool(config.get("OUTBOX_RELAY_ENABLED", True))
        self.poll_seconds = float(config.get("OUTBOX_POLL_SECONDS", 1.0))
        self._wakeups = LightQueue(maxsize=1)
        self._running = False
        self._measured_at = 0.0
        self._exchange = events_exchange()
        self._publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True, declare=[self._exchange])

    def start(self):
        if self.enabled and self.outbox is not None:
            self._running = True
            self.container.spawn_managed_thread(self._run, identifier="kongtun.outbox-relay")

    def stop(self):
        self._running = False
        self.wake()

    def kill(self):
        self._running = False

    def wake(self) -> None:
        try:
            self._wakeups.put_nowait(True)
        except eventlet.queue.Full:
            pass

    def _run(self):
        failures = 0
        while self._running:
            try:
                published = self.relay_once()
                failures = 0
            except Exception as exc:  # broker or database unavailable: back off, keep the rows
                failures += 1
                delay = min(0.5 * 2**failures, 30.0)
                log.warning("outbox relay paused for %.1fs: %s", delay, exc)
                eventlet.sleep(delay)
                continue
            if published >= BATCH_SIZE:
                continue
            try:
                self._wakeups.get(timeout=self.poll_seconds)
            except Empty:
                pass

    def relay_once(self) -> int:
        """Publish one batch of due rows; return how many were confirmed."""
        if self.engine.is_sqlite:
            with self.engine.session() as session:
                rows = self._due_rows(session, lock=False)
            if rows:
                outcomes = self._publish(rows)
                with self.engine.session() as session:
                    self._record(session, rows, outcomes)
                    session.commit()
        else:
            with self.engine.session() as session:
                rows = self._due_rows(session, lock=True)
                outcomes = self._publish(rows)
                self._record(session, rows, outcomes)
                session.commit()
        if not rows or time.monotonic() - self._measured_at >= MEASURE_EVERY_SECONDS:
            with self.engine.session() as session:
                self._measure(session)
        return sum(1 for outcome in outcomes.values() if outcome is None) if rows else 0

    def _due_rows(self, session, lock: bool):
        table = self.outbox
        now = utcnow()
        query = (
            select(table.c.id, table.c.event_id, table.c.type, table.c.payload, table.c.attempts)
            .where(table.c.published_at.is_(None))
            .where((table.c.next_attempt_at.is_(None)) | (table.c.next_attempt_at <= now))
            .order_by(table.c.id)
            .limit(BATCH_SIZE)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return session.execute(query).all()

    def _publish(self, rows) -> dict:
        """Publish rows in order; map row id to None (confirmed) or an error text.

        Stops at the first broker failure: the remaining rows stay due.
        """
        outcomes: dict = {}
        for row in rows:
            try:
                self._publisher.publish(
                    row.payload,
                    exchange=self._exchange,
                    routing_key=row.type,
                    content_type=CONTENT_TYPE,
                    content_encoding="utf-8",
                    message_id=row.event_id,
                )
            except UndeliverableMessage:
                outcomes[row.id] = f"unroutable: no queue is bound for {row.type}"
                EVENTS_UNROUTABLE.labels(self.service, row.type).inc()
                log.warning("event %s (%s) returned unroutable; kept for retry", row.event_id, row.type)
                continue
            outcomes[row.id] = None
            EVENTS_PUBLISHED.labels(self.service, row.type).inc()
        return outcomes

    def _record(self, session, rows, outcomes: dict) -> None:
        table = self.outbox
        now = utcnow()
        confirmed = [row_id for row_id, error in outcomes.items() if error is None]
        if confirmed:
            session.execute(update(table).where(table.c.id.in_(confirmed)).values(published_at=now))
        for row in rows:
            error = outcomes.get(row.id)
            if error is not None:
                attempts = row.attempts + 1
                session.execute(
                    update(table)
                    .where(table.c.id == row.id)
                    .values(
                        attempts=attempts,
                        last_error=error,
                        next_attempt_at=now + timedelta(seconds=unroutable_delay(attempts)),
                    )
                )

    def _measure(self, session) -> None:
        self._measured_at = time.monotonic()
        table = self.outbox
        count, oldest = session.execute(
            select(func.count(table.c.id), func.min(table.c.created_at)).where(table.c.published_at.is_(None))
        ).one()
        OUTBOX_BACKLOG.labels(self.service).set(count)
        if oldest is None:
            OUTBOX_OLDEST_SECONDS.labels(self.service).set(0)
        else:
            OUTBOX_OLDEST_SECONDS.labels(self.service).set((utcnow() - oldest).total_seconds())
