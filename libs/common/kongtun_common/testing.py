"""Test helpers on real infrastructure: a RabbitMQ vhost per run, a database per test,
and a spy queue that records what reaches the events exchange.

No mocks: the broker and the databases are the real local servers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from kombu import Connection, Exchange, Queue

from .events.envelope import CONTENT_TYPE, Event, new_event, source_for
from .events.topology import EVENTS_EXCHANGE, dead_letter_queue, retry_queue_name
from .migrations import upgrade

BROKER = os.environ.get("KONGTUN_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")
POSTGRES_ADMIN_URL = os.environ.get("KONGTUN_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres")


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def fresh_vhost():
    """A vhost of its own for one test run, removed afterwards: runs never collide."""
    if shutil.which("rabbitmqctl") is None:
        raise RuntimeError("rabbitmqctl is needed to create a test vhost")
    name = f"kongtun-test-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    try:
        yield f"{BROKER.rstrip('/')}/{name}"
    finally:
        rabbitmqctl("delete_vhost", name)


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@contextmanager
def fresh_postgres_database():
    """A new PostgreSQL database, dropped afterwards; yields its SQLAlchemy URL."""
    import psycopg

    name = f"kongtun_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _ = POSTGRES_ADMIN_URL.rsplit("/", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated(database_url: str, package) -> str:
    """Run a service package's migrations on ``database_url``; return the URL."""
    upgrade(database_url, Path(package.__file__).parent / "migrations")
    return database_url


def container_config(amqp_uri: str, database_url: str | None = None, **extra) -> dict:
    config = {
        "AMQP_URI": amqp_uri,
        "REGION": 12,
        "EVENT_RETRY_DELAYS_MS": [100, 200],
        "OUTBOX_POLL_SECONDS": 0.2,
        "OUTBOX_RELAY_ENABLED": True,
        "RPC_TIMEOUT_SECONDS": 10,
    }
    if database_url:
        config["DATABASE_URL"] = database_url
    config.update(extra)
    return config


class EventSpy:
    """A queue bound to the events exchange that records every event routed to it."""

    def __init__(self, amqp_uri: str, routing_key: str = "kongtun.#"):
        self.connection = Connection(amqp_uri)
        self.exchange = Exchange(EVENTS_EXCHANGE, type="topic", durable=True)
        self.queue = Queue(
            f"test-spy-{uuid.uuid4().hex[:8]}", exchange=self.exchange, routing_key=routing_key, auto_delete=True
        )
        self.simple = self.connection.SimpleQueue(self.queue)
        self.received: list[dict] = []

    def collect(self, count: int, timeout: float = 10.0, event_type: str | None = None) -> list[dict]:
        """Wait until ``count`` events (of ``event_type``, if given) have arrived; return them."""
        deadline = time.monotonic() + timeout
        while len(self.of_type(event_type)) < count and time.monotonic() < deadline:
            try:
                message = self.simple.get(timeout=0.2)
            except self.simple.Empty:
                continue
            self.received.append(json.loads(message.body))
            message.ack()
        return self.of_type(event_type)

    def of_type(self, event_type: str | None) -> list[dict]:
        return [event for event in self.received if event_type is None or event["type"] == event_type]

    def close(self) -> None:
        self.simple.close()
        self.connection.release()


def publish_raw(amqp_uri: str, body, routing_key: str, content_type: str = CONTENT_TYPE, headers=None) -> None:
    with Connection(amqp_uri) as connection:
        producer = connection.Producer()
        producer.publish(
            body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False),
            exchange=Exchange(EVENTS_EXCHANGE, type="topic", durable=True),
            routing_key=routing_key,
            content_type=content_type,
            content_encoding="utf-8",
            headers=headers or {},
            declare=[Exchange(EVENTS_EXCHANGE, type="topic", durable=True)],
        )


def publish_event(amqp_uri: str, event: Event) -> None:
    publish_raw(amqp_uri, event.to_json(), event.type)


def make_event(name: str, data: dict, subject: str = "test", service: str = "tests") -> Event:
    return new_event(
        name, data, subject=subject, source=source_for(12, service), region=12, correlation_id="test-correlation"
    )


def dead_letters(amqp_uri: str, queue: str, timeout: float = 10.0, count: int = 1) -> list:
    """Read (and ack) up to ``count`` messages from a handler queue's dead letters."""
    found = []
    deadline = time.monotonic() + timeout
    with Connection(amqp_uri) as connection:
        simple = connection.SimpleQueue(dead_letter_queue(queue))
        while len(found) < count and time.monotonic() < deadline:
            try:
                message = simple.get(timeout=0.2)
            except simple.Empty:
                continue
            found.append((message.headers, message.body))
            message.ack()
        simple.close()
    return found


def delete_handler_queues(amqp_uri: str, queue: str, delays_ms=(100, 200)) -> None:
    """Remove a handler's queue, its delay queues and its dead letters: a clean slate per test."""
    names = [queue, dead_letter_queue(queue).name, *(retry_queue_name(queue, delay) for delay in delays_ms)]
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for name in names:
            channel.queue_delete(name)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll until ``predicate()`` is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def sample_project_facts(project_id: str, **overrides) -> dict:
    """The payload core of a project event (seed 004's district), for consumer tests."""
    facts = {
        "project_id": project_id,
        "fund_code": "L3363",
        "fund_name": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
        "subdistrict": "บ้านไร่",
        "district": "ศรีนครินทร์",
        "province": "พัทลุง",
        "region": 12,
        "title": "โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ",
        "fiscal_year": 2567,
        "issue": "physical_activity",
        "spending_type": 2,
        "owner": {"name": "ชมรมผู้สูงอายุบ้านไร่", "kind": "citizen_group", "contact": "081-234-5678"},
        "requested_amount_satang": 2500000,
        "start_date": "2024-01-08",
        "end_date": "2024-06-08",
    }
    facts.update(overrides)
    return facts


def consumed(service: str, method: str, event_type: str, outcome: str) -> float:
    """How many events a handler has consumed with ``outcome`` (applied, duplicate, failed) in this process."""
    from .observability import EVENTS_CONSUMED

    return EVENTS_CONSUMED.labels(service, f"{service}.{method}", event_type, outcome)._value.get()
