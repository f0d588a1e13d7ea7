"""Fixtures of the notifications tests: a real SMTP server and a real webhook receiver, as processes."""

import importlib.util
import sys
from pathlib import Path

import pytest

_NAME = "kongtun_notifications_test_servers"


def load_servers():
    """The helpers module (``servers.py``), importable from any test directory."""
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("servers.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[_NAME]


@pytest.fixture(scope="session")
def servers():
    return load_servers()


@pytest.fixture
def smtp(servers, tmp_path):
    sink = servers.SmtpSink(tmp_path / "mail")
    yield sink
    sink.stop()


@pytest.fixture
def receiver(servers, tmp_path):
    hooks = servers.WebhookReceiver(tmp_path / "hooks")
    yield hooks
    hooks.stop()
