"""A real Prometheus (Debian's package) scrapes the native stack with the shipped configuration.

The five processes run on a vhost and free ports of their own; ops/prometheus/prometheus.yml
is rewritten to reach them on 127.0.0.1 (and RabbitMQ's per-queue metrics when the
rabbitmq_prometheus plugin answers), with the shipped alert rules. Then: every target up,
the key metrics present, every dashboard query and alert expression accepted by Prometheus,
every rule evaluated without error.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import requests
import yaml

from kongtun_common import testing
from kongtun_common.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = ROOT / "ops" / "prometheus"
DASHBOARDS = sorted((ROOT / "ops" / "grafana" / "dashboards").glob("*.json"))
DEPLOYABLES = ("funds", "projects", "notifications", "reporting", "gateway")
RABBITMQ_METRICS_PORT = 15692

pytestmark = pytest.mark.e2e

if shutil.which("prometheus") is None:
    pytest.skip(
        "the prometheus binary is not installed (apt-get install prometheus; .ci/run installs it)",
        allow_module_level=True,
    )

FUND = {
    "code": "L3363",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
    "region": 12,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f}s")
        time.sleep(interval)


def native_config(ports: dict[str, int], with_rabbitmq: bool, token_file: Path) -> dict:
    """The shipped configuration, its targets moved to this machine, its intervals shortened."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["global"]["external_labels"]["region"] = "12"
    config["rule_files"] = [str(PROMETHEUS_DIR / pattern) for pattern in config["rule_files"]]
    jobs = []
    for job in config["scrape_configs"]:
        if job["job_name"] == "kongtun":
            # the gateway's /metrics needs a token (ops or admin); the services' ops ports ignore it
            job["authorization"] = {"type": "Bearer", "credentials_file": str(token_file)}
            for group in job["static_configs"]:
                (target,) = group["targets"]
                group["targets"] = [f"127.0.0.1:{ports[target.split(':')[0]]}"]
            jobs.append(job)
        elif with_rabbitmq:
            for group in job["static_configs"]:
                group["targets"] = [f"127.0.0.1:{RABBITMQ_METRICS_PORT}"]
            jobs.append(job)
    config["scrape_configs"] = jobs
    return config


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    ports = {name: free_port() for name in DEPLOYABLES}
    with testing.fresh_vhost() as amqp_uri:
        env = {
            "KONGTUN_AMQP_URI": amqp_uri,
            "KONGTUN_VAR_DIR": str(var),
            "KONGTUN_REGION": "12",
            "KONGTUN_GATEWAY_PORT": str(ports["gateway"]),
            "KONGTUN_OUTBOX_POLL_SECONDS": "0.2",
            "KONGTUN_EVENT_RETRY_DELAYS_MS": "100,200",
            **{f"KONGTUN_{name.upper()}_METRICS_PORT": str(port) for name, port in ports.items() if name != "gateway"},
        }
        running = Stack(env, log_dir=var)
        try:
            running.start_all(timeout=60)
            running.ports = ports
            running.amqp_uri = amqp_uri
            yield running
        finally:
            running.stop_all()


@pytest.fixture(scope="module")
def traffic(stack):
    """Requests through the gateway: a fund registered, its event published and consumed."""
    base = f"http://127.0.0.1:{stack.ports['gateway']}"
    assert requests.get(f"{base}/ready", timeout=15).status_code == 200
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {stack.admin_token()}"
    response = http.post(f"{base}/api/v1/funds", json=FUND, timeout=15)
    assert response.status_code == 201, response.text
    assert http.get(f"{base}/api/v1/funds/{FUND['code']}", timeout=15).status_code == 200
    assert http.get(f"{base}/api/v1/funds/L0000", timeout=15).status_code == 404
    return base


