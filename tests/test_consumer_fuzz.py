"""Bad events at a real service's consumers, on the real broker: malformed JSON, non-UTF-8, oversized, wrong
version, unknown type, an envelope missing fields, a payload breaking its contract, and hypothesis-made garbage.

Every one ends in the handler's dead letters with ``x-kongtun-reason`` (or, for the rare generated body that
happens to be a valid event, is applied like any other), the consumer keeps going, and a good event sent
after all of them is applied. (tests/test_backbone.py covers a poison event's retries and one invalid body.)
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kombu import Connection
from prometheus_client import REGISTRY
from sqlalchemy import func, select

import kongtun_reporting
from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_common.events.consumer import MAX_EVENT_BYTES
from kongtun_common.events.topology import ERROR_HEADER, REASON_HEADER, dead_letter_queue
from kongtun_reporting import orm
from kongtun_reporting.service import ReportingService

FUNDS_QUEUE = "reporting.on_fund_registered"  # bound to kongtun.FundRegistered.v1
HISTORY_QUEUE = "reporting.keep_event_history"  # bound to kongtun.#
ROUTING_KEY = "kongtun.FundRegistered.v1"
REASONS = {"invalid", "unexpected_type", "failed"}


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


def envelope(code: str = "L0001", **changes) -> dict:
    data = testing.make_event("FundRegistered", fund_data(code), subject=code).to_envelope()
    data.update(changes)
    return data


def without(mapping: dict, key: str) -> dict:
    return {name: value for name, value in mapping.items() if name != key}


def named_cases() -> list[tuple[str, bytes, str]]:
    """(what, body, routing key): each can never be applied."""
    good = envelope()
    broken_data = envelope(data={**fund_data("L0002"), "region": 99})
    return [
        ("malformed JSON", b'{"id": "x", "type": ', ROUTING_KEY),
        ("not UTF-8", b"\xff\xfe\x00 not utf-8 \xc3\x28", ROUTING_KEY),
        ("JSON but not an object", b"[1, 2, 3]", ROUTING_KEY),
        ("oversized", b'{"pad": "' + b"x" * MAX_EVENT_BYTES + b'"}', ROUTING_KEY),
        ("wrong version in the body", json.dumps(envelope(type="kongtun.FundRegistered.v9")).encode(), ROUTING_KEY),
        (
            "wrong version routed",
            json.dumps(envelope(type="kongtun.FundRegistered.v9")).encode(),
            "kongtun.FundRegistered.v9",
        ),
        ("unknown type", json.dumps(envelope(type="kongtun.NoSuchThing.v1")).encode(), "kongtun.NoSuchThing.v1"),
        ("another type on this queue", json.dumps(envelope(type="kongtun.PlanApproved.v1")).encode(), ROUTING_KEY),
        ("envelope without id", json.dumps(without(good, "id")).encode(), ROUTING_KEY),
        ("envelope without type", json.dumps(without(good, "type")).encode(), ROUTING_KEY),
        ("envelope without data", json.dumps(without(good, "data")).encode(), ROUTING_KEY),
        ("payload breaking its contract", json.dumps(broken_data).encode(), ROUTING_KEY),
        ("region of the wrong kind", json.dumps(envelope(region="twelve")).encode(), ROUTING_KEY),
        ("deeply nested", b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b"}", ROUTING_KEY),
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
ENVELOPE_FIELDS = ["id", "source", "specversion", "type", "time", "subject", "datacontenttype", "dataschema"]
ENVELOPE_FIELDS += ["region", "correlationid", "data"]


@st.composite
def mutated_envelope(draw) -> bytes:
    """A valid envelope with one field removed or replaced by any JSON value (mostly invalid ones)."""
    body = envelope(draw(st.from_regex(r"L[0-9]{4}", fullmatch=True)))
    field = draw(st.sampled_from(ENVELOPE_FIELDS))
    if draw(st.booleans()):
        body.pop(field)
    else:
        body[field] = draw(json_values)
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


garbage = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda text: text.encode("utf-8")),
    json_values.map(lambda value: json.dumps(value).encode()),
    mutated_envelope(),
)


def generated_bodies(count: int) -> list[bytes]:
    bodies: list[bytes] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None)
    @given(garbage)
    def collect(body):
        bodies.append(body)

    collect()
    return bodies


def consumed(handler: str, outcomes=("applied", "duplicate")) -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name != "kongtun_events_consumed":
            continue
        for sample in metric.samples:
            if (
                sample.name.endswith("_total")
                and sample.labels.get("handler") == handler
                and sample.labels.get("outcome") in outcomes
            ):
                total += sample.value
    return total


def queue_depth(amqp_uri: str, name: str) -> int:
    with Connection(amqp_uri) as connection:
        return connection.channel().queue_declare(name, passive=True).message_count


def drain_dead_letters(amqp_uri: str, queue: str) -> list[tuple[dict, bytes]]:
    """Take every message now in a handler's dead letters (raw: some bodies are not even text)."""
    found = []
    with Connection(amqp_uri) as connection:
        bound = dead_letter_queue(queue)(connection.channel())
        while (message := bound.get(no_ack=False)) is not None:
            found.append((message.headers, message.body))
            message.ack()
    return found


