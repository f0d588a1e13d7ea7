"""Metrics, structured logs and the correlation id.

Metrics live on prometheus-client's global registry, defined once here and
labelled by service, so several containers in one process (tests, benchmarks)
share them instead of failing with duplicate time series.

The correlation id of the current worker is kept in a green-thread local: the
:class:`Instrumentation` dependency sets it from the incoming RPC headers or
event envelope, the unit of work copies it into every event it records, and
the JSON log formatter writes it into every line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime

from eventlet.corolocal import local
from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram

from .errors import KongtunError

CORRELATION_KEY = "correlation_id"

ENTRYPOINT_CALLS = Counter(
    "kongtun_entrypoint_calls_total",
    "Entrypoint calls (RPC, event handler, timer, HTTP) by outcome.",
    ["service", "entrypoint", "outcome"],
)
ENTRYPOINT_LATENCY = Histogram(
    "kongtun_entrypoint_duration_seconds",
    "Entrypoint latency in seconds.",
    ["service", "entrypoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter(
    "kongtun_events_published_total", "Events the outbox relay published (confirmed).", ["service", "type"]
)
EVENTS_UNROUTABLE = Counter(
    "kongtun_events_unroutable_total",
    "Publishes the broker returned because no queue was bound; kept in the outbox and retried.",
    ["service", "type"],
)
EVENTS_CONSUMED = Counter(
    "kongtun_events_consumed_total",
    "Events handled, by outcome: applied, duplicate (already applied, skipped), failed.",
    ["service", "handler", "type", "outcome"],
)
EVENTS_RETRIED = Counter(
    "kongtun_events_retried_total", "Events scheduled for a delayed retry.", ["service", "handler", "type"]
)
EVENTS_DEAD_LETTERED = Counter(
    "kongtun_events_dead_lettered_total",
    "Events sent to the dead letters, by reason: invalid, failed, unexpected_type.",
    ["service", "handler", "type", "reason"],
)
OUTBOX_BACKLOG = Gauge("kongtun_outbox_backlog", "Outbox events not yet published.", ["service"])
OUTBOX_OLDEST_SECONDS = Gauge(
    "kongtun_outbox_oldest_pending_seconds", "Age of the oldest unpublished outbox event.", ["service"]
)
HTTP_REQUESTS = Counter("kongtun_http_requests_total", "Gateway HTTP requests.", ["route", "method", "status"])
HTTP_LATENCY = Histogram(
    "kongtun_http_request_duration_seconds",
    "Gateway HTTP request latency in seconds.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_context = local()


def current_correlation_id() -> str:
    return getattr(_context, "correlation_id", "") or ""


def set_correlation_id(value: str) -> None:
    _context.correlation_id = value


def new_correlation_id() -> str:
    return uuid.uuid4().hex


class Instrumentation(DependencyProvider):
    """Times every entrypoint, counts outcomes and carries the correlation id."""

    def worker_setup(self, worker_ctx):
        correlation_id = worker_ctx.context_data.get(CORRELATION_KEY) or new_correlation_id()
        worker_ctx.context_data[CORRELATION_KEY] = correlation_id
        set_correlation_id(correlation_id)
        worker_ctx.data = getattr(worker_ctx, "data", None) or {}
        worker_ctx.data["kongtun_started"] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        service = self.container.service_name
        entrypoint = worker_ctx.entrypoint.method_name
        started = worker_ctx.data.get("kongtun_started", time.perf_counter())
        ENTRYPOINT_LATENCY.labels(service, entrypoint).observe(time.perf_counter() - started)
        if exc_info is None:
            outcome = "ok"
        elif isinstance(exc_info[1], KongtunError):
            outcome = "refused"
        else:
            outcome = "error"
            logging.getLogger(f"kongtun.{service}").error("%s failed: %s", entrypoint, exc_info[1], exc_info=exc_info)
        ENTRYPOINT_CALLS.labels(service, entrypoint, outcome).inc()

    def worker_teardown(self, worker_ctx):
        set_correlation_id("")

    def get_dependency(self, worker_ctx):
        return worker_ctx.context_data.get(CORRELATION_KEY, "")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, region, correlation id, message."""

    def __init__(self, service: str, region: int):
        super().__init__()
        self.service = service
        self.region = region

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "region": self.region,
            "correlation_id": current_correlation_id(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, region: int, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service, region))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("amqp", "kombu", "nameko", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
