"""The database engine a container shares between its extensions."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

from eventlet.semaphore import Semaphore
from nameko.extensions import SharedExtension
from sqlalchemy import DateTime, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything Kongtun stores is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class UtcDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        return as_utc(value) if value is not None else None


def make_engine(url: str):
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class DatabaseEngine(SharedExtension):
    """The engine of this container's database, shared by all its extensions.

    SQLite allows one writer: green threads take turns through a semaphore so
    that one never waits in C for a lock another green thread holds.
    """

    def setup(self):
        self.url = self.container.config["DATABASE_URL"]
        self.engine = make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._turn = Semaphore(1) if self.is_sqlite else None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self):
        if self._turn is not None:
            self._turn.acquire()
        session: Session = self._sessions()
        try:
            yield session
        finally:
            session.close()
            if self._turn is not None:
                self._turn.release()

    def ping(self) -> None:
        with self.session() as session:
            session.execute(select(1))

    def stop(self):
        self.engine.dispose()

    def kill(self):
        self.engine.dispose()