@pytest.fixture
def reporting(container_factory, tmp_path):
    with testing.fresh_vhost() as amqp_uri:  # no other test's events reach these queues
        url = testing.migrated(f"sqlite:///{tmp_path / 'reporting.db'}", kongtun_reporting)
        engine = make_engine(url)
        config = testing.container_config(amqp_uri, url, REPORTING_CHECK_SECONDS=60)
        container = container_factory(ReportingService, config)
        container.start()
        yield amqp_uri, engine, container
        container.stop()
        engine.dispose()


def test_bad_events_are_dead_lettered_with_a_reason_and_the_consumer_keeps_going(reporting):
    amqp_uri, engine, container = reporting
    cases = named_cases() + [(f"generated #{n}", body, ROUTING_KEY) for n, body in enumerate(generated_bodies(80))]
    applied_before = {queue: consumed(queue) for queue in (FUNDS_QUEUE, HISTORY_QUEUE)}
    for _what, body, routing_key in cases:
        testing.publish_raw(amqp_uri, body, routing_key, content_type="application/cloudevents+json")

    # Every message reaches an end: applied (a generated body may be a valid event) or dead-lettered.
    expected = {
        FUNDS_QUEUE: sum(1 for _, _, key in cases if key == ROUTING_KEY),
        HISTORY_QUEUE: len(cases),
    }
    dead: dict[str, list] = {FUNDS_QUEUE: [], HISTORY_QUEUE: []}
    deadline = time.monotonic() + 60
    while True:
        for queue in dead:
            dead[queue] += drain_dead_letters(amqp_uri, queue)
        ended = {queue: len(dead[queue]) + consumed(queue) - applied_before[queue] for queue in dead}
        if all(ended[queue] >= expected[queue] for queue in dead):
            break
        assert time.monotonic() < deadline, f"messages unaccounted for: ended {ended}, expected {expected}"
        time.sleep(0.2)

    for letters in dead.values():
        for headers, _body in letters:
            assert headers[REASON_HEADER] in REASONS, headers
            assert headers[ERROR_HEADER], headers
    reasons = {headers[ERROR_HEADER] for headers, _ in dead[FUNDS_QUEUE]}
    assert any("not UTF-8" in reason for reason in reasons)
    assert any("not JSON" in reason for reason in reasons)
    assert any(f"over the {MAX_EVENT_BYTES} bytes" in reason for reason in reasons)
    assert any("data.region" in reason for reason in reasons)
    history_reasons = {headers[ERROR_HEADER] for headers, _ in dead[HISTORY_QUEUE]}
    assert any("NoSuchThing" in reason for reason in history_reasons), history_reasons
    assert len(dead[FUNDS_QUEUE]) >= len(named_cases()) - 2  # the two routed elsewhere never reach this queue

    # The consumer kept going: a good event after all of them is applied.
    good = testing.make_event("FundRegistered", fund_data("L0999"), subject="L0999")
    testing.publish_event(amqp_uri, good)
    facts = orm.fund_facts

    def applied():
        with engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(facts).where(facts.c.fund_code == "L0999")
            ).scalar()

    testing.wait_for(applied, timeout=15)
    assert queue_depth(amqp_uri, FUNDS_QUEUE) == 0
    assert container.started
