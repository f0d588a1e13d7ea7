"""Database plumbing: one engine per service, a unit of work per use case.

The unit of work is where the outbox and the inbox meet the service's own
tables: events recorded with :meth:`UnitOfWork.publish` are rows of the same
transaction as the state change, and :meth:`Database.apply_event` records the
(event id, handler) pair in the same transaction as the handler's effect.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import cached_property

from nameko.extensions import DependencyProvider
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Session

from . import remote  # noqa: F401  (typed errors over RPC)
from .engine import DatabaseEngine, UtcDateTime, utcnow
from .events.contracts import validate_data
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


def insert_ignoring_conflicts(dialect: str, table: Table):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING <primary key>, for the dialects Kongtun supports.

    A row comes back only when this statement inserted it, so callers know whether it was new.
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"no insert-or-ignore for {dialect}")
    return insert(table).on_conflict_do_nothing().returning(next(iter(table.primary_key.columns)))


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
        validate_data(name, version, data)  # the envelope around it is ours, and tested
        self.session.execute(
            self._outbox.insert(),
            {
                "event_id": record.id,
                "type": record.type,
                "payload": record.to_json(),
                "created_at": utcnow(),
                "attempts": 0,
            },
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

    @cached_property
    def claim_event(self):
        """The statement that records (event id, handler); built once the engine is set up."""
        return insert_ignoring_conflicts(self.engine.engine.dialect.name, self.processed)

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
        """Run ``use_case(uow, event)`` once per (event, handler); return False for a repeat.

        The (event id, handler) row is claimed with an insert that ignores conflicts, in the
        same transaction as the effect: a repeat, even a concurrent one, changes nothing.
        """
        provider = self._provider
        service = provider.container.service_name
        handler = f"{service}.{self._worker_ctx.entrypoint.method_name}"
        with self.unit_of_work() as uow:
            claimed = uow.session.execute(
                provider.claim_event, {"event_id": event.id, "handler": handler, "processed_at": utcnow()}
            )
            first = claimed.first() is not None  # a row comes back only if this delivery inserted it
            if first:
                use_case(uow, event)
        outcome = "applied" if first else "duplicate"
        EVENTS_CONSUMED.labels(service, handler, event.type, outcome).inc()
        return outcome == "applied"
