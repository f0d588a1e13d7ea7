"""Faults under load: the broker restarted, each process killed with -9 and restarted, PostgreSQL stopped
for 10 s. After each, once the system settled: every acknowledged request is in the owning service's records
and in reporting's read models, nothing was applied twice, no dead letter is unexplained.

Each test runs the traffic driver (bench/traffic.py) against the same system, so the checks are cumulative.
"""

from __future__ import annotations

import threading
import time

import pytest
from system import System, check_consistency, report
from traffic import proposal

pytestmark = pytest.mark.faults

RETRY_AFTER_BOUND_S = 3.0
WRITES = {"create", "submit", "approve", "start", "report"}


@pytest.fixture(scope="module")
def system(private_broker, private_postgres, tmp_path_factory):
    running = System(private_broker, private_postgres, tmp_path_factory.mktemp("faults-var"))
    try:
        running.start()
        running.prepare_funds()
        running.subscribe_webhook()
        yield running
    finally:
        running.stop()


def probe(system: System, stop: threading.Event, results: list, interval: float = 0.5) -> None:
    """While a fault lasts: what a client sees on a read, a write and /health (status, seconds, Retry-After)."""
    session = system.session()
    fund = system.funds[0]
    requests_to_try = [
        ("summary", "GET", "/api/v1/reporting/summary", None),
        ("balance", "GET", f"/api/v1/funds/{fund.fund_code}/balance?fiscal_year=2567", None),
        ("create", "POST", "/api/v1/projects", proposal(fund, 0, 1000)),
        ("health", "GET", "/health", None),
    ]
    while not stop.is_set():
        for name, method, path, body in requests_to_try:
            began = time.monotonic()
            try:
                response = session.request(method, system.base + path, json=body, timeout=15)
                outcome = (name, response.status_code, time.monotonic() - began, response.headers.get("Retry-After"))
            except Exception as exc:  # noqa: BLE001 - recorded, judged by the test
                outcome = (name, type(exc).__name__, time.monotonic() - began, None)
            results.append(outcome)
        stop.wait(interval)
    session.close()


def first_write_after(traffic, moment: float) -> float | None:
    """Seconds from ``moment`` (monotonic) until the gateway acknowledged a write again."""
    since = moment - traffic.started_at
    done = [o.at for o in traffic.outcomes if o.at > since and o.op in WRITES and o.status in (200, 201)]
    return round(min(done) - since, 1) if done else None


def settle_and_check(system: System, traffic, name: str, **figures) -> dict:
    assert not traffic.failures, "\n".join(traffic.failures[:20])
    settle_s = system.wait_settled(timeout=180)
    result = check_consistency(system, traffic)
    figures = {**figures, **traffic.summary(), **result, "settled_in_s": round(settle_s, 1)}
    report(name, figures)
    return figures


def test_a_broker_restart_under_load_loses_nothing_and_doubles_nothing(system):
    traffic = system.traffic(projects=2000, duration_s=30, officers=3).start()
    time.sleep(8)
    stop_probe, probed = threading.Event(), []
    system.broker.stop()
    down_at = time.monotonic()
    prober = threading.Thread(target=probe, args=(system, stop_probe, probed), daemon=True)
    prober.start()
    time.sleep(8)
    stop_probe.set()
    prober.join(30)
    started_s = system.broker.start()
    back_at = time.monotonic()
    outage_s = back_at - down_at
    traffic.join()

    service_answers = [outcome for outcome in probed if outcome[0] != "health"]
    assert service_answers, "the probe sent nothing while the broker was down"
    for name, status, seconds, retry_after in service_answers:
        assert status == 503, f"{name} answered {status} while the broker was down: {probed}"
        assert retry_after, f"{name} answered 503 without Retry-After"
        assert seconds <= RETRY_AFTER_BOUND_S, f"{name} took {seconds:.2f}s to answer 503"
    health = [outcome for outcome in probed if outcome[0] == "health"]
    assert all(status == 200 for _, status, _, _ in health), health

    settle_and_check(
        system,
        traffic,
        "broker restart",
        outage_s=round(outage_s, 1),
        broker_start_s=round(started_s, 1),
        writes_again_after_s=first_write_after(traffic, back_at),
        answer_503_max_s=round(max(seconds for _, _, seconds, _ in service_answers), 3),
        answer_503_count=len(service_answers),
    )


@pytest.mark.parametrize("name", ["projects", "funds", "reporting", "notifications", "gateway"])
def test_a_process_killed_with_minus_9_under_load_loses_nothing(system, name):
    traffic = system.traffic(projects=2000, duration_s=12, officers=3).start()
    time.sleep(5)
    restart_s = system.kill_and_restart(name, down_s=2.0)
    traffic.join()
    settle_and_check(system, traffic, f"kill -9 {name}", restart_to_healthy_s=round(restart_s, 1))


def test_postgres_stopped_for_10_seconds_under_load_loses_nothing(system):
    traffic = system.traffic(projects=2000, duration_s=30, officers=3).start()
    time.sleep(8)
    stop_probe, probed = threading.Event(), []
    system.postgres.stop("fast")
    down_at = time.monotonic()
    prober = threading.Thread(target=probe, args=(system, stop_probe, probed), daemon=True)
    prober.start()
    time.sleep(10)
    stop_probe.set()
    prober.join(30)
    system.postgres.start()
    back_at = time.monotonic()
    outage_s = back_at - down_at
    traffic.join()

    answers = [outcome for outcome in probed if outcome[0] != "health"]
    bad = [outcome for outcome in answers if outcome[1] != 503 or not outcome[3]]
    assert not bad, f"while PostgreSQL was down: {bad[:10]}"
    settle_and_check(
        system,
        traffic,
        "postgres stop",
        outage_s=round(outage_s, 1),
        writes_again_after_s=first_write_after(traffic, back_at),
        answer_503_max_s=round(max((seconds for _, _, seconds, _ in answers), default=0), 3),
        answer_503_count=len(answers),
    )
