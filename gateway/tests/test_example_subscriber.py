"""examples/subscriber.py works: its own queue on kongtun.events, duplicates dropped; webhook signatures checked."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from kombu import Connection, Exchange

from kongtun_common import testing

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("kongtun_example_subscriber", ROOT / "examples" / "subscriber.py")
subscriber = importlib.util.module_from_spec(spec)
spec.loader.exec_module(subscriber)


def test_the_amqp_subscriber_binds_its_own_queue_and_skips_redeliveries(amqp_uri, capsys):
    with Connection(amqp_uri) as connection:
        Exchange("kongtun.events", type="topic", durable=True)(connection.channel()).declare()
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(
            handled=subscriber.consume_amqp(amqp_uri, "acme.kongtun", ["kongtun.ReportOverdue.v1"], limit=2, timeout=10)
        )
    )
    worker.start()
    deadline = time.monotonic() + 10
    with Connection(amqp_uri) as connection:
        while True:  # wait for the binding
            try:
                connection.channel().queue_declare("acme.kongtun", passive=True)
                break
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    time.sleep(0.3)
    overdue = testing.make_event("ReportOverdue", {"fund_code": "L3363"}, subject="p1")
    other = testing.make_event("ReportOverdue", {"fund_code": "L3364"}, subject="p2")
    for body in (overdue.to_json(), overdue.to_json(), other.to_json()):  # a redelivery in between
        testing.publish_raw(amqp_uri, body, "kongtun.ReportOverdue.v1")
    testing.publish_raw(amqp_uri, testing.make_event("ReportDue", {}).to_json(), "kongtun.ReportDue.v1")  # not bound
    worker.join(20)
    assert result == {"handled": 2}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == [overdue.id, other.id]
    assert lines[0]["fund_code"] == "L3363" and lines[0]["type"] == "kongtun.ReportOverdue.v1"


def test_the_webhook_receiver_accepts_only_fresh_correct_signatures():
    server = subscriber.webhook_server(0, "s3cret")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    body = json.dumps({"id": "e1", "type": "kongtun.ReportOverdue.v1", "data": {}}).encode()

    def post(signature: str) -> int:
        request = urllib.request.Request(url, data=body, headers={"Kongtun-Signature": signature}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        now = int(time.time())
        from kongtun_notifications.transports import sign

        assert post(sign("s3cret", now, body)) == 204
        assert post(sign("wrong", now, body)) == 401
        assert post(sign("s3cret", now - 3600, body)) == 401  # a replay
        assert post("garbage") == 401
    finally:
        server.shutdown()
        server.server_close()