@pytest.fixture(scope="module")
def prometheus(stack, traffic, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("prometheus")
    with_rabbitmq = port_answers(RABBITMQ_METRICS_PORT)
    config = workdir / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(native_config(stack.ports, with_rabbitmq, stack.admin_token_file)), encoding="utf-8"
    )
    port = free_port()
    log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115 - closed after the process
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def ready():
        if process.poll() is not None:
            raise AssertionError(f"prometheus exited: {(workdir / 'prometheus.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(ready, 20, "prometheus did not become ready")
        yield {"base": base, "with_rabbitmq": with_rabbitmq}
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def api(prometheus, path: str, **params) -> dict:
    url = f"{prometheus['base']}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        body = json.load(exc)
    return body


def query(prometheus, promql: str) -> list:
    body = api(prometheus, "query", query=promql)
    assert body["status"] == "success", (promql, body)
    return body["data"]["result"]


def test_every_service_and_the_gateway_is_scraped_and_up(prometheus):
    def all_up():
        targets = api(prometheus, "targets")["data"]["activeTargets"]
        kongtun = [target for target in targets if target["labels"]["job"] == "kongtun"]
        if len(kongtun) == 5 and all(target["health"] == "up" for target in targets):
            return targets
        return None

    targets = wait_until(all_up, 20, "not every target was up")
    assert {target["labels"]["deployable"] for target in targets if target["labels"]["job"] == "kongtun"} == set(
        DEPLOYABLES
    )
    up = {sample["metric"]["deployable"]: sample["value"][1] for sample in query(prometheus, 'up{job="kongtun"}')}
    assert up == dict.fromkeys(DEPLOYABLES, "1")


def test_the_key_metrics_reach_prometheus(prometheus):
    def present(promql):
        return lambda: query(prometheus, promql)

    requests_by_route = wait_until(
        present('kongtun_http_requests_total{route="/api/v1/funds", method="POST", status="201"}'),
        15,
        "the gateway's request counter never arrived",
    )
    assert float(requests_by_route[0]["value"][1]) >= 1
    assert query(prometheus, 'kongtun_http_requests_total{status="404"}'), "refusals are counted per status"
    assert query(prometheus, 'kongtun_http_request_duration_seconds_bucket{route="/api/v1/funds", le="+Inf"}')
    published = wait_until(
        present('kongtun_events_published_total{deployable="funds", type="kongtun.FundRegistered.v1"}'),
        15,
        "FundRegistered was never counted as published",
    )
    assert float(published[0]["value"][1]) == 1
    wait_until(
        present('kongtun_events_consumed_total{deployable="reporting", type="kongtun.FundRegistered.v1"}'),
        15,
        "reporting's consumption of FundRegistered was never counted",
    )
    entrypoints = query(prometheus, "sum by (deployable) (kongtun_entrypoint_calls_total)")
    assert {sample["metric"]["deployable"] for sample in entrypoints} >= {"funds", "gateway"}
    backlog = query(prometheus, "kongtun_outbox_backlog")
    assert {sample["metric"]["service"] for sample in backlog} == {"funds", "projects", "notifications", "reporting"}
    assert all(sample["value"][1] == "0" for sample in backlog), backlog
    assert query(prometheus, "kongtun_outbox_oldest_pending_seconds")


def test_the_broker_queue_metrics_arrive_where_rabbitmq_prometheus_runs(prometheus, stack):
    if not prometheus["with_rabbitmq"]:
        pytest.skip("rabbitmq_prometheus does not answer on 127.0.0.1:15692 here (.ci/run enables it)")
    vhost = stack.amqp_uri.rsplit("/", 1)[1]
    queues = wait_until(
        lambda: query(prometheus, f'rabbitmq_detailed_queue_consumers{{vhost="{vhost}"}}'),
        15,
        "no per-queue metric of the stack's vhost",
    )
    names = {sample["metric"]["queue"] for sample in queues}
    assert "reporting.on_fund_registered" in names and "reporting.on_fund_registered.dead-letters" in names


def _instant(promql: str) -> str:
    """A Grafana query as Prometheus' API takes it: Grafana's variables replaced."""
    return promql.replace("$__rate_interval", "1m").replace("$__range", "5m").replace("$__interval", "15s")


def test_prometheus_accepts_every_dashboard_query(prometheus):
    failures = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        panels = [*dashboard["panels"], *(inner for panel in dashboard["panels"] for inner in panel.get("panels", []))]
        for panel in panels:
            for target in panel.get("targets", []):
                body = api(prometheus, "query", query=_instant(target["expr"]))
                if body["status"] != "success":
                    failures.append((path.name, panel["title"], body.get("error")))
    assert not failures, failures


def test_the_alert_rules_load_and_evaluate_without_error(prometheus):
    shipped = set()
    for path in (PROMETHEUS_DIR / "rules").glob("*.yml"):
        shipped |= set(re.findall(r"^\s+- alert: (\w+)$", path.read_text(encoding="utf-8"), re.MULTILINE))

    def evaluated():
        groups = api(prometheus, "rules")["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules):
            return rules
        return None

    rules = wait_until(evaluated, 15, "the rules were never evaluated")
    assert {rule["name"] for rule in rules} == shipped
    assert [(rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"] == []
    firing = [alert["labels"]["alertname"] for alert in api(prometheus, "alerts")["data"]["alerts"]]
    assert "KongtunTargetDown" not in firing and "KongtunOutboxStuck" not in firing


def test_the_dashboards_name_only_metrics_the_running_processes_export(stack):
    exported = set()
    for name in DEPLOYABLES:
        request = urllib.request.Request(
            f"http://127.0.0.1:{stack.ports[name]}/metrics", headers={"Authorization": f"Bearer {stack.admin_token()}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
        for metric, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE):
            exported.add(metric)
            if kind == "histogram":
                exported |= {f"{metric}_bucket", f"{metric}_sum", f"{metric}_count"}
    used = set()
    for path in DASHBOARDS:
        used |= set(re.findall(r"\b(kongtun_[a-zA-Z0-9_]+)\b", path.read_text(encoding="utf-8")))
    assert used and used <= exported, sorted(used - exported)
