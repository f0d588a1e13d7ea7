"""Notifications delivery benchmark: messages delivered per second by email (real SMTP server) and by
webhook (real HTTP receiver), and fan-out latency from an event's publish to each delivery (p50/p99).

The notifications service and the gateway run as real processes (``Stack``) on a fresh vhost, SQLite,
loopback.  Phases: (1) a burst of ReportDue events, each fanning out to M mentors by email;
(2) a burst of ReportDue events, each fanning out to S webhook subscriptions; (3) a paced stream
(events/s well below capacity) with both, for latency without a backlog.

    .venv/bin/python bench/notifications_delivery.py [--events 50 --mentors 20 --subscriptions 10] [--json out]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("nbench_servers", ROOT / "services/notifications/tests/servers.py")
servers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(servers)

from kongtun_common import testing  # noqa: E402
from kongtun_common.stack import Stack  # noqa: E402

TAG = re.compile(r"#(\d+)")


def report_due(index: int, fund_code: str) -> tuple:
    project_id = str(uuid.uuid4())
    facts = testing.sample_project_facts(project_id, fund_code=fund_code)
    data = {
        "obligation_id": str(uuid.uuid4()),
        "project_id": project_id,
        "project_title": f"โครงการทดสอบ #{index}",
        **{key: facts[key] for key in ("fund_code", "fund_name", "subdistrict", "district", "province", "region")},
        "report": "progress",
        "due_date": "2030-06-08",
        "days_before_due": 7,
        "owner": facts["owner"],
    }
    return testing.make_event("ReportDue", data, subject=project_id, service="reporting")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def email_arrivals(sink) -> list[tuple[int, float]]:
    found = []
    for path in sorted(sink.directory.glob("*.eml")):
        message = servers.BytesParser(policy=servers.policy.default).parsebytes(path.read_bytes())
        match = TAG.search(servers.text_of(message))
        found.append((int(match.group(1)), path.stat().st_mtime))
    return found


def hook_arrivals(receiver) -> list[tuple[int, float]]:
    return [
        (int(TAG.search(json.loads(hit["body"])["data"]["project_title"]).group(1)), hit["at"])
        for hit in receiver.received()
    ]


def wait_count(fn, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if len(got) >= count:
            return got
        time.sleep(0.1)
    raise SystemExit(f"only {len(fn())} of {count} deliveries within {timeout}s")


def publish(amqp_uri, events, rate: float | None, sent_at: dict, offset: int):
    started = time.time()
    for index, event in enumerate(events):
        if rate:
            delay = started + index / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        sent_at[offset + index] = time.time()
        testing.publish_event(amqp_uri, event)


def summarise(name, arrivals, sent_at, first_publish):
    latencies = [(at - sent_at[index]) * 1000 for index, at in arrivals]
    span = max(at for _, at in arrivals) - first_publish
    return {
        "phase": name,
        "delivered": len(arrivals),
        "seconds": round(span, 2),
        "per_second": round(len(arrivals) / span, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--mentors", type=int, default=20)
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--paced-events", type=int, default=20)
    parser.add_argument("--paced-rate", type=float, default=2.0, help="events per second in the latency phase")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kongtun-nbench-"))
    sink = servers.SmtpSink(work / "mail")
    receiver = servers.WebhookReceiver(work / "hooks")
    results = []
    try:
        with testing.fresh_vhost() as amqp_uri:
            env = {
                "KONGTUN_AMQP_URI": amqp_uri,
                "KONGTUN_VAR_DIR": str(work / "var"),
                "KONGTUN_GATEWAY_PORT": "18000",
                "KONGTUN_NOTIFICATIONS_METRICS_PORT": "19103",
                "KONGTUN_NOTIFICATIONS_SMTP_PORT": str(sink.port),
                "KONGTUN_OUTBOX_POLL_SECONDS": "0.2",
                "KONGTUN_GATEWAY_RATE_PER_SECOND": "0",
            }
            stack = Stack(env, log_dir=work / "var", names=("notifications", "gateway"))
            try:
                stack.start_all(timeout=60)
                api = "http://127.0.0.1:18000/api/v1/notifications"
                http = requests.Session()
                http.headers["Authorization"] = f"Bearer {stack.admin_token()}"
                for index in range(args.mentors):
                    http.post(
                        f"{api}/recipients",
                        json={
                            "name": f"พี่เลี้ยง {index}",
                            "email": f"mentor{index}@bench.example",
                            "roles": [{"scope": "L3363", "role": "mentor"}],
                        },
                        timeout=15,
                    ).raise_for_status()
                sent_at: dict[int, float] = {}

                # 1. email burst: events x mentors
                events = [report_due(i, "L3363") for i in range(args.events)]
                first = time.time()
                publish(amqp_uri, events, None, sent_at, 0)
                mails = wait_count(lambda: email_arrivals(sink), args.events * args.mentors, 300)
                results.append(summarise("email burst", mails, sent_at, first))

                # 2. webhook burst: events x subscriptions (fund L7777: no mentors, so no email)
                for _ in range(args.subscriptions):
                    http.post(
                        f"{api}/webhooks",
                        json={"owner": "bench", "url": receiver.url, "types": ["ReportDue"], "fund_codes": ["L7777"]},
                        timeout=15,
                    ).raise_for_status()
                offset = 10_000
                events = [report_due(offset + i, "L7777") for i in range(args.events * 2)]
                first = time.time()
                publish(amqp_uri, events, None, sent_at, offset)
                hooks = wait_count(lambda: hook_arrivals(receiver), len(events) * args.subscriptions, 300)
                results.append(summarise("webhook burst", hooks, sent_at, first))

                # 3. paced: latency without a backlog, both channels
                offset, before_mail, before_hooks = 20_000, len(mails), len(hooks)
                paced = []
                for i in range(args.paced_events):  # alternate an email event and a webhook event
                    paced.append((offset + 2 * i, report_due(offset + 2 * i, "L3363")))
                    paced.append((offset + 2 * i + 1, report_due(offset + 2 * i + 1, "L7777")))
                first = time.time()
                for number, (index, event) in enumerate(paced):
                    delay = first + number / (2 * args.paced_rate) - time.time()
                    if delay > 0:
                        time.sleep(delay)
                    sent_at[index] = time.time()
                    testing.publish_event(amqp_uri, event)
                mails = wait_count(lambda: email_arrivals(sink), before_mail + args.paced_events * args.mentors, 120)
                hooks = wait_count(
                    lambda: hook_arrivals(receiver), before_hooks + args.paced_events * args.subscriptions, 120
                )
                results.append(summarise("email paced", [m for m in mails if m[0] >= offset], sent_at, first))
                results.append(summarise("webhook paced", [h for h in hooks if h[0] >= offset], sent_at, first))
            finally:
                stack.stop_all()
    finally:
        sink.stop()
        receiver.stop()

    print(f"Machine: {platform.machine()}, Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"events={args.events} mentors={args.mentors} subscriptions={args.subscriptions} paced={args.paced_rate}/s\n")
    print("| phase | delivered | seconds | per second | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in results:
        print(
            f"| {row['phase']} | {row['delivered']} | {row['seconds']} | {row['per_second']} | {row['p50_ms']} |"
            f" {row['p99_ms']} | {row['max_ms']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
