"""Database plumbing: one engine per service, a unit of work per use case.

The unit of work is where the outbox and the inbox meet the service's own
tables: events recorded with :meth:`UnitOfWork.publish` are rows of the same
transaction as the state change, and :meth:`Database.apply_event` records the
(event id, handler) pair in the same transaction as the handler's effect.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from nameko.extensions import DependencyProvider
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import remote  # noqa: F401  (typed errors over RPC)
from .engine import DatabaseEngine, UtcDateTime, utcnow
from .events.contracts import validate_envelope
from .events.envelope import Event, new_event, source_for
from .events.outbox import OutboxRelay
from .observability import EVENTS_CONSUMED, current_correlation_id

log = logging.getLogger(__name__)

BigId = BigInteger().with_variant(Integer(), "sqlite")


def backbone_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add the outbox and processed-events tables to a service's metadata."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("type", String(120), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("published_at", UtcDateTime, nullable=True, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", UtcDateTime, nullable=True),
        Column("last_error", Text, nullable=True),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False),
    )
    return outbox, processed


class UnitOfWork:
    """One transaction of a use case: state changes plus the events they raise."""

    def __init__(self, session: Session, outbox: Table, producer: tuple[str, int]):
        self.session = session
        self._outbox = outbox
        self._source, self._region = producer
        self.events: list[Event] = []

    @property
    def region(self) -> int:
        return self._region

    def publish(self, name: str, data: dict, *, subject: str, version: int = 1) -> Event:
        """Record an event in the outbox, in this transaction; checked against its contract."""
        record = new_event(
            name,
            data,
            subject=subject,
            source=self._source,
            region=self._region,
            correlation_id=current_correlation_id(),
            version=version,
        )
        validate_envelope(record.to_envelope())
        self.session.execute(
            self._outbox.insert().values(
                event_id=record.id,
                type=record.type,
                payload=record.to_json(),
                created_at=utcnow(),
                attempts=0,
            )
        )
        self.events.append(record)
        return record


class Database(DependencyProvider):
    """Gives a service its units of work; wakes the outbox relay after a commit."""

    engine = DatabaseEngine()
    relay = OutboxRelay()

    def __init__(self, metadata: MetaData):
        self.metadata = metadata
        self.outbox = metadata.tables["outbox"]
        self.processed = metadata.tables["processed_events"]

    def setup(self):
        config = self.container.config
        self.producer = (
            source_for(int(config["REGION"]), self.container.service_name),
            int(config["REGION"]),
        )
        self.relay.outbox = self.outbox

    def get_dependency(self, worker_ctx):
        return DatabaseAccess(self, worker_ctx)


class DatabaseAccess:
    """What a worker sees as ``self.db``."""

    def __init__(self, provider: Database, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx

    @contextmanager
    def unit_of_work(self):
        provider = self._provider
        with provider.engine.session() as session:
            uow = UnitOfWork(session, provider.outbox, provider.producer)
            try:
                yield uow
                session.commit()
            except BaseException:
                session.rollback()
                raise
        if uow.events:
            provider.relay.wake()

    @contextmanager
    def read(self):
        with self._provider.engine.session() as session:
            yield session

    def apply_event(self, event: Event, use_case) -> bool:
        """Run ``use_case(uow, event)`` once per (event, handler); return False for a repeat."""
        provider = self._provider
        service = provider.container.service_name
        handler = f"{service}.{self._worker_ctx.entrypoint.method_name}"
        processed = provider.processed
        try:
            with self.unit_of_work() as uow:
                seen = uow.session.execute(
                    select(processed.c.event_id).where(processed.c.event_id == event.id, processed.c.handler == handler)
                ).first()
                if seen is not None:
                    EVENTS_CONSUMED.labels(service, handler, event.type, "duplicate").inc()
                    return False
                uow.session.execute(
                    processed.insert().values(event_id=event.id, handler=handler, processed_at=utcnow())
                )
                use_case(uow, event)
        except IntegrityError:
            # A concurrent delivery of the same event committed first.
            with self.read() as session:
                seen = session.execute(
                    select(processed.c.event_id).where(processed.c.event_id == event.id, processed.c.handler == handler)
                ).first()
            if seen is None:
                raise
            EVENTS_CONSUMED.labels(service, handler, event.type, "duplicate").inc()
            return False
        EVENTS_CONSUMED.labels(service, handler, event.type, "applied").inc()
        return True
