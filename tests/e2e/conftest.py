"""The real processes (four services and the gateway) on a vhost and ports of their own."""

import socket
import sys
from pathlib import Path

import pytest
import requests

from kongtun_common import testing
from kongtun_common.stack import Stack

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fund_setup import prepare_fund_for_projects  # noqa: E402  (shared with bench/)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Api:
    """A thin HTTP client of the gateway, sending a bearer token (the stack's development admin token)."""

    def __init__(self, base: str, token: str | None = None):
        self.base = base
        self.session = requests.Session()
        self.token = token

    @property
    def http(self) -> requests.Session:
        self._authorize()
        return self.session

    def _authorize(self):
        if "Authorization" not in self.session.headers:
            token = self.token
            if token is None:  # a stack started elsewhere: its gateway's development admin token
                token_file = Stack.admin_token_files.get(self.base.rsplit(":", 1)[-1])
                token = token_file.read_text().strip() if token_file else None
            if token:
                self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path, **kwargs):
        return self.http.get(self.base + path, timeout=15, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.http.post(self.base + path, json=json, timeout=15, **kwargs)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    ports = {name: free_port() for name in ("gateway", "funds", "projects", "notifications", "reporting")}
    with testing.fresh_vhost() as amqp_uri:
        env = {
            "KONGTUN_AMQP_URI": amqp_uri,
            "KONGTUN_VAR_DIR": str(var),
            "KONGTUN_REGION": "12",
            "KONGTUN_GATEWAY_PORT": str(ports["gateway"]),
            "KONGTUN_REPORTING_CHECK_SECONDS": "0.5",
            # the seeds' fiscal years (2567) are long past: their overdue duties are announced all the same
            "KONGTUN_REPORTING_OVERDUE_WINDOW_DAYS": "0",
            "KONGTUN_OUTBOX_POLL_SECONDS": "0.2",
            "KONGTUN_EVENT_RETRY_DELAYS_MS": "100,200",
            **{f"KONGTUN_{name.upper()}_METRICS_PORT": str(port) for name, port in ports.items() if name != "gateway"},
        }
        running = Stack(env, log_dir=var)
        try:
            running.start_all(timeout=60)
            running.amqp_uri = amqp_uri
            running.var = var
            running.api = Api(f"http://127.0.0.1:{ports['gateway']}", running.admin_token())
            running.ports = ports
            yield running
        finally:
            running.stop_all()


@pytest.fixture(scope="module")
def api(stack):
    return stack.api


@pytest.fixture(scope="module")
def prepare_fund():
    """``prepare_fund(api, fund_code, fiscal_year, issue, income_baht)``: see prepare_fund_for_projects."""

    def prepare(api, fund_code, fiscal_year, issue, income_baht):
        def post(path, body):
            response = api.post(path, body)
            return response.status_code, response.json()

        return prepare_fund_for_projects(post, fund_code, fiscal_year, issue, income_baht)

    return prepare
