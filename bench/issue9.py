"""Issue 9's other figures, in one run of the real five processes: cold start, event propagation, memory.

1. **Cold start**: a fresh var dir (empty SQLite files) and a fresh vhost; from launching the five processes
   (``Stack.start_all``: each migrates its database, declares its queues, then answers /health) until all are
   healthy, until the gateway's /ready (which asks every service) answers 200, and until the first submit
   succeeded.  Submitting needs a fund, a programme, an approved plan and a draft: those setup requests are
   timed apart, so "first submit" is given both from launch and as its own latency.
2. **Memory (RSS)**: ``VmRSS`` from ``/proc/<pid>/status`` of every process and of the broker (``beam.smp``,
   shared with whatever else uses the local RabbitMQ): idle (after start and setup), the highest value sampled
   every 0.25 s during the paced load and during a closed-loop burst, and ``VmHWM`` (peak) at the end.
3. **Event propagation** at a steady, paced load (default 20 submits/s for 15 s, open loop: request i is sent
   at t0 + i/rate whatever happened to the others): for every ``ProjectSubmitted``, the time from the projects
   service's outbox row (``outbox.created_at``, written in the submit's transaction, just before its commit) to
   reporting's inbox row for its read-model handler (``processed_events.processed_at`` for
   ``reporting.on_project_submitted``, written in the transaction that updates the read model, just before its
   commit).  Both are UTC timestamps from the same clock, read from the two SQLite files after the run, joined
   on the event id: every event is counted, nothing is sampled, and the measurement adds no load.

Loopback only, own vhost and ports (gateway 18000, ops 19101-19104), bounded in requests and time.

    .venv/bin/python bench/issue9.py [--rate 20] [--seconds 15] [--burst 500] [--json PATH]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from load import json_body, run_load, use_token
from slice_submit import (
    FUND,
    HOST,
    BenchError,
    broker_pid,
    consumed_submissions,
    get_json,
    kongtun_env,
    linked_to_a_plan,
    machine,
    port_free,
    wait_until,
)

from kongtun_common.stack import Stack
from kongtun_common.testing import fresh_vhost

PROPAGATION_AIM_MS = 100.0


def status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Samples VmRSS of some processes every ``interval`` seconds in a thread; keeps the highest."""

    def __init__(self, pids: dict[str, int], interval: float = 0.25):
        self.pids, self.interval = pids, interval
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                value = status_kib(pid, "VmRSS")
                if value is not None and value > self.peak.get(name, 0):
                    self.peak[name] = value
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(fraction * len(ordered)))) - 1]


