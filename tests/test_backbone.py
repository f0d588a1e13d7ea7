"""The event backbone on the real broker and real databases.

Outbox (a crash between commit and publish loses nothing), idempotent
consumption (a redelivery is a no-op), bounded retries then dead letters,
invalid events dead-lettered at once with the reason, unroutable publishes kept.
"""

import json

import pytest
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook
from sqlalchemy import Column, MetaData, String, Table, func, select, update

from kongtun_common import testing
from kongtun_common.db import Database, backbone_tables
from kongtun_common.engine import make_engine
from kongtun_common.events.consumer import event_handler
from kongtun_common.events.topology import ATTEMPT_HEADER, ERROR_HEADER, REASON_HEADER
from kongtun_common.observability import EVENTS_DEAD_LETTERED, EVENTS_RETRIED, EVENTS_UNROUTABLE, Instrumentation

metadata = MetaData()
applied = Table("applied", metadata, Column("fund_code", String(5), primary_key=True))
outbox, processed = backbone_tables(metadata)

POISON = "L9999"


def fund_data(code: str) -> dict:
    return {
        "fund_code": code,
        "name_th": "กองทุนหลักประกันสุขภาพองค์การบริหารส่วนตำบลทดสอบ",
        "name_en": None,
        "subdistrict": "บ้านไร่",
        "district": "ศรีนครินทร์",
        "province": "พัทลุง",
        "region": 12,
        "registered_at": "2024-03-08T09:00:00+00:00",
    }


def record(uow, event):
    uow.session.execute(applied.insert().values(fund_code=event.data["fund_code"]))


class Subscriber:
    name = "backbone_subscriber"
    db = Database(metadata)
    instrumentation = Instrumentation()

    @event_handler("FundRegistered")
    def on_fund_registered(self, event):
        if event.data["fund_code"] == POISON:
            raise RuntimeError("this fund cannot be handled")
        self.db.apply_event(event, record)


class Producer:
    name = "backbone_producer"
    db = Database(metadata)
    instrumentation = Instrumentation()

    @rpc
    def register(self, code):
        with self.db.unit_of_work() as uow:
            return uow.publish("FundRegistered", fund_data(code), subject=code).id


QUEUE = "backbone_subscriber.on_fund_registered"


@pytest.fixture(autouse=True)
def clean_queues(amqp_uri):
    testing.delete_handler_queues(amqp_uri, QUEUE)


@pytest.fixture
def database(database_url):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield database_url, engine
    engine.dispose()


def count(engine, table, *conditions):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*conditions)).scalar()


def start(container_factory, service, amqp_uri, database_url, **extra):
    container = container_factory(service, testing.container_config(amqp_uri, database_url, **extra))
    container.start()
    return container


def test_a_redelivered_event_is_applied_once(container_factory, amqp_uri, database):
    url, engine = database
    start(container_factory, Subscriber, amqp_uri, url)
    event = testing.make_event("FundRegistered", fund_data("L0001"))
    duplicates = testing.consumed("backbone_subscriber", "on_fund_registered", event.type, "duplicate")
    testing.publish_event(amqp_uri, event)
    testing.publish_event(amqp_uri, event)  # the broker redelivers, or a relay published twice
    testing.wait_for(
        lambda: testing.consumed("backbone_subscriber", "on_fund_registered", event.type, "duplicate") == duplicates + 1
    )
    assert count(engine, applied, applied.c.fund_code == "L0001") == 1
    assert count(engine, processed, processed.c.event_id == event.id) == 1


def test_a_poison_message_is_dead_lettered_after_its_retries_while_others_flow(container_factory, amqp_uri, database):
    url, engine = database
    start(container_factory, Subscriber, amqp_uri, url)
    retried = EVENTS_RETRIED.labels(
        "backbone_subscriber", f"backbone_subscriber.{'on_fund_registered'}", "kongtun.FundRegistered.v1"
    )
    retried_before = retried._value.get()
    poison = testing.make_event("FundRegistered", fund_data(POISON))
    testing.publish_event(amqp_uri, poison)
    for number in range(1, 6):
        testing.publish_event(amqp_uri, testing.make_event("FundRegistered", fund_data(f"L100{number}")))

    testing.wait_for(lambda: count(engine, applied) == 5)
    dead = testing.dead_letters(amqp_uri, QUEUE)
    assert len(dead) == 1
    headers, body = dead[0]
    assert json.loads(body)["id"] == poison.id
    assert headers[REASON_HEADER] == "failed"
    assert headers[ATTEMPT_HEADER] == 2  # two retries (100 ms, 200 ms) after the first try
    assert "failed after 3 attempts" in headers[ERROR_HEADER]
    assert "this fund cannot be handled" in headers[ERROR_HEADER]
    assert retried._value.get() - retried_before == 2
    assert count(engine, applied, applied.c.fund_code == POISON) == 0


