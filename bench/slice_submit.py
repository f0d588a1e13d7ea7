"""Slice submit throughput: Kongtun's submit path against a bare nameko chain, in one run.

1. Bare chain (bench/bare_chain.py): HTTP -> RPC -> EventDispatcher -> event_handler, one process.
2. Kongtun slice: the real five processes (kongtun_common.stack.Stack); one fund and the draft
   projects are created first (not measured), then ``POST /api/v1/projects/{id}/submit`` is measured:
   gateway -> projects.submit over RPC -> state change + outbox row in one transaction -> relay
   publishes ProjectSubmitted with confirms -> reporting consumes it.

Both sides run against one fresh RabbitMQ vhost, on their own ports, with the same closed-loop
client (bench/load.py), N requests at concurrency C after a warm-up.  Absolute figures are noisy;
the ratio of the two throughputs from one run is the number to compare.  The bare chain is measured
before and after Kongtun and the ratio taken against the mean of its two runs, so that drift on a
shared machine shows instead of silently moving the ratio; CPU per request (by process, from /proc)
is printed for every phase.

    .venv/bin/python bench/slice_submit.py [--requests N] [--concurrency C] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from load import AUTHORIZATION, LoadResult, json_body, run_load, use_token

from kongtun_common.stack import Stack
from kongtun_common.testing import fresh_vhost

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
TARGET_RATIO = 0.8  # issue 9: submit at >= 0.8x the bare chain
SUBMITTED_TYPE = "kongtun.ProjectSubmitted.v1"
APPROVED_TYPE = "kongtun.ProjectApproved.v1"

FUND = {
    "code": "L3363",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
}
PROJECT = {
    "fund_code": "L3363",
    "title": "โครงการส่งเสริมการออกกำลังกาย",
    "fiscal_year": 2567,
    "issue": "physical_activity",
    "spending_type": 2,
    "owner": {"name": "ชมรมผู้สูงอายุบ้านไร่", "kind": "citizen_group", "members": 25},
    "requested_amount": "25000.00",
    "start_date": "2024-01-08",
    "end_date": "2024-06-08",
    "activities": [{"name": "เต้นแอโรบิกทุกเย็น", "start_date": "2024-01-15", "end_date": "2024-05-31"}],
    "budget_lines": [{"group": "materials", "description": "ค่าวัสดุ", "amount": "25000.00"}],
}


def linked_to_a_plan(gateway_port: int) -> dict:
    """The fund's programme, agreement, approved plan and income (the submission checks need a plan)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
    from fund_setup import prepare_fund_for_projects

    def post(path, body):
        request = urllib.request.Request(
            f"http://{HOST}:{gateway_port}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **AUTHORIZATION},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    plan = prepare_fund_for_projects(post, "L3363", 2567, "physical_activity", "100000000.00")
    return {
        **PROJECT,
        "plan_id": plan["plan_id"],
        "indicator_targets": [{"indicator_id": plan["indicator_id"], "target": "60"}],
    }


class BenchError(RuntimeError):
    pass


# Machine and small helpers


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((HOST, port)) != 0


def get_json(port: int, path: str, timeout: float = 2.0) -> dict:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=timeout) as response:
        return json.loads(response.read())


