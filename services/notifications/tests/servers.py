"""Real servers for the tests, run as processes on loopback: an SMTP sink and a webhook receiver.

Also a plain unit-of-work provider so use cases and the sender can run on a real database
outside a nameko container (with a clock the test controls).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from email import policy
from email.parser import BytesParser
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"test server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class _Process:
    script = ""

    def __init__(self, directory: Path, *extra: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / self.script), "--port", str(self.port), "--dir", str(self.directory), *extra],
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "server.log", "wb"),  # noqa: SIM115 - owned by the process
        )
        _wait_listening(self.port, self.process)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def _files(self, suffix: str) -> list[Path]:
        return sorted(self.directory.glob(f"*{suffix}"))

    def wait_for(self, count: int, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        while True:
            found = self.received()
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} arrived within {timeout}s")
            time.sleep(0.05)


class SmtpSink(_Process):
    """aiosmtpd in its own process; every accepted message is a file."""

    script = "smtp_sink.py"

    def __init__(self, directory: Path, fail_first: int = 0):
        super().__init__(directory, "--fail-first", str(fail_first))

    def received(self) -> list:
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(path.read_bytes()) for path in self._files(".eml")]

    def to(self, address: str) -> list:
        return [message for message in self.received() if message["To"].addresses[0].addr_spec == address]


class WebhookReceiver(_Process):
    script = "webhook_receiver.py"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/kongtun"

    def answer(self, status: int = 200, delay: float = 0.0) -> None:
        target = self.directory / "mode.json"
        target.with_suffix(".tmp").write_text(json.dumps({"status": status, "delay": delay}))
        target.with_suffix(".tmp").rename(target)

    def received(self) -> list[dict]:
        return [json.loads(path.read_text()) for path in self._files(".json") if path.name != "mode.json"]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def calendar_of(message) -> bytes | None:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            return part.get_content().encode() if isinstance(part.get_content(), str) else part.get_content()
    return None


class PlainDb:
    """Units of work on a real database without a container (the same UnitOfWork the service uses)."""

    def __init__(self, url: str, metadata):
        from kongtun_common.engine import make_engine

        self.engine = make_engine(url)
        self.metadata = metadata

    @contextmanager
    def unit_of_work(self):
        from sqlalchemy.orm import Session

        from kongtun_common.db import UnitOfWork

        with Session(self.engine) as session:
            uow = UnitOfWork(session, self.metadata.tables["outbox"], ("/kongtun/region/12/notifications", 12))
            try:
                yield uow
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self):
        from sqlalchemy.orm import Session

        with Session(self.engine) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
