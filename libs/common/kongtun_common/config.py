"""Configuration from environment variables, with working defaults.

Every deployable reads the same variables (documented in the README):

- ``KONGTUN_AMQP_URI``: the broker (default: the local RabbitMQ);
- ``KONGTUN_<SERVICE>_DATABASE_URL``: one database per service (default: a SQLite file under ``var/``);
- ``KONGTUN_REGION``: the NHSO region (1-13) this deployment serves;
- ``KONGTUN_<SERVICE>_METRICS_PORT`` and ``KONGTUN_GATEWAY_PORT``: ports;
- ``KONGTUN_BIND``: the address HTTP ports listen on (default 127.0.0.1; 0.0.0.0 in containers);
- ``KONGTUN_VAR_DIR``: where SQLite files and logs go.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_REGION = 12

DEFAULT_PORTS = {
    "gateway": 8000,
    "funds": 9101,
    "projects": 9102,
    "notifications": 9103,
    "reporting": 9104,
}


class ConfigurationError(ValueError):
    """A setting has a value the system cannot use."""


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _int_env(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None


def _delays_env(name: str, default: str) -> tuple[int, ...]:
    raw = _env(name, default)
    try:
        delays = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be comma-separated milliseconds, got {raw!r}") from None
    if any(delay <= 0 for delay in delays):
        raise ConfigurationError(f"{name} must hold positive delays, got {raw!r}")
    return delays


def var_dir() -> Path:
    return Path(_env("KONGTUN_VAR_DIR", "var")).resolve()


@dataclass(frozen=True)
class Settings:
    """The settings of one deployable, read once at start-up."""

    service: str
    amqp_uri: str
    database_url: str
    region: int
    port: int
    var_dir: Path
    bind: str = "127.0.0.1"
    event_retry_delays_ms: tuple[int, ...] = (1000, 5000, 30000)
    outbox_poll_seconds: float = 1.0
    rpc_timeout_seconds: float = 10.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, service: str) -> Settings:
        upper = service.upper()
        directory = var_dir()
        region = _int_env("KONGTUN_REGION", DEFAULT_REGION)
        if not 1 <= region <= 13:
            raise ConfigurationError(f"KONGTUN_REGION must be an NHSO region 1-13, got {region}")
        port_name = "KONGTUN_GATEWAY_PORT" if service == "gateway" else f"KONGTUN_{upper}_METRICS_PORT"
        return cls(
            service=service,
            amqp_uri=_env("KONGTUN_AMQP_URI", DEFAULT_AMQP_URI),
            database_url=_env(f"KONGTUN_{upper}_DATABASE_URL", f"sqlite:///{directory / (service + '.db')}"),
            region=region,
            port=_int_env(port_name, DEFAULT_PORTS.get(service, 0)),
            var_dir=directory,
            bind=_env("KONGTUN_BIND", "127.0.0.1"),
            event_retry_delays_ms=_delays_env("KONGTUN_EVENT_RETRY_DELAYS_MS", "1000,5000,30000"),
            outbox_poll_seconds=float(_env("KONGTUN_OUTBOX_POLL_SECONDS", "1.0")),
            rpc_timeout_seconds=float(_env("KONGTUN_RPC_TIMEOUT_SECONDS", "10")),
            extra={
                key[len("KONGTUN_") :]: value
                for key, value in os.environ.items()
                if key.startswith(f"KONGTUN_{upper}_")
            },
        )

    def nameko_config(self) -> dict:
        """The container configuration nameko and Kongtun's extensions read."""
        config = {
            "AMQP_URI": self.amqp_uri,
            "DATABASE_URL": self.database_url,
            "REGION": self.region,
            "SERVICE_NAME": self.service,
            "EVENT_RETRY_DELAYS_MS": list(self.event_retry_delays_ms),
            "OUTBOX_POLL_SECONDS": self.outbox_poll_seconds,
            "RPC_TIMEOUT_SECONDS": self.rpc_timeout_seconds,
            "OUTBOX_RELAY_ENABLED": _env("KONGTUN_OUTBOX_RELAY", "on") != "off",
        }
        if self.service == "gateway":
            config["WEB_SERVER_ADDRESS"] = f"{self.bind}:{self.port}"
        config.update(self.extra)
        return config
