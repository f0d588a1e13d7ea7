"""A bounded closed-loop HTTP load client: C worker threads, keep-alive connections.

Each worker owns one ``http.client.HTTPConnection`` and sends its next request as
soon as the previous answer arrived (closed loop).  The run is bounded twice: by
the number of requests and by a deadline; requests not sent before the deadline
are counted as errors.  Every request is timed with ``time.perf_counter``; any
non-2xx answer or transport failure is an error.

Plain threads, on purpose: this process is never eventlet-patched.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A request: (method, path, body or None).  ``make_request(i)`` builds the i-th one.
Request = tuple[str, str, bytes | None]


class LoadError(RuntimeError):
    """Some requests failed: a benchmark with errors measures nothing."""


@dataclass
class LoadResult:
    name: str
    requests: int
    concurrency: int
    elapsed: float
    latencies: list[float]
    errors: list[str] = field(default_factory=list)
    bodies: list[bytes | None] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile of the successful latencies, in seconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
        return ordered[rank - 1]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    def summary(self) -> dict:
        return {
            "requests": self.requests,
            "concurrency": self.concurrency,
            "ok": self.ok,
            "errors": len(self.errors),
            "elapsed_s": round(self.elapsed, 3),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.p50 * 1000, 2),
            "p99_ms": round(self.p99 * 1000, 2),
            "max_ms": round(max(self.latencies, default=float("nan")) * 1000, 2),
        }

    def raise_for_errors(self) -> None:
        if self.errors:
            sample = "\n  ".join(self.errors[:5])
            raise LoadError(f"{self.name}: {len(self.errors)} of {self.requests} requests failed, e.g.:\n  {sample}")


# Sent with every request: the gateway wants a bearer token (set with use_token).
AUTHORIZATION: dict[str, str] = {}


def use_token(token: str) -> None:
    """Send ``Authorization: Bearer <token>`` with every request from now on."""
    AUTHORIZATION["Authorization"] = f"Bearer {token}"


def run_load(
    name: str,
    host: str,
    port: int,
    make_request: Callable[[int], Request],
    requests: int,
    concurrency: int,
    *,
    deadline_s: float = 90.0,
    request_timeout_s: float = 30.0,
    keep_bodies: bool = False,
) -> LoadResult:
    """Send ``requests`` requests with ``concurrency`` workers; stop at ``deadline_s`` whatever happens."""
    if requests < 0 or concurrency < 1:
        raise ValueError("requests must be >= 0 and concurrency >= 1")
    lock = threading.Lock()
    next_index = iter(range(requests))
    latencies: list[float] = []
    errors: list[str] = []
    bodies: list[bytes | None] = [None] * requests if keep_bodies else []
    headers_json = {"Content-Type": "application/json", "Accept": "application/json", **AUTHORIZATION}
    started = time.perf_counter()
    stop_at = started + deadline_s

    def take() -> int | None:
        with lock:
            return next(next_index, None)

    def worker() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=request_timeout_s)
        try:
            while True:
                index = take()
                if index is None:
                    return
                if time.perf_counter() > stop_at:
                    with lock:
                        errors.append(f"#{index}: not sent, deadline of {deadline_s:g}s passed")
                    continue
                method, path, body = make_request(index)
                headers = (
                    headers_json if body else {"Accept": "application/json", "Content-Length": "0", **AUTHORIZATION}
                )
                t0 = time.perf_counter()
                try:
                    connection.request(method, path, body=body, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                    status = response.status
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()  # reconnects on the next request
                    with lock:
                        errors.append(f"#{index} {method} {path}: {type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - t0
                if response.will_close:
                    connection.close()
                with lock:
                    if 200 <= status < 300:
                        latencies.append(elapsed)
                        if keep_bodies:
                            bodies[index] = payload
                    else:
                        errors.append(f"#{index} {method} {path}: HTTP {status}: {payload[:200]!r}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, name=f"load-{name}-{i}", daemon=True) for i in range(min(concurrency, requests))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        # Bounded join: a request can take at most request_timeout_s past the deadline.
        thread.join(max(0.0, stop_at - time.perf_counter()) + request_timeout_s + 1)
    elapsed = time.perf_counter() - started
    with lock:
        if any(thread.is_alive() for thread in threads):
            errors.append("some workers were still busy after the deadline")
        return LoadResult(name, requests, concurrency, elapsed, list(latencies), list(errors), list(bodies))


def json_body(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
