"""kongtun-admin on the real broker (a vhost of this module's own) and real databases.

Dead letters are made the way production makes them: a running nameko container's
event handler fails an event through its retries, or refuses an invalid one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue
from nameko.extensions import DependencyProvider

import kongtun_funds
from kongtun_common import admin, testing
from kongtun_common.engine import make_engine, utcnow
from kongtun_common.events.consumer import event_handler
from kongtun_common.events.topology import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    EVENTS_EXCHANGE,
    QUEUE_HEADER,
    REASON_HEADER,
)

ROOT = Path(__file__).resolve().parents[3]
QUEUE = "reporting.on_fund_registered"  # a real handler queue name, in this module's own vhost
DEAD = QUEUE + ".dead-letters"
DELAYS = [50, 100]


class Switch(DependencyProvider):
    """Whether the handler fails: the 'bug' an operator fixes before replaying."""

    failing = True
    handled: list = []

    def get_dependency(self, worker_ctx):
        return self


class ProbeService:
    name = "reporting"
    switch = Switch()

    @event_handler("FundRegistered")
    def on_fund_registered(self, event):
        if Switch.failing:
            raise RuntimeError("the read model is broken")
        Switch.handled.append(event.id)


def fund_registered(code: str = "L3363"):
    return testing.make_event(
        "FundRegistered",
        {
            "fund_code": code,
            "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
            "name_en": None,
            "subdistrict": "บ้านไร่",
            "district": "ศรีนครินทร์",
            "province": "พัทลุง",
            "region": 12,
            "registered_at": datetime.now(UTC).isoformat(),
        },
        subject=code,
        service="funds",
    )


@pytest.fixture(scope="module")
def vhost_uri():
    with testing.fresh_vhost() as uri:
        yield uri


@pytest.fixture
def broker(vhost_uri):
    testing.delete_handler_queues(vhost_uri, QUEUE, DELAYS)
    Switch.failing = True
    Switch.handled = []
    yield vhost_uri
    testing.delete_handler_queues(vhost_uri, QUEUE, DELAYS)


def start_probe(container_factory, amqp_uri):
    container = container_factory(ProbeService, testing.container_config(amqp_uri, EVENT_RETRY_DELAYS_MS=DELAYS))
    container.start()
    return container


def depth(amqp_uri: str, name: str) -> int:
    with Connection(amqp_uri) as connection:
        return connection.channel().queue_declare(queue=name, passive=True).message_count


def make_dead_letters(container_factory, amqp_uri, count: int = 2) -> tuple[list, object]:
    """Events that fail through their retries, plus one invalid message; return the event ids."""
    container = start_probe(container_factory, amqp_uri)
    events = [fund_registered(f"L{3360 + index}") for index in range(count)]
    for event in events:
        testing.publish_event(amqp_uri, event)
    testing.publish_raw(amqp_uri, b"{not json", "kongtun.FundRegistered.v1")
    testing.wait_for(lambda: depth(amqp_uri, DEAD) == count + 1, timeout=15)
    return [event.id for event in events], container


def run(capsys, *argv) -> tuple[int, str, str]:
    status = admin.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_json(capsys, *argv):
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    return json.loads(out)


# --- queues ---------------------------------------------------------------------------


def test_queues_lists_handler_retry_and_dead_letter_queues_with_depth_and_consumers(container_factory, broker, capsys):
    make_dead_letters(container_factory, broker)
    listed = run_json(capsys, "--amqp-uri", broker, "queues", "--via", "rabbitmqctl")
    assert listed["source"] == "rabbitmqctl"
    rows = {row["name"]: row for row in listed["queues"]}
    assert rows[QUEUE]["kind"] == "handler" and rows[QUEUE]["consumers"] == 1
    assert rows[DEAD] == {"name": DEAD, "kind": "dead-letters", "messages": 3, "ready": 3, "unacked": 0, "consumers": 0}
    assert rows[f"{QUEUE}.retry.50ms"]["kind"] == "retry"
    assert not [name for name in rows if name.startswith("rpc.reply")], "reply queues are hidden without --all"

    status, out, _ = run(capsys, "--amqp-uri", broker, "queues", "--via", "rabbitmqctl")
    assert status == 0
    line = next(line for line in out.splitlines() if line.startswith(DEAD))
    assert line.split() == [DEAD, "dead-letters", "3", "0", "0"]


def _management_answers() -> bool:
    try:
        with urllib.request.urlopen("http://127.0.0.1:15672/api/overview", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answers (401 without credentials)
    except OSError:
        return False


def test_queues_from_the_management_api_match_rabbitmqctl(container_factory, broker, capsys):
    if not _management_answers():
        pytest.skip("the RabbitMQ management plugin is not enabled here (rabbitmq-plugins enable rabbitmq_management)")
    make_dead_letters(container_factory, broker)

    def dead_letters_counted():
        listed = run_json(capsys, "--amqp-uri", broker, "queues", "--via", "management")
        rows = [row for row in listed["queues"] if row["name"] == DEAD and row["messages"] == 3]
        return listed if rows else None

    # The management API's counts are sampled (every 5 s by default): wait for them to catch up.
    by_management = testing.wait_for(dead_letters_counted, timeout=15, interval=0.5)
    by_rabbitmqctl = run_json(capsys, "--amqp-uri", broker, "queues", "--via", "rabbitmqctl")
    assert by_management["source"] == "management"
    assert {row["name"] for row in by_management["queues"]} == {row["name"] for row in by_rabbitmqctl["queues"]}


def test_management_unreachable_falls_back_to_rabbitmqctl(broker, capsys, monkeypatch):
    monkeypatch.setenv("KONGTUN_RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    testing.delete_handler_queues(broker, QUEUE, DELAYS)
    with Connection(broker) as connection:
        Queue(DEAD, durable=True)(connection.channel()).declare()
    listed = run_json(capsys, "--amqp-uri", broker, "queues")
    assert listed["source"] == "rabbitmqctl"
    assert DEAD in {row["name"] for row in listed["queues"]}
    status, _, err = run(capsys, "--amqp-uri", broker, "queues", "--via", "management")
    assert status == 1 and "management API did not answer" in err


# --- dead letters -------------------------------------------------------------------------


def test_dead_letters_list_names_only_queues_holding_messages(container_factory, broker, capsys):
    make_dead_letters(container_factory, broker, count=1)
    with Connection(broker) as connection:
        Queue("funds.other_handler.dead-letters", durable=True)(connection.channel()).declare()
    try:
        listed = run_json(capsys, "--amqp-uri", broker, "dead-letters", "list")
        assert listed["dead_letters"] == [{"queue": DEAD, "handler_queue": QUEUE, "messages": 2}]
        everything = run_json(capsys, "--amqp-uri", broker, "dead-letters", "list", "--all")
        assert {row["queue"] for row in everything["dead_letters"]} == {DEAD, "funds.other_handler.dead-letters"}
    finally:
        with Connection(broker) as connection:
            connection.channel().queue_delete("funds.other_handler.dead-letters")


def test_inspect_shows_the_kongtun_headers_and_leaves_the_messages_queued_in_order(container_factory, broker, capsys):
    event_ids, _ = make_dead_letters(container_factory, broker)
    first = run_json(capsys, "--amqp-uri", broker, "dead-letters", "inspect", QUEUE, "-n", "10")
    assert first["waiting"] == 3
    messages = first["messages"]
    assert len(messages) == 3
    failed = [message for message in messages if message["headers"].get(REASON_HEADER) == "failed"]
    assert sorted(message["event_id"] for message in failed) == sorted(event_ids)
    for message in failed:
        headers = message["headers"]
        assert headers[ATTEMPT_HEADER] == len(DELAYS)
        assert headers[QUEUE_HEADER] == QUEUE
        assert "the read model is broken" in headers[ERROR_HEADER]
        assert message["type"] == "kongtun.FundRegistered.v1"
    (invalid,) = [message for message in messages if message["headers"].get(REASON_HEADER) == "invalid"]
    assert invalid["body"] == "{not json" and invalid["event_id"] is None

    assert depth(broker, DEAD) == 3, "inspecting must not consume"
    again = run_json(capsys, "--amqp-uri", broker, "dead-letters", "inspect", DEAD, "-n", "2")
    assert [message["event_id"] for message in again["messages"]] == [m["event_id"] for m in messages[:2]]
    assert depth(broker, DEAD) == 3

    status, out, _ = run(capsys, "--amqp-uri", broker, "dead-letters", "inspect", QUEUE, "-n", "1")
    assert status == 0
    assert f"{DEAD}: 3 message(s) waiting; showing 1 (left in the queue)" in out
    assert f"{REASON_HEADER}: invalid" in out and "body: {not json" in out  # the first to die is first shown


def test_replay_moves_messages_back_to_their_handler_queue_with_the_attempt_count_reset(
    container_factory, broker, capsys
):
    event_ids, container = make_dead_letters(container_factory, broker)
    container.stop()  # nobody consumes: what arrives in the handler queue stays there to be read
    replayed = run_json(capsys, "--amqp-uri", broker, "dead-letters", "replay", DEAD, "-n", "2")
    assert replayed == {"queue": QUEUE, "dead_letters": DEAD, "replayed": 2, "left": 1}
    assert depth(broker, DEAD) == 1
    assert depth(broker, QUEUE) == 2
    with Connection(broker) as connection:
        channel = connection.channel()
        moved = [channel.basic_get(queue=QUEUE, no_ack=True) for _ in range(2)]
    reasons = []
    for message in moved:
        headers = message.properties["application_headers"]
        assert ATTEMPT_HEADER not in headers
        reasons.append(headers[REASON_HEADER])  # the history stays readable
        assert message.properties["content_type"] == "application/cloudevents+json"
        if headers[REASON_HEADER] == "failed":
            assert json.loads(message.body)["id"] in event_ids
    assert sorted(reasons) == ["failed", "invalid"], "oldest first: the invalid one died first"


def test_replayed_events_are_handled_once_the_cause_is_fixed(container_factory, broker, capsys):
    event_ids, _ = make_dead_letters(container_factory, broker)
    Switch.failing = False  # the fix is deployed
    status, out, _ = run(capsys, "--amqp-uri", broker, "dead-letters", "replay", QUEUE, "--all")
    assert status == 0 and f"replayed 3 message(s) from {DEAD} to {QUEUE};" in out
    testing.wait_for(lambda: len(Switch.handled) == 2, timeout=10)
    assert sorted(Switch.handled) == sorted(event_ids)
    # The invalid message is still invalid: the consumer dead-letters it again.
    testing.wait_for(lambda: depth(broker, DEAD) == 1, timeout=10)


def test_replay_refuses_when_the_handler_queue_is_gone_and_keeps_the_dead_letters(container_factory, broker, capsys):
    _, container = make_dead_letters(container_factory, broker, count=1)
    container.stop()
    with Connection(broker) as connection:
        connection.channel().queue_delete(QUEUE)
    status, _, err = run(capsys, "--amqp-uri", broker, "dead-letters", "replay", DEAD, "--all")
    assert status == 1 and f"no queue '{QUEUE}'" in err
    assert depth(broker, DEAD) == 2


def test_inspect_of_an_unknown_queue_fails_with_its_name(broker, capsys):
    status, _, err = run(capsys, "--amqp-uri", broker, "dead-letters", "inspect", "funds.nothing_here")
    assert status == 1 and "no queue 'funds.nothing_here.dead-letters'" in err


# --- outboxes -------------------------------------------------------------------------------


@pytest.fixture
def funds_db(database_url):
    url = testing.migrated(database_url, kongtun_funds)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


def add_outbox_rows(engine, rows: list[dict]) -> None:
    table = admin._outbox_table()
    with engine.begin() as connection:
        for row in rows:
            connection.execute(table.insert(), {"attempts": 0, "created_at": utcnow(), **row})


def outbox_row(event, **extra) -> dict:
    return {"event_id": event.id, "type": event.type, "payload": event.to_json(), **extra}


def test_outbox_status_counts_pending_and_published_and_shows_the_oldest_with_its_error(funds_db, capsys):
    url, engine = funds_db
    published, stuck, fresh = (fund_registered(code) for code in ("L0001", "L0002", "L0003"))
    add_outbox_rows(
        engine,
        [
            outbox_row(published, published_at=utcnow()),
            outbox_row(stuck, attempts=3, last_error="unroutable: no queue is bound for kongtun.FundRegistered.v1"),
            outbox_row(fresh),
        ],
    )
    report = run_json(capsys, "outbox", "status", "funds", "--database-url", url)
    (funds,) = report["outboxes"]
    assert (funds["service"], funds["pending"], funds["published"]) == ("funds", 2, 1)
    oldest = funds["oldest_pending"]
    assert [row["event_id"] for row in oldest] == [stuck.id, fresh.id]
    assert oldest[0]["attempts"] == 3 and oldest[0]["last_error"].startswith("unroutable")
    assert oldest[1]["last_error"] is None

    status, out, _ = run(capsys, "outbox", "status", "funds", "--database-url", url)
    assert status == 0
    assert out.splitlines()[1].split() == ["funds", "2", "1"]
    assert f"{stuck.id} pending" in out and "last error: unroutable" in out


def test_outbox_status_reads_each_service_database_from_the_environment(tmp_path, monkeypatch, capsys):
    for service in admin.SERVICES:
        package = __import__(f"kongtun_{service}")
        url = testing.migrated(f"sqlite:///{tmp_path / (service + '.db')}", package)
        monkeypatch.setenv(f"KONGTUN_{service.upper()}_DATABASE_URL", url)
    engine = make_engine(f"sqlite:///{tmp_path / 'projects.db'}")
    add_outbox_rows(engine, [outbox_row(fund_registered())])
    engine.dispose()
    report = run_json(capsys, "outbox", "status")
    assert {row["service"]: row["pending"] for row in report["outboxes"]} == {
        "funds": 0,
        "projects": 1,
        "notifications": 0,
        "reporting": 0,
    }


def test_outbox_drain_publishes_what_is_routable_and_reports_what_is_left(funds_db, vhost_uri, capsys):
    url, engine = funds_db
    listener = f"test-admin-drain-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(EVENTS_EXCHANGE, type="topic", durable=True)
    with Connection(vhost_uri) as connection:
        Queue(listener, exchange=exchange, routing_key="kongtun.FundRegistered.v1", auto_delete=False)(
            connection.channel()
        ).declare()
    routable = [fund_registered(f"L110{index}") for index in range(3)]
    nobody_listens = testing.make_event(
        "ReportDue",
        {},  # the relay publishes payloads as recorded; the contract was checked when they were
        service="reporting",
    )
    add_outbox_rows(engine, [outbox_row(event) for event in routable] + [outbox_row(nobody_listens)])
    try:
        result = run_json(capsys, "--amqp-uri", vhost_uri, "outbox", "drain", "funds", "--database-url", url)
        assert result["published"] == 3 and result["pending"] == 1
        (left,) = result["still_pending"]
        assert left["event_id"] == nobody_listens.id and left["last_error"].startswith("unroutable")
        with Connection(vhost_uri) as connection:
            simple = connection.SimpleQueue(listener)
            received = [json.loads(simple.get(timeout=5).body)["id"] for _ in routable]
            simple.close()
        assert received == [event.id for event in routable], "published in outbox order"
        again = run_json(capsys, "outbox", "status", "funds", "--database-url", url)
        assert again["outboxes"][0]["published"] == 3
    finally:
        with Connection(vhost_uri) as connection:
            connection.channel().queue_delete(listener)


def test_outbox_drain_of_an_unknown_service_fails(capsys):
    status, _, err = run(capsys, "outbox", "drain", "billing")
    assert status == 1 and "unknown service 'billing'" in err


# --- what other issues provide ---------------------------------------------------------------


def test_import_runs_the_funds_import_on_the_funds_database(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KONGTUN_FUNDS_DATABASE_URL", f"sqlite:///{tmp_path / 'funds.db'}")
    bad = tmp_path / "funds.csv"
    bad.write_text("code,name_th\nL12,กองทุนทดสอบ\n", encoding="utf-8")
    status, out, err = run(capsys, "import", "funds", str(bad))
    assert status != 0 and "funds.csv" in out + err  # the funds import's own errors, naming the file
    status, out, _ = run(capsys, "import", "seed")
    assert status == 0 and out.strip()  # the shipped regions, funds and taxonomies


def test_read_models_rebuild_runs_reportings_rebuild(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KONGTUN_REPORTING_DATABASE_URL", f"sqlite:///{tmp_path / 'reporting.db'}")
    import kongtun_reporting

    testing.migrated(f"sqlite:///{tmp_path / 'reporting.db'}", kongtun_reporting)
    status, out, _ = run(capsys, "read-models", "rebuild")
    assert status == 0 and "rebuilt the read models from 0 events" in out


def test_a_zero_count_is_a_usage_error(capsys):
    status, _, err = run(capsys, "dead-letters", "inspect", QUEUE, "-n", "0")
    assert status == 2 and "--count" in err


def test_the_console_script_is_declared_and_the_module_runs():
    scripts = tomllib.loads((ROOT / "libs/common/pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["kongtun-admin"] == "kongtun_common.admin:main"
    result = subprocess.run(
        [sys.executable, "-m", "kongtun_common.admin", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("queues", "dead-letters", "outbox", "tokens", "import", "read-models"):
        assert command in result.stdout
