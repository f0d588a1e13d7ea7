"""Private servers for the fault tests: a RabbitMQ node and a PostgreSQL cluster of their own."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:.0f}s")
        time.sleep(interval)


class PrivateRabbit:
    """A RabbitMQ node of its own (own node name, ports, data and cookie), stopped and started at will."""

    def __init__(self, base: Path):
        self.base = base
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"kongtun-faults-{uuid.uuid4().hex[:6]}@localhost"
        base.mkdir(parents=True, exist_ok=True)
        (base / "rabbitmq-env.conf").write_text("")
        (base / "enabled_plugins").write_text("[].\n")
        # One listener, from the environment below (a second one in the file would clash on start).
        (base / "rabbitmq.conf").write_text("loopback_users = none\n")
        self.env = {
            **os.environ,
            "HOME": str(base),  # its own Erlang cookie
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args: str, timeout: float = 60, check: bool = True) -> str:
        done = subprocess.run(
            [str(RABBIT_BIN / "rabbitmqctl"), "-q", "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def start(self, timeout: float = 60) -> float:
        """Start the node; return the seconds until its AMQP port answered."""
        started = time.monotonic()
        subprocess.run([str(RABBIT_BIN / "rabbitmq-server"), "-detached"], env=self.env, check=True, timeout=30)
        wait_until(lambda: port_open(self.port), timeout, f"the private RabbitMQ did not listen on {self.port}")
        return time.monotonic() - started

    def stop(self) -> None:
        self.ctl("stop", timeout=60, check=False)
        wait_until(lambda: not port_open(self.port), 30, "the private RabbitMQ did not stop")

    def queues(self, vhost: str = "/") -> dict[str, tuple[int, int]]:
        """Queue name -> (ready, unacknowledged)."""
        out = self.ctl(
            "list_queues", "-p", vhost, "name", "messages_ready", "messages_unacknowledged", "--no-table-headers"
        )
        found = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():
                found[parts[0]] = (int(parts[1]), int(parts[2]))
        return found


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb in a temporary directory), run as the postgres user."""

    def __init__(self, base: Path):
        self.bin = Path(PG_BINS[-1])
        self.base = base
        self.port = free_port()
        base.mkdir(parents=True, exist_ok=True)
        self.data = base / "data"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(base, "postgres")
        subprocess.run(
            [*self.as_postgres, str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "kongtun"]
            + ["--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.admin_url = f"postgresql://kongtun@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._ctl("-o", options, "-l", str(self.base / "postgres.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://kongtun@127.0.0.1:{self.port}/{name}"


def missing_binaries() -> str | None:
    if not (RABBIT_BIN / "rabbitmq-server").exists():
        return "RabbitMQ's server binaries are not installed (/usr/lib/rabbitmq/bin)"
    if not PG_BINS:
        return "PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin)"
    return None
