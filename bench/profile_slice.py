"""Where the CPU of a submit (or approve) goes: py-spy on every process of the stack under load.

Starts the five processes (``Stack``, fresh vhost, SQLite, the bench ports), prepares a fund, its plan and
N + 50 drafts, warms up with 50 requests, then records each process with ``py-spy record --nonblocking``
(collapsed stacks, 250 Hz) while N requests run at concurrency C, until reporting consumed every event.
Prints CPU ms per request by process (from /proc, py-spy's own overhead included) and, per process, the
functions with the largest share of samples (self and inclusive).  Raw stacks stay in ``--out``.

    .venv/bin/python bench/profile_slice.py [--phase submit|approve] [--requests 1500] [--out var/profile]

py-spy comes with requirements-dev.txt; it needs ptrace rights on the processes (same user, or root).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from load import json_body, run_load, use_token
from slice_submit import (
    APPROVED_TYPE,
    FUND,
    HOST,
    broker_pid,
    consumed_submissions,
    cpu_seconds,
    kongtun_env,
    linked_to_a_plan,
    wait_until,
)
from slice_submit import (
    parse_args as slice_args,
)

from kongtun_common.stack import Stack
from kongtun_common.testing import fresh_vhost


def summarise(path: Path, top: int) -> list[str]:
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return [f"  {path.stem}: no samples"]
    lines = [f"  {path.stem}: {total} samples", "    self:"]
    lines += [f"    {n * 100 / total:5.1f}%  {frame[:140]}" for frame, n in own.most_common(top)]
    lines.append("    inclusive:")
    lines += [f"    {n * 100 / total:5.1f}%  {frame[:140]}" for frame, n in inclusive.most_common(top * 2)]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=("submit", "approve"), default="submit")
    parser.add_argument("--requests", "-n", type=int, default=1500)
    parser.add_argument("--concurrency", "-c", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path("var/profile"))
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
    if spy is None:
        print("profile: py-spy is not installed (pip install -c constraints.txt py-spy)", file=sys.stderr)
        return 1
    n, c = args.requests, args.concurrency
    bench = slice_args(["--requests", str(n), "--concurrency", str(c)])
    args.out.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="kongtun-profile-"))
    with fresh_vhost() as amqp_uri:
        env = kongtun_env(amqp_uri, var_dir, bench)
        stack = Stack(env, log_dir=var_dir)
        stack.env = {key: value for key, value in stack.env.items() if not key.startswith("KONGTUN_") or key in env}
        gateway, reporting = bench.gateway_port, bench.metrics_port + 3
        try:
            stack.start_all(timeout=90)
            use_token(stack.admin_token())
            run_load(
                "fund", HOST, gateway, lambda i: ("POST", "/api/v1/funds", json_body(FUND)), 1, 1
            ).raise_for_errors()
            body = json_body(linked_to_a_plan(gateway))
            drafts = run_load(
                "drafts",
                HOST,
                gateway,
                lambda i: ("POST", "/api/v1/projects", body),
                n + 50,
                c,
                deadline_s=300,
                keep_bodies=True,
            )
            drafts.raise_for_errors()
            ids = [json.loads(item)["id"] for item in drafts.bodies]

            def submit(i):
                return ("POST", f"/api/v1/projects/{ids[i]}/submit", None)

            approval = json_body({"approved_amount": "25000.00", "approved_by": "คณะกรรมการกองทุน"})

            def approve(i):
                return ("POST", f"/api/v1/projects/{ids[i]}/approve", approval)

            if args.phase == "approve":
                run_load("submit all", HOST, gateway, submit, n + 50, c, deadline_s=300).raise_for_errors()
                wait_until(lambda: consumed_submissions(reporting)[0] >= n + 50, 120, "submits consumed")
                measured, event_type, handler = approve, APPROVED_TYPE, "reporting.on_project_approved"
                expected = n + 50
            else:
                measured, event_type, handler = submit, "kongtun.ProjectSubmitted.v1", "reporting.on_project_submitted"
                expected = n + 50
            warm = run_load("warm-up", HOST, gateway, lambda i: measured(n + i), 50, c)
            warm.raise_for_errors()
            time.sleep(2)
            pids = {name: process.pid for name, process in stack.processes.items()}
            spies = [
                subprocess.Popen(
                    [spy, "record", "--nonblocking", "-r", "250", "-f", "raw", "-d", "900"]
                    + ["-p", str(pid), "-o", str(args.out / f"{name}.txt")],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for name, pid in pids.items()
            ]
            time.sleep(1)
            charged = {**pids, "rabbitmq": broker_pid()}
            charged = {name: pid for name, pid in charged.items() if pid is not None}
            before = {name: cpu_seconds(pid) for name, pid in charged.items()}
            result = run_load(args.phase, HOST, gateway, measured, n, c, deadline_s=300)
            result.raise_for_errors()
            wait_until(
                lambda: consumed_submissions(reporting, event_type, handler)[0] >= expected, 120, "events consumed"
            )
            cpu = {name: (cpu_seconds(pid) - before[name]) * 1000 / n for name, pid in charged.items()}
            for process in spies:
                process.send_signal(signal.SIGINT)
            for process in spies:
                process.wait(60)
        finally:
            stack.stop_all()
    shutil.rmtree(var_dir, ignore_errors=True)
    print(
        f"{args.phase}: {result.throughput:.1f} req/s, p50 {result.p50 * 1000:.1f} ms, p99 {result.p99 * 1000:.1f} ms"
    )
    print(
        f"CPU ms per request (py-spy overhead included): {sum(cpu.values()):.2f} = "
        + ", ".join(f"{name} {ms:.2f}" for name, ms in sorted(cpu.items(), key=lambda kv: -kv[1]))
    )
    for name in pids:
        print("\n".join(summarise(args.out / f"{name}.txt", args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
