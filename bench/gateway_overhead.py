"""The gateway's overhead: one read through the gateway vs the same RPC called directly (issue 7).

The funds service and the gateway run as real processes (``Stack``) on a fresh vhost, SQLite,
loopback.  One fund is registered; then, sequentially (one client, no concurrency):

- ``direct``: ``funds.get_fund(code)`` over nameko RPC from a standalone proxy;
- ``gateway``: ``GET /api/v1/funds/<code>`` with a bearer token (authentication, permission and
  scope check, RPC, JSON, metrics) over a kept-alive HTTP connection.

The figure is the ratio of the medians (and of the p99s), from one run.

    .venv/bin/python bench/gateway_overhead.py [--requests 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
from nameko.standalone.rpc import ServiceRpcProxy

from kongtun_common import (
    remote,  # noqa: F401  (typed errors over RPC)
    testing,
)
from kongtun_common.stack import Stack

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slice_submit import machine  # noqa: E402

FUND = {
    "code": "L3363",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
    "region": 12,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "per_second": round(len(ordered) / sum(ordered), 1),
    }


def timed(call, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        t0 = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t0)
    return latencies


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    gateway_port, funds_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="kongtun-bench-gw-") as var, testing.fresh_vhost() as amqp_uri:
        env = {
            "KONGTUN_AMQP_URI": amqp_uri,
            "KONGTUN_VAR_DIR": var,
            "KONGTUN_GATEWAY_PORT": str(gateway_port),
            "KONGTUN_FUNDS_METRICS_PORT": str(funds_port),
            "KONGTUN_GATEWAY_RATE_PER_SECOND": "0",
        }
        stack = Stack(env, log_dir=Path(var), names=("funds", "gateway"))
        try:
            stack.start_all(timeout=60)
            base = f"http://127.0.0.1:{gateway_port}"
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {stack.admin_token()}"
            http.post(base + "/api/v1/funds", json=FUND, timeout=15).raise_for_status()
            url = f"{base}/api/v1/funds/{FUND['code']}"

            def through_gateway():
                response = http.get(url, timeout=15)
                if response.status_code != 200:
                    raise RuntimeError(f"gateway answered {response.status_code}: {response.text[:200]}")

            with ServiceRpcProxy("funds", {"AMQP_URI": amqp_uri}, timeout=15) as funds:

                def direct():
                    funds.get_fund(FUND["code"])

                timed(direct, args.warm_up)
                timed(through_gateway, args.warm_up)
                # interleaved halves, so drift (other load on the machine) hits both sides alike
                direct_latencies, gateway_latencies = [], []
                for _ in range(2):
                    direct_latencies += timed(direct, args.requests // 2)
                    gateway_latencies += timed(through_gateway, args.requests // 2)
        finally:
            stack.stop_all()
    figures = {
        "machine": machine(),
        "direct_rpc": summary(direct_latencies),
        "through_gateway": summary(gateway_latencies),
    }
    figures["ratio_median"] = round(figures["through_gateway"]["median_ms"] / figures["direct_rpc"]["median_ms"], 2)
    figures["ratio_p99"] = round(figures["through_gateway"]["p99_ms"] / figures["direct_rpc"]["p99_ms"], 2)
    figures["overhead_median_ms"] = round(
        figures["through_gateway"]["median_ms"] - figures["direct_rpc"]["median_ms"], 3
    )
    print(f"Gateway overhead: GET /api/v1/funds/<code> vs funds.get_fund over RPC ({args.requests} each, sequential)")
    for name in ("direct_rpc", "through_gateway"):
        row = figures[name]
        print(f"  {name:16} median {row['median_ms']:7.3f} ms  p99 {row['p99_ms']:7.3f} ms  {row['per_second']:7.1f}/s")
    print(
        f"  ratio (gateway / direct): median {figures['ratio_median']}x, p99 {figures['ratio_p99']}x; "
        f"overhead {figures['overhead_median_ms']} ms at the median"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
