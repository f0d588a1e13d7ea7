"""Fault tests: a PRIVATE RabbitMQ node and a PRIVATE PostgreSQL cluster, which these tests stop and start.

The machine's shared broker and database are never touched (other test runs use them). Both private
servers live in a temporary directory, listen on free loopback ports and are removed at the end.
Run with ``make test-faults`` (the normal ``make test`` does not collect this folder).
"""

from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE.parents[1] / "tests" / "e2e", HERE.parents[1] / "bench", HERE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from infra import PrivatePostgres, PrivateRabbit, missing_binaries  # noqa: E402


@pytest.fixture(scope="session")
def private_broker(tmp_path_factory):
    missing = missing_binaries()
    if missing:
        pytest.skip(missing)
    rabbit = PrivateRabbit(tmp_path_factory.mktemp("rabbit"))
    rabbit.start()
    try:
        yield rabbit
    finally:
        rabbit.stop()


@pytest.fixture(scope="session")
def private_postgres():
    missing = missing_binaries()
    if missing:
        pytest.skip(missing)
    base = Path(f"/tmp/kongtun-pg-{uuid.uuid4().hex[:8]}")  # short: the socket path must fit 107 bytes
    cluster = PrivatePostgres(base)
    cluster.start()
    try:
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        finally:
            shutil.rmtree(base, ignore_errors=True)
