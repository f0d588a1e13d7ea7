"""Run the whole system natively: the four services and the gateway as processes.

``python -m kongtun_common.stack`` is what ``make run`` calls; the end-to-end
tests and benchmarks use :class:`Stack` the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .green import quiet_eventlet_warning

quiet_eventlet_warning()

from .config import DEFAULT_AMQP_URI, DEFAULT_PORTS  # noqa: E402
from .runner import broker_reachable, redact  # noqa: E402

DEPLOYABLES = ("funds", "projects", "notifications", "reporting", "gateway")


def health_url(name: str, env: dict) -> str:
    if name == "gateway":
        port = env.get("KONGTUN_GATEWAY_PORT", DEFAULT_PORTS["gateway"])
    else:
        port = env.get(f"KONGTUN_{name.upper()}_METRICS_PORT", DEFAULT_PORTS[name])
    return f"http://127.0.0.1:{port}/health"


class Stack:
    """The five processes, started with one environment, stopped together."""

    # gateway port -> the file its development admin token is written to (for test clients)
    admin_token_files: dict[str, Path] = {}

    def __init__(self, env: dict | None = None, log_dir: Path | None = None, names=DEPLOYABLES):
        self.env = {**os.environ, **(env or {})}
        self.log_dir = Path(log_dir or self.env.get("KONGTUN_VAR_DIR", "var")) / "log"
        # The gateway issues a development admin token on first start and writes it here.
        self.admin_token_file = Path(
            self.env.setdefault(
                "KONGTUN_GATEWAY_ADMIN_TOKEN_FILE",
                str(Path(self.env.get("KONGTUN_VAR_DIR", "var")).resolve() / "admin.token"),
            )
        )
        self.names = tuple(names)
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, **env_overrides: str) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        process = subprocess.Popen(
            [sys.executable, "-m", f"kongtun_{name}"],
            env={**self.env, **env_overrides},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes[name] = process
        if name == "gateway":
            port = {**self.env, **env_overrides}.get("KONGTUN_GATEWAY_PORT", str(DEFAULT_PORTS["gateway"]))
            Stack.admin_token_files[str(port)] = self.admin_token_file
        return process

    def start_all(self, timeout: float = 60.0) -> None:
        for name in self.names:
            self.start(name)
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 60.0, names=None) -> None:
        deadline = time.monotonic() + timeout
        for name in names or self.names:
            while True:
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_dir / (name + '.log')}")
                try:
                    with urllib.request.urlopen(health_url(name, self.env), timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not become healthy within {timeout:.0f}s")
                time.sleep(0.1)

    def admin_token(self) -> str:
        """The development admin token the gateway wrote (once it is healthy)."""
        return self.admin_token_file.read_text().strip()

    def kill(self, name: str) -> None:
        """Kill -9: the process gets no chance to clean up."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def stop(self, name: str, timeout: float = 15.0) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)


def main() -> int:
    amqp_uri = os.environ.get("KONGTUN_AMQP_URI", DEFAULT_AMQP_URI)
    if not broker_reachable(amqp_uri):
        print(
            f"kongtun: RabbitMQ is not reachable at {redact(amqp_uri)}; "
            "start it with `rabbitmq-server -detached` (or set KONGTUN_AMQP_URI).",
            file=sys.stderr,
        )
        return 2
    stack = Stack()
    stopping = False

    def request_stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start_all()
    except (RuntimeError, TimeoutError) as exc:
        print(f"kongtun: {exc}", file=sys.stderr)
        stack.stop_all()
        return 1
    gateway = f"http://127.0.0.1:{stack.env.get('KONGTUN_GATEWAY_PORT', DEFAULT_PORTS['gateway'])}"
    metrics = ", ".join(health_url(name, stack.env).replace("/health", "/metrics") for name in DEPLOYABLES)
    print(
        f"Kongtun is running (region {stack.env.get('KONGTUN_REGION', '12')}).\n"
        f"  API:      {gateway}/api/v1\n"
        f"  Docs:     {gateway}/docs  (OpenAPI: {gateway}/openapi.json)\n"
        f"  Metrics:  {metrics}\n"
        f"  Token:    {stack.admin_token_file}  (development admin; send it as Authorization: Bearer <token>)\n"
        f"  Logs:     {stack.log_dir}/\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    while not stopping:
        for name, process in list(stack.processes.items()):
            if process.poll() is not None:
                print(
                    f"kongtun: {name} exited with {process.returncode}; see {stack.log_dir / (name + '.log')}",
                    file=sys.stderr,
                )
                stopping = True
        time.sleep(0.5)
    print("Stopping Kongtun ...", flush=True)
    stack.stop_all()
    print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
