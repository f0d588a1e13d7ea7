"""Start one deployable: check the broker, migrate, run, serve health and metrics.

Each service's ``__main__`` monkey-patches eventlet first, then calls :func:`run`.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
from pathlib import Path

import eventlet
from eventlet import wsgi
from kombu import Connection
from nameko.runners import ServiceRunner
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .config import ConfigurationError, Settings
from .engine import make_engine
from .migrations import upgrade
from .observability import configure_logging

log = logging.getLogger(__name__)


def redact(uri: str) -> str:
    """Hide the password in a URI before it reaches a log or a terminal."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", uri)


def broker_reachable(amqp_uri: str, timeout: float = 3.0) -> bool:
    try:
        with Connection(amqp_uri, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
        return True
    except Exception:
        return False


def database_reachable(engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except Exception:
        return False


def readiness(amqp_uri: str, engine=None) -> dict:
    checks = {"broker": "up" if broker_reachable(amqp_uri, timeout=1.0) else "down"}
    if engine is not None:
        checks["database"] = "up" if database_reachable(engine) else "down"
    return checks


def health_app(settings: Settings, engine):
    """WSGI app of a service's ops port: /health, /ready, /metrics."""

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest()]
        if path == "/health":
            body, status = {"status": "ok", "service": settings.service}, "200 OK"
        elif path == "/ready":
            checks = readiness(settings.amqp_uri, engine)
            ready = all(value == "up" for value in checks.values())
            body = {"status": "ready" if ready else "not ready", "service": settings.service, "checks": checks}
            status = "200 OK" if ready else "503 Service Unavailable"
        else:
            body, status = {"title": "Not Found", "status": 404}, "404 Not Found"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return app


def _fail(service: str, message: str) -> None:
    print(f"kongtun-{service}: {message}", file=sys.stderr)
    sys.exit(2)


def run(service_cls, migrations: Path | None = None) -> None:
    service = service_cls.name
    try:
        settings = Settings.from_env(service)
    except ConfigurationError as exc:
        _fail(service, str(exc))
    configure_logging(service, settings.region)
    if not broker_reachable(settings.amqp_uri):
        _fail(
            service,
            f"RabbitMQ is not reachable at {redact(settings.amqp_uri)}; "
            "start it with `rabbitmq-server -detached` (or set KONGTUN_AMQP_URI).",
        )
    engine = None
    if migrations is not None:
        try:
            upgrade(settings.database_url, migrations)
        except Exception as exc:
            _fail(service, f"cannot migrate {redact(settings.database_url)}: {exc}")
        engine = make_engine(settings.database_url)

    runner = ServiceRunner(settings.nameko_config())
    runner.add_service(service_cls)
    runner.start()
    if service != "gateway":
        listener = eventlet.listen((settings.bind, settings.port))
        eventlet.spawn(wsgi.server, listener, health_app(settings, engine), log_output=False)
    log.info("%s started (region %s, ops port %s)", service, settings.region, settings.port)

    def stop(_signum, _frame):
        eventlet.spawn(runner.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.wait()
    log.info("%s stopped", service)