def test_an_event_that_breaks_its_contract_is_dead_lettered_at_once_with_the_reason(
    container_factory, amqp_uri, database
):
    url, engine = database
    start(container_factory, Subscriber, amqp_uri, url)
    dead_counter = EVENTS_DEAD_LETTERED.labels(
        "backbone_subscriber", "backbone_subscriber.on_fund_registered", "kongtun.FundRegistered.v1", "invalid"
    )
    before = dead_counter._value.get()
    envelope = testing.make_event("FundRegistered", fund_data("L0003")).to_envelope()
    envelope["data"]["region"] = 99
    testing.publish_raw(amqp_uri, envelope, "kongtun.FundRegistered.v1")
    testing.publish_raw(amqp_uri, b"{not json", "kongtun.FundRegistered.v1")

    dead = testing.dead_letters(amqp_uri, QUEUE, count=2)
    reasons = sorted((headers[REASON_HEADER], headers[ERROR_HEADER]) for headers, _ in dead)
    assert [reason for reason, _ in reasons] == ["invalid", "invalid"]
    assert any("data.region" in error for _, error in reasons)
    assert any("not JSON" in error for _, error in reasons)
    assert ATTEMPT_HEADER not in dead[0][0]  # no retries for what can never succeed
    testing.wait_for(lambda: dead_counter._value.get() - before == 1)  # counted just after the publish
    assert count(engine, applied) == 0


def test_a_relay_that_dies_between_commit_and_publish_loses_nothing(container_factory, amqp_uri, database, event_spy):
    url, engine = database
    producer = start(container_factory, Producer, amqp_uri, url, OUTBOX_RELAY_ENABLED=False)
    with entrypoint_hook(producer, "register") as register:
        event_id = register("L0004")
    assert count(engine, outbox, outbox.c.published_at.is_(None)) == 1  # committed, not yet published
    producer.kill()  # the process dies before its relay ran

    start(container_factory, Producer, amqp_uri, url)  # restarted, relay on
    received = event_spy.collect(1, event_type="kongtun.FundRegistered.v1")
    assert [event["id"] for event in received] == [event_id]
    testing.wait_for(lambda: count(engine, outbox, outbox.c.published_at.is_(None)) == 0)
    assert event_spy.collect(2, timeout=1.0, event_type="kongtun.FundRegistered.v1") == received  # once only


def test_a_republished_event_after_a_lost_confirm_is_applied_once(container_factory, amqp_uri, database):
    url, engine = database
    start(container_factory, Subscriber, amqp_uri, url)
    producer = start(container_factory, Producer, amqp_uri, url)
    with entrypoint_hook(producer, "register") as register:
        register("L0005")
    testing.wait_for(lambda: count(engine, applied) == 1)
    testing.wait_for(lambda: count(engine, outbox, outbox.c.published_at.is_(None)) == 0)
    duplicates = testing.consumed("backbone_subscriber", "on_fund_registered", "kongtun.FundRegistered.v1", "duplicate")
    with engine.begin() as connection:  # as if the relay died after publishing, before marking
        connection.execute(update(outbox).values(published_at=None))
    testing.wait_for(  # published again, and recognised as a repeat
        lambda: (
            testing.consumed("backbone_subscriber", "on_fund_registered", "kongtun.FundRegistered.v1", "duplicate")
            == duplicates + 1
        )
    )
    assert count(engine, applied) == 1


def test_an_unroutable_event_is_kept_and_published_once_a_queue_is_bound(container_factory, tmp_path):
    url = f"sqlite:///{tmp_path / 'producer.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    with testing.fresh_vhost() as lonely_broker:  # nobody subscribes to anything here
        unroutable = EVENTS_UNROUTABLE.labels("backbone_producer", "kongtun.FundRegistered.v1")
        before = unroutable._value.get()
        producer = start(container_factory, Producer, lonely_broker, url)
        with entrypoint_hook(producer, "register") as register:
            register("L0006")
        testing.wait_for(lambda: unroutable._value.get() > before)
        with engine.connect() as connection:
            row = connection.execute(select(outbox)).mappings().one()
        assert row["published_at"] is None
        assert row["last_error"] == "unroutable: no queue is bound for kongtun.FundRegistered.v1"

        spy = testing.EventSpy(lonely_broker)  # an integrator binds a queue
        try:
            received = spy.collect(1, timeout=15.0)
            assert [event["id"] for event in received] == [row["event_id"]]
        finally:
            spy.close()
        producer.stop()
    engine.dispose()
