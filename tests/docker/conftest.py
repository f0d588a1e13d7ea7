"""pytest-docker settings for the compose suite: the repository's own docker-compose.yml.

Nothing here talks to Docker at import time; the fixtures run only when a test of
this folder asks for ``docker_services`` (and test modules skip first where no
engine answers).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _has_compose_plugin() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.fixture(scope="session")
def docker_compose_command() -> str:
    """Compose v2 (``docker compose``) where installed, else the v1 ``docker-compose``."""
    if _has_compose_plugin():
        return "docker compose"
    if shutil.which("docker-compose"):
        return "docker-compose"
    pytest.skip("a Docker engine answers but neither `docker compose` nor `docker-compose` is installed")


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(ROOT / "docker-compose.yml")


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return f"kongtuntest{os.getpid()}"


@pytest.fixture(scope="session")
def docker_setup(docker_compose_command, docker_ip):
    """Build and start the stack; the gateway, Prometheus and Grafana go on free host ports.

    ``--wait`` (compose v2) returns once every container is healthy; v1 has no
    ``--wait`` but already starts each deployable only after its dependencies are healthy.
    """
    # "[ip]:" + ":8000" -> "ip::8000": Docker picks a free host port on that address.
    free = "127.0.0.1:" if docker_ip == "127.0.0.1" else "0.0.0.0:"
    chosen = {}
    for variable in ("KONGTUN_GATEWAY_PUBLISH", "KONGTUN_PROMETHEUS_PUBLISH", "KONGTUN_GRAFANA_PUBLISH"):
        if not os.environ.get(variable):
            os.environ[variable] = chosen[variable] = free
    try:
        yield ["up --build --wait"] if docker_compose_command == "docker compose" else ["up --build -d"]
    finally:
        for variable in chosen:
            os.environ.pop(variable, None)


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    return ["down -v --remove-orphans"]