def get_text(port: int, path: str, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=timeout) as response:
        return response.read().decode()


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` (bounded by ``timeout``); return its truthy value or fail."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def broker_pid(port: int = 5672) -> int | None:
    """The local RabbitMQ node (beam.smp) listening on the AMQP ``port``, to charge its CPU time too.

    Other Erlang nodes may run on the machine (a test's private broker): the one that owns the listening
    socket is chosen; failing that (no permission to read its fds), the first ``rabbit`` node; else None.
    """
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    candidates = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "beam.smp":
                continue
            candidates.append(entry)
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    return int(entry.name)
        except OSError:
            continue
    for entry in candidates:
        try:
            if b"rabbit" in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except OSError:
            continue
    return None


@dataclass
class Measurement:
    result: LoadResult
    events_s: float  # first measured request -> all N events consumed
    cpu_ms: dict[str, float]  # CPU milliseconds per measured request, by process


def measured(
    name: str, port: int, make_request, args, *, warmup_name: str, warmup_request, settle, pids: dict[str, int]
) -> Measurement:
    """Warm up, settle, measure N requests at C, then time until the events were consumed.

    ``settle(count)`` waits until ``count`` events were consumed and returns the moment it saw them.
    CPU time of ``pids`` (plus the broker and this client) is charged from the start of the measured
    load until its events were consumed.
    """
    warm = run_load(warmup_name, HOST, port, warmup_request, args.warmup, args.concurrency, deadline_s=args.deadline)
    warm.raise_for_errors()
    settle(args.warmup)
    pids = {**pids, "rabbitmq": broker_pid(), "load client": os.getpid()}
    pids = {label: pid for label, pid in pids.items() if pid is not None}
    cpu_before = {label: cpu_seconds(pid) for label, pid in pids.items()}
    started = time.perf_counter()
    result = run_load(name, HOST, port, make_request, args.requests, args.concurrency, deadline_s=args.deadline)
    result.raise_for_errors()
    consumed_at = settle(args.warmup + args.requests)
    cpu_ms = {
        label: round((cpu_seconds(pid) - cpu_before[label]) * 1000 / args.requests, 2) for label, pid in pids.items()
    }
    return Measurement(result, consumed_at - started, cpu_ms)


# 1. The bare nameko chain


def bench_bare(amqp_uri: str, args, log_dir: Path) -> Measurement:
    port = args.bare_port
    if not port_free(port):
        raise BenchError(f"port {port} (bare chain) is in use; pass --bare-port")
    log_path = log_dir / "bare_chain.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "bare_chain.py"), "--amqp-uri", amqp_uri, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def healthy():
            if process.poll() is not None:
                raise BenchError(f"bare chain exited with {process.returncode}; see {log_path}")
            return get_json(port, "/ready", timeout=2)  # HTTP and the RPC behind it answer

        wait_until(healthy, 30, "the bare chain to answer /ready", interval=0.1)

        def settle(count: int) -> float:
            wait_until(
                lambda: get_json(port, "/stats")["consumed"]["project_submitted"] >= count,
                args.drain_timeout,
                f"the bare chain to consume {count} events",
                interval=0.02,
            )
            return time.perf_counter()

        return measured(
            "bare chain",
            port,
            lambda i: ("POST", f"/submit/bench-{i}", None),
            args,
            warmup_name="bare warm-up",
            warmup_request=lambda i: ("POST", f"/submit/warm-{i}", None),
            settle=settle,
            pids={"bare chain (1 process)": process.pid},
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# 2. The Kongtun slice


def kongtun_env(amqp_uri: str, var_dir: Path, args) -> dict:
    ports = {"FUNDS": 0, "PROJECTS": 1, "NOTIFICATIONS": 2, "REPORTING": 3}
    env = {
        "KONGTUN_AMQP_URI": amqp_uri,
        "KONGTUN_VAR_DIR": str(var_dir),
        "KONGTUN_GATEWAY_PORT": str(args.gateway_port),
        "KONGTUN_REPORTING_CHECK_SECONDS": "3600",
        "KONGTUN_GATEWAY_ADMIN_TOKEN_FILE": str(var_dir / "admin.token"),  # the gateway writes its admin token
        "KONGTUN_GATEWAY_RATE_PER_SECOND": "0",  # no per-token rate limit while measuring
    }
    for service, offset in ports.items():
        env[f"KONGTUN_{service}_METRICS_PORT"] = str(args.metrics_port + offset)
    if getattr(args, "pythonpath", None):  # A/B runs: packages of another version shadow the installed ones
        env["PYTHONPATH"] = args.pythonpath
        env["KONGTUN_CONTRACTS_DIR"] = str(HERE.parent / "contracts")  # found next to the packages otherwise
    return env


def consumed_submissions(
    reporting_port: int, event_type: str = SUBMITTED_TYPE, handler: str = "reporting.on_project_submitted"
) -> tuple[int, int]:
    """(applied, failed) events of one type by one of reporting's handlers, according to its /metrics."""
    applied = failed = 0
    for line in get_text(reporting_port, "/metrics").splitlines():
        if (
            not line.startswith("kongtun_events_consumed_total{")
            or f'type="{event_type}"' not in line
            or f'handler="{handler}"' not in line
        ):
            continue
        value = int(float(line.rsplit(" ", 1)[1]))
        if 'outcome="applied"' in line:
            applied += value
        elif 'outcome="failed"' in line:
            failed += value
    return applied, failed


def bench_kongtun(amqp_uri: str, var_dir: Path, args) -> tuple[Measurement, dict]:
    env = kongtun_env(amqp_uri, var_dir, args)
    for name, value in env.items():
        if name.endswith("_PORT") and not port_free(int(value)):
            raise BenchError(f"port {value} ({name}) is in use; pass --gateway-port / --metrics-port")
    stack = Stack(env, log_dir=var_dir)
    # Inherit nothing Kongtun-specific from the caller's shell (a dev DATABASE_URL, say): SQLite under var_dir.
    stack.env = {key: value for key, value in stack.env.items() if not key.startswith("KONGTUN_") or key in env}
    gateway, reporting = args.gateway_port, args.metrics_port + 3
    setup: dict = {}
    try:
        t0 = time.perf_counter()
        stack.start_all(timeout=60)
        use_token(stack.admin_token())
        setup["stack_start_s"] = round(time.perf_counter() - t0, 2)

        fund = run_load("fund", HOST, gateway, lambda i: ("POST", "/api/v1/funds", json_body(FUND)), 1, 1)
        fund.raise_for_errors()

        drafts_needed = args.warmup + args.requests
        project_body = json_body(linked_to_a_plan(gateway))
        drafts = run_load(
            "create drafts",
            HOST,
            gateway,
            lambda i: ("POST", "/api/v1/projects", project_body),
            drafts_needed,
            args.concurrency,
            deadline_s=args.deadline,
            keep_bodies=True,
        )
        drafts.raise_for_errors()
        ids = [json.loads(body)["id"] for body in drafts.bodies]
        setup["drafts"] = drafts_needed
        setup["drafts_rps"] = round(drafts.throughput, 1)
        warm_ids, bench_ids = ids[: args.warmup], ids[args.warmup :]

        def settle(count: int) -> float:
            def done():
                applied, failed = consumed_submissions(reporting)
                if failed:
                    raise BenchError(f"reporting failed to apply {failed} ProjectSubmitted events")
                return applied >= count

            wait_until(done, args.drain_timeout, f"reporting to consume {count} ProjectSubmitted", interval=0.02)
            return time.perf_counter()

        pids = {name: process.pid for name, process in stack.processes.items()}
        measurement = measured(
            "kongtun slice",
            gateway,
            lambda i: ("POST", f"/api/v1/projects/{bench_ids[i]}/submit", None),
            args,
            warmup_name="kongtun warm-up",
            warmup_request=lambda i: ("POST", f"/api/v1/projects/{warm_ids[i]}/submit", None),
            settle=settle,
            pids=pids,
        )

        def settle_approvals(count: int) -> float:
            def done():
                applied, failed = consumed_submissions(reporting, APPROVED_TYPE, "reporting.on_project_approved")
                if failed:
                    raise BenchError(f"reporting failed to apply {failed} ProjectApproved events")
                return applied >= count

            wait_until(done, args.drain_timeout, f"reporting to consume {count} ProjectApproved", interval=0.02)
            return time.perf_counter()

        if args.skip_approve:
            return measurement, setup
        approval = json_body({"approved_amount": "25000.00", "approved_by": "คณะกรรมการกองทุน"})
        setup["approve"] = measured(
            "kongtun approve",
            gateway,
            lambda i: ("POST", f"/api/v1/projects/{bench_ids[i]}/approve", approval),
            args,
            warmup_name="kongtun approve warm-up",
            warmup_request=lambda i: ("POST", f"/api/v1/projects/{warm_ids[i]}/approve", approval),
            settle=settle_approvals,
            pids=pids,
        )
        return measurement, setup
    finally:
        stack.stop_all()


# Report


def row(label: str, measurement: Measurement) -> str:
    result, events = measurement.result, measurement.events_s
    return (
        f"{label:<26}{result.throughput:>9.1f}{result.p50 * 1000:>10.1f}{result.p99 * 1000:>10.1f}"
        f"{max(result.latencies) * 1000:>10.1f}{len(result.errors):>8}{result.elapsed:>11.2f}"
        f"{events:>12.2f}"
    )


def cpu_line(measurement: Measurement) -> str:
    total = sum(measurement.cpu_ms.values())
    parts = ", ".join(f"{label} {ms:.2f}" for label, ms in sorted(measurement.cpu_ms.items(), key=lambda kv: -kv[1]))
    return f"{total:.2f} ms = {parts}"


def cpu_total(measurement: Measurement, without: tuple[str, ...] = ()) -> float:
    return sum(ms for label, ms in measurement.cpu_ms.items() if label not in without)


def report(
    info: dict, bare: Measurement, kongtun: Measurement, approve: Measurement | None, bare_after: Measurement
) -> str:
    bare_rps = (bare.result.throughput + bare_after.result.throughput) / 2
    ratio = kongtun.result.throughput / bare_rps
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    lines = [
        "Slice submit throughput (Kongtun vs bare nameko chain)",
        f"  date:     {info['date']}",
        f"  machine:  {info['machine']['nproc']} CPU(s), {info['machine']['cpu_model']}; "
        f"{info['machine']['platform']}; Python {info['machine']['python']}",
        f"  load:     N={info['requests']} requests, C={info['concurrency']} connections, "
        f"warm-up {info['warmup']} per side",
        "",
        f"{'':<26}{'req/s':>9}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'errors':>8}{'elapsed s':>11}{'events s':>12}",
        row("bare nameko chain", bare),
        row("kongtun slice (submit)", kongtun),
        *([row("kongtun approve", approve)] if approve else []),
        row("bare chain again", bare_after),
        "",
        f"  ratio kongtun/bare throughput: {ratio:.2f}  ({verdict} the {TARGET_RATIO} target; "
        f"bare = mean of its two runs, {bare_rps:.1f} req/s)",
        *([f"  ratio approve/bare throughput: {approve.result.throughput / bare_rps:.2f}"] if approve else []),
        f"  ratio bare/kongtun CPU per request: submit {cpu_total(bare) / cpu_total(kongtun):.2f}"
        + (f", approve {cpu_total(bare) / cpu_total(approve):.2f}" if approve else "")
        + "  (what the throughput ratio tends to when both are CPU-bound on the same cores, nothing else running)",
        f"  the same without the broker (it serves every vhost on the machine, so others' traffic lands in its CPU): "
        f"submit {cpu_total(bare, ('rabbitmq',)) / cpu_total(kongtun, ('rabbitmq',)):.2f}"
        + (f", approve {cpu_total(bare, ('rabbitmq',)) / cpu_total(approve, ('rabbitmq',)):.2f}" if approve else ""),
        "  events s: from the first measured request until the handler had consumed all N events.",
        "  CPU per request (ms, by process, measured load until events consumed):",
        f"    bare:    {cpu_line(bare)}",
        f"    bare 2:  {cpu_line(bare_after)}",
        f"    kongtun: {cpu_line(kongtun)}",
        *([f"    approve: {cpu_line(approve)}"] if approve else []),
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Kongtun slice submit throughput against a bare nameko chain.")
    parser.add_argument("--requests", "-n", type=int, default=1000, help="measured requests per side (default 1000)")
    parser.add_argument("--concurrency", "-c", type=int, default=20, help="connections (default 20)")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up requests per side (default 50)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--gateway-port", type=int, default=18000)
    parser.add_argument("--metrics-port", type=int, default=19101, help="first of four service ops ports")
    parser.add_argument("--bare-port", type=int, default=18100)
    parser.add_argument("--deadline", type=float, default=90.0, help="seconds allowed per load phase")
    parser.add_argument("--drain-timeout", type=float, default=60.0, help="seconds to wait for events consumed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary var dir (logs, SQLite files)")
    parser.add_argument("--skip-approve", action="store_true", help="measure submit only")
    parser.add_argument(
        "--pythonpath",
        help="PYTHONPATH for the Kongtun processes, for A/B runs against another version's packages "
        "(e.g. a `git archive` of HEAD's libs/common and services/projects)",
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--requests and --concurrency must be >= 1, --warmup >= 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    info = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "requests": args.requests,
        "concurrency": args.concurrency,
        "warmup": args.warmup,
    }
    var_dir = Path(tempfile.mkdtemp(prefix="kongtun-bench-"))
    failed = True
    t0 = time.perf_counter()
    try:
        with fresh_vhost() as amqp_uri:
            print(f"bench: fresh vhost, var dir {var_dir}", flush=True)
            print(f"bench: bare chain, N={args.requests} C={args.concurrency} ...", flush=True)
            bare = bench_bare(amqp_uri, args, var_dir)
            print(f"bench: kongtun slice, N={args.requests} C={args.concurrency} ...", flush=True)
            kongtun, setup = bench_kongtun(amqp_uri, var_dir, args)
            print(
                "bench: bare chain again (machine drift shows as a difference between the two bare rows) ...",
                flush=True,
            )
            bare_after = bench_bare(amqp_uri, args, var_dir)
        failed = False
    except BenchError as exc:
        print(f"bench: FAILED: {exc}\nbench: logs kept in {var_dir / 'log'}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"bench: FAILED: {type(exc).__name__}: {exc}\nbench: logs kept in {var_dir / 'log'}", file=sys.stderr)
        return 1
    finally:
        if not failed and not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)
    print()
    approve = setup.pop("approve", None)
    print(report(info, bare, kongtun, approve, bare_after))
    print(
        f"  (setup: stack up in {setup['stack_start_s']}s, {setup['drafts']} drafts at {setup['drafts_rps']} req/s; "
        f"whole run {time.perf_counter() - t0:.0f}s)"
    )
    if args.json:
        bare_rps_sum = bare.result.throughput + bare_after.result.throughput
        figures = {
            **info,
            "bare": {**bare.result.summary(), "events_consumed_s": round(bare.events_s, 3), "cpu_ms": bare.cpu_ms},
            "bare_after": {
                **bare_after.result.summary(),
                "events_consumed_s": round(bare_after.events_s, 3),
                "cpu_ms": bare_after.cpu_ms,
            },
            "kongtun": {
                **kongtun.result.summary(),
                "events_consumed_s": round(kongtun.events_s, 3),
                "cpu_ms": kongtun.cpu_ms,
            },
            "ratio_throughput": round(2 * kongtun.result.throughput / bare_rps_sum, 3),
            "ratio_cpu_submit": round(cpu_total(bare) / cpu_total(kongtun), 3),
            "target_ratio": TARGET_RATIO,
            "setup": setup,
        }
        if approve is not None:
            figures["approve"] = {
                **approve.result.summary(),
                "events_consumed_s": round(approve.events_s, 3),
                "cpu_ms": approve.cpu_ms,
            }
            figures["ratio_approve_throughput"] = round(2 * approve.result.throughput / bare_rps_sum, 3)
            figures["ratio_cpu_approve"] = round(cpu_total(bare) / cpu_total(approve), 3)
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
        print(f"  figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
