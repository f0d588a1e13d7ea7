"""A sample Kongtun subscriber: events straight from the broker (AMQP), or by signed webhook.

Needs only ``kombu`` (AMQP) and the standard library.  See docs/integrators.md.

AMQP: your own durable queue, bound to the topic exchange ``kongtun.events`` with the
routing keys you want (the CloudEvents type, e.g. ``kongtun.ProjectApproved.v1``; ``kongtun.#``
for every event).  Use a read-only broker user (see docs/integrators.md)::

    python examples/subscriber.py amqp --amqp-uri amqp://integrator:secret@broker:5672/ \\
        --queue acme.kongtun --bind kongtun.ProjectApproved.v1 --bind kongtun.ReportOverdue.v1

Webhook: an HTTP endpoint checking the ``Kongtun-Signature`` header (HMAC-SHA256 of
``"<t>." + body`` with the secret given when the subscription was made)::

    python examples/subscriber.py webhook --port 8081 --secret <the subscription's secret>

Each event is printed as one JSON line; duplicates (delivery is at-least-once) are
recognised by the event id and skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, HTTPServer

EXCHANGE = "kongtun.events"
TOLERANCE_SECONDS = 300


class Seen:
    """The last ``size`` event ids: enough to drop redeliveries (keep them in your database in production)."""

    def __init__(self, size: int = 10_000):
        self.ids: OrderedDict[str, None] = OrderedDict()
        self.size = size

    def first_time(self, event_id: str) -> bool:
        if event_id in self.ids:
            return False
        self.ids[event_id] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return True


def handle(event: dict, seen: Seen, out=None) -> bool:
    """Your processing goes here.  Returns whether the event was new."""
    if not seen.first_time(event.get("id", "")):
        return False
    data = event.get("data") or {}
    line = {
        "id": event.get("id"),
        "type": event.get("type"),
        "region": event.get("region"),
        "subject": event.get("subject"),
        "time": event.get("time"),
        "fund_code": data.get("fund_code"),
        "data": data,
    }
    print(json.dumps(line, ensure_ascii=False), file=out or sys.stdout, flush=True)
    return True


# --- AMQP ----------------------------------------------------------------------------------------


def consume_amqp(amqp_uri: str, queue_name: str, bindings: list[str], limit: int | None = None, timeout=None) -> int:
    """Consume until interrupted (or ``limit`` events, or ``timeout`` seconds of silence); returns how many."""
    from kombu import Connection, Exchange, Queue

    exchange = Exchange(EXCHANGE, type="topic", durable=True, passive=True)  # exists; we never declare it
    queue = Queue(
        queue_name,
        exchange=exchange,
        bindings=None,
        durable=True,
        queue_arguments={"x-queue-type": "classic"},
    )
    seen, handled = Seen(), 0
    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        bound = queue(channel)
        bound.declare()
        for key in bindings:
            bound.bind_to(exchange=EXCHANGE, routing_key=key)

        def on_message(body, message):
            nonlocal handled
            try:
                event = json.loads(body) if isinstance(body, (str, bytes)) else body
                if handle(event, seen):
                    handled += 1
                message.ack()  # after processing: a crash before this means redelivery, not loss
            except (ValueError, TypeError):
                message.reject(requeue=False)  # not JSON: never retry it

        with connection.Consumer(bound, callbacks=[on_message], accept=["json", "application/cloudevents+json"]):
            while limit is None or handled < limit:
                try:
                    connection.drain_events(timeout=timeout)
                except TimeoutError:
                    break
    return handled


# --- webhook -----------------------------------------------------------------------------------


def signature_valid(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_SECONDS:
        return False  # too old or from the future: a replay
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def webhook_server(port: int, secret: str, host: str = "127.0.0.1") -> HTTPServer:
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server convention
            body = self.rfile.read(min(int(self.headers.get("Content-Length", 0)), 1024 * 1024))
            if not signature_valid(secret, self.headers.get("Kongtun-Signature", ""), body):
                self.send_response(401)
                self.end_headers()
                return
            try:
                payload = json.loads(body)
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            event = payload if "id" in payload else {"id": self.headers.get("Kongtun-Delivery", ""), "data": payload}
            event.setdefault("type", self.headers.get("Kongtun-Event"))
            handle(event, seen)
            self.send_response(204)  # 2xx quickly; do slow work elsewhere
            self.end_headers()

        def log_message(self, *_args):
            pass

    return HTTPServer((host, port), Handler)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="A sample Kongtun subscriber.")
    modes = parser.add_subparsers(dest="mode", required=True)
    amqp = modes.add_parser("amqp", help="consume from your own queue bound to kongtun.events")
    amqp.add_argument("--amqp-uri", required=True, help="a read-only broker user, e.g. amqp://acme:secret@host:5672/")
    amqp.add_argument("--queue", required=True, help="your queue's name, e.g. acme.kongtun (never Kongtun's own)")
    amqp.add_argument("--bind", action="append", default=[], help="a routing key (repeat); default kongtun.#")
    amqp.add_argument("--limit", type=int, help="stop after this many events")
    hook = modes.add_parser("webhook", help="receive signed webhook deliveries")
    hook.add_argument("--port", type=int, default=8081)
    hook.add_argument("--host", default="127.0.0.1")
    hook.add_argument("--secret", required=True, help="the secret returned when the subscription was made")
    args = parser.parse_args(argv)
    if args.mode == "amqp":
        try:
            consume_amqp(args.amqp_uri, args.queue, args.bind or ["kongtun.#"], args.limit)
        except KeyboardInterrupt:
            pass
        return 0
    server = webhook_server(args.port, args.secret, args.host)
    print(f"listening on http://{args.host}:{args.port}/", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