def paced_load(port: int, paths: list[str], rate: float, headers: dict, workers: int = 8) -> tuple[list, list]:
    """Open loop: request i is due at t0 + i/rate; ``workers`` connections take them in turn.

    Returns (latencies of the 2xx answers in seconds, errors).  A request sent late (all workers busy)
    is sent at once and its latency counted from when it was sent.
    """
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    t0 = time.perf_counter() + 0.2

    def worker(k: int):
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            for i in range(k, len(paths), workers):
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                started = time.perf_counter()
                try:
                    connection.request("POST", paths[i], headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    with lock:
                        errors.append(f"{paths[i]}: {type(exc).__name__}: {exc}")
                    continue
                with lock:
                    if 200 <= response.status < 300:
                        latencies.append(time.perf_counter() - started)
                    else:
                        errors.append(f"{paths[i]}: HTTP {response.status}: {payload[:200]!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(workers)]
    for thread in threads:
        thread.start()
    bound = len(paths) / rate + 60
    for thread in threads:
        thread.join(bound)
    if any(thread.is_alive() for thread in threads):
        errors.append("paced load did not finish in time")
    return latencies, errors


def _when(text) -> datetime:
    value = datetime.fromisoformat(str(text))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def propagation_ms(var_dir: Path, event_ids: set[str] | None = None) -> list[float]:
    """For each ProjectSubmitted: reporting's inbox time minus the projects outbox time, in ms."""
    with sqlite3.connect(f"file:{var_dir / 'projects.db'}?mode=ro", uri=True) as projects:
        created = {
            event_id: _when(at)
            for event_id, at in projects.execute(
                "SELECT event_id, created_at FROM outbox WHERE type = 'kongtun.ProjectSubmitted.v1'"
            )
        }
    with sqlite3.connect(f"file:{var_dir / 'reporting.db'}?mode=ro", uri=True) as reporting:
        consumed = {
            event_id: _when(at)
            for event_id, at in reporting.execute(
                "SELECT event_id, processed_at FROM processed_events WHERE handler = 'reporting.on_project_submitted'"
            )
        }
    wanted = event_ids if event_ids is not None else set(created)
    return [(consumed[i] - created[i]).total_seconds() * 1000 for i in wanted if i in consumed and i in created]


def submitted_event_ids(var_dir: Path) -> set[str]:
    with sqlite3.connect(f"file:{var_dir / 'projects.db'}?mode=ro", uri=True) as projects:
        return {
            row[0] for row in projects.execute("SELECT event_id FROM outbox WHERE type = 'kongtun.ProjectSubmitted.v1'")
        }


def rss_table(pids: dict[str, int], columns: dict[str, dict[str, int]]) -> list[str]:
    names = list(pids)
    header = f"{'process':<16}" + "".join(f"{title:>16}" for title in columns)
    lines = [header]
    for name in names:
        cells = "".join(
            f"{(values.get(name) or 0) / 1024:>13.1f} MiB" if values.get(name) else f"{'-':>16}"
            for values in columns.values()
        )
        lines.append(f"{name:<16}{cells}")
    return lines


def run(args, amqp_uri: str, var_dir: Path) -> dict:
    env = kongtun_env(amqp_uri, var_dir, args)
    for name, value in env.items():
        if name.endswith("_PORT") and not port_free(int(value)):
            raise BenchError(f"port {value} ({name}) is in use; pass --gateway-port / --metrics-port")
    stack = Stack(env, log_dir=var_dir)
    stack.env = {key: value for key, value in stack.env.items() if not key.startswith("KONGTUN_") or key in env}
    gateway, reporting = args.gateway_port, args.metrics_port + 3
    figures: dict = {}
    try:
        # 1. cold start
        launched = time.perf_counter()
        stack.start_all(timeout=90)
        healthy = time.perf_counter()
        wait_until(lambda: get_json(gateway, "/ready", timeout=2), 60, "the gateway's /ready", interval=0.05)
        ready = time.perf_counter()
        use_token(stack.admin_token())
        setup_started = time.perf_counter()
        run_load("fund", HOST, gateway, lambda i: ("POST", "/api/v1/funds", json_body(FUND)), 1, 1).raise_for_errors()
        project = json_body(linked_to_a_plan(gateway))
        first = run_load(
            "first draft", HOST, gateway, lambda i: ("POST", "/api/v1/projects", project), 1, 1, keep_bodies=True
        )
        first.raise_for_errors()
        first_id = json.loads(first.bodies[0])["id"]
        setup_s = time.perf_counter() - setup_started
        submit = run_load(
            "first submit", HOST, gateway, lambda i: ("POST", f"/api/v1/projects/{first_id}/submit", None), 1, 1
        )
        submit.raise_for_errors()
        submitted = time.perf_counter()
        figures["cold_start"] = {
            "healthy_s": round(healthy - launched, 2),
            "ready_s": round(ready - launched, 2),
            "setup_requests_s": round(setup_s, 2),
            "first_submit_ms": round(submit.latencies[0] * 1000, 1),
            "first_submit_from_launch_s": round(submitted - launched, 2),
            "first_submit_from_launch_without_setup_s": round(submitted - launched - setup_s, 2),
        }

        pids = {name: process.pid for name, process in stack.processes.items()}
        broker = broker_pid()
        if broker is not None:
            pids["rabbitmq (shared)"] = broker

        # drafts for the paced load and the burst (not measured)
        paced_n = int(args.rate * args.seconds)
        drafts = run_load(
            "drafts",
            HOST,
            gateway,
            lambda i: ("POST", "/api/v1/projects", project),
            paced_n + args.burst,
            args.concurrency,
            deadline_s=args.deadline,
            keep_bodies=True,
        )
        drafts.raise_for_errors()
        ids = [json.loads(body)["id"] for body in drafts.bodies]
        wait_until(lambda: consumed_submissions(reporting)[0] >= 1, 30, "the first submit consumed", interval=0.05)
        time.sleep(args.idle_wait)

        # 2. idle memory
        idle = {name: status_kib(pid, "VmRSS") for name, pid in pids.items()}

        # 3. propagation at a steady, paced load
        before = submitted_event_ids(var_dir)
        headers = {
            "Accept": "application/json",
            "Content-Length": "0",
            "Authorization": f"Bearer {stack.admin_token()}",
        }
        with RssSampler(pids) as paced_rss:
            latencies, errors = paced_load(
                gateway, [f"/api/v1/projects/{pid}/submit" for pid in ids[:paced_n]], args.rate, headers
            )
            if errors:
                raise BenchError(f"paced load: {len(errors)} failed, e.g. {errors[:3]}")
            wait_until(
                lambda: consumed_submissions(reporting)[0] >= 1 + paced_n,
                args.drain_timeout,
                "reporting to consume the paced submits",
            )
        paced_ids = submitted_event_ids(var_dir) - before
        spread = propagation_ms(var_dir, paced_ids)
        if len(spread) != paced_n:
            raise BenchError(f"propagation: {len(spread)} of {paced_n} events matched")
        figures["propagation"] = {
            "rate_per_s": args.rate,
            "events": len(spread),
            "p50_ms": round(percentile(spread, 0.50), 1),
            "p99_ms": round(percentile(spread, 0.99), 1),
            "max_ms": round(max(spread), 1),
            "submit_p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
            "submit_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        }

        # 4. memory under a closed-loop burst
        burst_ids = ids[paced_n:]
        with RssSampler(pids) as burst_rss:
            burst = run_load(
                "burst",
                HOST,
                gateway,
                lambda i: ("POST", f"/api/v1/projects/{burst_ids[i]}/submit", None),
                len(burst_ids),
                args.concurrency,
                deadline_s=args.deadline,
            )
            burst.raise_for_errors()
            wait_until(
                lambda: consumed_submissions(reporting)[0] >= 1 + paced_n + len(burst_ids),
                args.drain_timeout,
                "reporting to consume the burst",
            )
        figures["burst"] = {"requests": len(burst_ids), "throughput_rps": round(burst.throughput, 1)}
        peak = {name: status_kib(pid, "VmHWM") for name, pid in pids.items()}
        figures["rss_kib"] = {
            "idle": idle,
            "paced_max": paced_rss.peak,
            "burst_max": burst_rss.peak,
            "peak_hwm": peak,
        }
        figures["pids"] = pids
        return figures
    finally:
        stack.stop_all()


def report(info: dict, figures: dict) -> str:
    cold, spread = figures["cold_start"], figures["propagation"]
    rss = figures["rss_kib"]
    verdict = "meets" if spread["p99_ms"] <= PROPAGATION_AIM_MS else "ABOVE"
    lines = [
        "Issue 9: cold start, event propagation, memory",
        f"  date:     {info['date']}",
        f"  machine:  {info['machine']['nproc']} CPU(s), {info['machine']['cpu_model']}; "
        f"{info['machine']['platform']}; Python {info['machine']['python']}",
        "",
        "Cold start (fresh SQLite files, fresh vhost, migrations included):",
        f"  launch -> all five /health          {cold['healthy_s']:>7.2f} s",
        f"  launch -> gateway /ready            {cold['ready_s']:>7.2f} s",
        f"  setup requests (fund, plan, draft)  {cold['setup_requests_s']:>7.2f} s  (not part of the start)",
        f"  first submit's own latency          {cold['first_submit_ms']:>7.1f} ms",
        f"  launch -> first submit succeeded    {cold['first_submit_from_launch_s']:>7.2f} s "
        f"({cold['first_submit_from_launch_without_setup_s']:.2f} s without the setup requests)",
        "",
        f"Event propagation, ProjectSubmitted: projects outbox row -> reporting read-model inbox row, "
        f"paced {spread['rate_per_s']:g} submits/s, {spread['events']} events:",
        f"  p50 {spread['p50_ms']:.1f} ms   p99 {spread['p99_ms']:.1f} ms   max {spread['max_ms']:.1f} ms   "
        f"({verdict} the {PROPAGATION_AIM_MS:g} ms p99 aim)",
        f"  submit latency at the gateway meanwhile: p50 {spread['submit_p50_ms']:.1f} ms, "
        f"p99 {spread['submit_p99_ms']:.1f} ms",
        "",
        f"Memory (VmRSS; burst = {figures['burst']['requests']} submits at C={info['concurrency']}, "
        f"{figures['burst']['throughput_rps']} req/s):",
        *(
            "  " + line
            for line in rss_table(
                figures["pids"],
                {
                    "idle": rss["idle"],
                    "paced max": rss["paced_max"],
                    "burst max": rss["burst_max"],
                    "peak (HWM)": rss["peak_hwm"],
                },
            )
        ),
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Issue 9: cold start, event propagation latency, memory per process.")
    parser.add_argument("--rate", type=float, default=20.0, help="paced submits per second (default 20)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the paced load (default 15)")
    parser.add_argument("--burst", type=int, default=500, help="closed-loop submits for memory under load")
    parser.add_argument("--concurrency", "-c", type=int, default=20, help="connections for drafts and the burst")
    parser.add_argument("--idle-wait", type=float, default=2.0, help="seconds of quiet before the idle RSS")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--gateway-port", type=int, default=18000)
    parser.add_argument("--metrics-port", type=int, default=19101, help="first of four service ops ports")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds allowed per load phase")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary var dir (logs, SQLite files)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0 or args.burst < 1 or args.concurrency < 1:
        parser.error("--rate, --seconds, --burst and --concurrency must be positive")
    if args.rate * args.seconds > 20_000:
        parser.error("at most 20,000 paced submits")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    info = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "concurrency": args.concurrency,
    }
    var_dir = Path(tempfile.mkdtemp(prefix="kongtun-issue9-"))
    failed = True
    try:
        with fresh_vhost() as amqp_uri:
            print(f"issue9: fresh vhost, var dir {var_dir}", flush=True)
            figures = run(args, amqp_uri, var_dir)
        failed = False
    except Exception as exc:
        print(f"issue9: FAILED: {type(exc).__name__}: {exc}\nissue9: logs kept in {var_dir / 'log'}", file=sys.stderr)
        return 1
    finally:
        if not failed and not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)
    print()
    print(report(info, figures))
    if args.json:
        args.json.write_text(json.dumps({**info, **figures}, indent=2, ensure_ascii=False) + "\n")
        print(f"  figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
