"""Static checks of the deployment files (docker-compose.yml, Dockerfiles, ops/).

They need no Docker engine, so they run everywhere: compose's own validation
(Debian's docker-compose), promtool on the Prometheus configuration and alert
rules (Debian's prometheus), and the Grafana dashboards checked against the
metrics the services really export. tests/docker/ holds the suite that brings
the stack up where an engine exists; tests/test_prometheus_scrape.py runs a real
Prometheus against the native stack.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shutil
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INIT_SQL = ROOT / "ops" / "postgres" / "init-databases.sql"
ENABLED_PLUGINS = ROOT / "ops" / "rabbitmq" / "enabled_plugins"
PROMETHEUS_DIR = ROOT / "ops" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES_DIR = PROMETHEUS_DIR / "rules"
RULES_TESTS = PROMETHEUS_DIR / "rules-tests.yml"
GRAFANA_DIR = ROOT / "ops" / "grafana"
DASHBOARDS = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
DATASOURCE_UID = "kongtun-prometheus"

# compose service -> (Dockerfile, module run by `python -m`, port serving /health)
DEPLOYABLES = {
    "funds": ("services/funds/Dockerfile", "kongtun_funds", 9101),
    "projects": ("services/projects/Dockerfile", "kongtun_projects", 9102),
    "notifications": ("services/notifications/Dockerfile", "kongtun_notifications", 9103),
    "reporting": ("services/reporting/Dockerfile", "kongtun_reporting", 9104),
    "gateway": ("gateway/Dockerfile", "kongtun_gateway", 8000),
}
SERVICES_WITH_DATABASE = ["funds", "projects", "notifications", "reporting"]
DATABASES = {f"kongtun_{name}" for name in [*SERVICES_WITH_DATABASE, "gateway"]}  # the gateway keeps its tokens

_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}")


def _with_defaults(value) -> str:
    """A compose value with its ``${VAR:-default}`` references replaced by the defaults."""
    return _VARIABLE.sub(lambda match: match.group("default") or "", str(value))


@pytest.fixture(scope="module")
def compose() -> dict:
    with COMPOSE_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _service(compose: dict, name: str) -> dict:
    services = compose.get("services") or {}
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def _environment(service: dict) -> dict:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {key: _with_defaults(value) for key, value in environment.items()}


def _healthcheck_command(service: dict) -> str:
    test = (service.get("healthcheck") or {}).get("test")
    assert test, "no healthcheck test"
    return " ".join(test) if isinstance(test, list) else str(test)


def _dockerfile(name: str) -> str:
    return (ROOT / DEPLOYABLES[name][0]).read_text(encoding="utf-8")


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


# --- docker-compose.yml ------------------------------------------------------


def test_compose_defines_the_whole_stack(compose):
    assert set(compose["services"]) == {"rabbitmq", "postgres", "prometheus", "grafana", *DEPLOYABLES}


def test_rabbitmq_runs_management_and_prometheus_plugins(compose):
    rabbitmq = _service(compose, "rabbitmq")
    assert rabbitmq["image"] == "rabbitmq:3.13-management"
    assert "rabbitmq-diagnostics -q ping" in _healthcheck_command(rabbitmq)
    mounts = [str(volume) for volume in rabbitmq.get("volumes", [])]
    assert any(mount.startswith("./ops/rabbitmq/enabled_plugins:/etc/rabbitmq/enabled_plugins") for mount in mounts), (
        mounts
    )
    plugins = ENABLED_PLUGINS.read_text(encoding="utf-8")
    assert re.fullmatch(r"\s*\[[\w,\s]+\]\.\s*", plugins), f"not an Erlang term list: {plugins!r}"
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins


def test_postgres_runs_the_init_script_and_reports_health(compose):
    postgres = _service(compose, "postgres")
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in _healthcheck_command(postgres)
    mounts = [str(volume) for volume in postgres.get("volumes", [])]
    assert any(
        mount.startswith("./ops/postgres/init-databases.sql:/docker-entrypoint-initdb.d/") for mount in mounts
    ), mounts


def test_postgres_init_script_creates_the_four_databases_and_the_user():
    sql = INIT_SQL.read_text(encoding="utf-8")
    created = {name.lower() for name in re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)\"?", sql, re.IGNORECASE)}
    assert created >= DATABASES, f"missing: {DATABASES - created}"
    assert re.search(r"CREATE\s+(ROLE|USER)\s+kongtun\b[^;]*LOGIN[^;]*PASSWORD\s+'kongtun'", sql, re.IGNORECASE)
    for database in DATABASES:
        assert re.search(rf"CREATE\s+DATABASE\s+{database}\b[^;]*OWNER\s+kongtun", sql, re.IGNORECASE), database


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_deployable_is_built_from_its_dockerfile(compose, name):
    build = _service(compose, name).get("build")
    assert isinstance(build, dict), f"{name}: build must name a context and a dockerfile"
    context = (ROOT / build.get("context", ".")).resolve()
    assert context == ROOT, f"{name}: build context must be the repository root, got {context}"
    assert build.get("dockerfile") == DEPLOYABLES[name][0]
    assert (context / build["dockerfile"]).is_file()


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_deployable_healthcheck_probes_its_health_endpoint(compose, name):
    command = _healthcheck_command(_service(compose, name))
    port = DEPLOYABLES[name][2]
    assert f"127.0.0.1:{port}/health" in command, command
    assert "urllib" in command and "curl" not in command, "slim images have no curl: probe with python"


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_deployable_waits_for_a_healthy_broker_and_database(compose, name):
    service = _service(compose, name)
    depends_on = service.get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on must carry conditions"
    for dependency in ("rabbitmq", "postgres"):
        assert (depends_on.get(dependency) or {}).get("condition") == "service_healthy", (name, dependency)
    assert service.get("restart") == "unless-stopped"


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_deployable_environment(compose, name):
    environment = _environment(_service(compose, name))
    assert environment.get("KONGTUN_AMQP_URI", "").startswith("amqp://"), environment
    assert "@rabbitmq:5672" in environment["KONGTUN_AMQP_URI"]
    assert environment.get("KONGTUN_BIND") == "0.0.0.0"
    assert 1 <= int(environment.get("KONGTUN_REGION", "12")) <= 13
    database_variable = f"KONGTUN_{name.upper()}_DATABASE_URL"
    url = environment.get(database_variable, "")  # every deployable owns its database (the gateway: tokens, users)
    assert url == f"postgresql://kongtun:kongtun@postgres:5432/kongtun_{name}", url
    assert [key for key in environment if key.endswith("_DATABASE_URL")] == [database_variable]


def test_gateway_publishes_port_8000_and_waits_for_the_services(compose):
    gateway = _service(compose, "gateway")
    ports = [_with_defaults(port) for port in gateway.get("ports", [])]
    assert "8000:8000" in ports, ports
    depends_on = gateway["depends_on"]
    for name in SERVICES_WITH_DATABASE:
        assert depends_on.get(name, {}).get("condition") == "service_healthy", name


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker:
        try:
            probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if probe.returncode == 0:
            return [docker, "compose"]
    return None


def test_compose_file_passes_compose_own_validation():
    command = _compose_command()
    if command is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed: compose's own check not run")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr or result.stdout


# --- Dockerfiles ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_dockerfile_is_multi_stage_on_python_311_slim(name):
    path = ROOT / DEPLOYABLES[name][0]
    assert path.is_file(), f"{path} is missing"
    froms = [args for keyword, args in _instructions(_dockerfile(name)) if keyword == "FROM"]
    assert len(froms) >= 2, f"{name}: expected a builder and a runtime stage, got {froms}"
    assert all(args.split()[0] == "python:3.11-slim" for args in froms), froms
    instructions = _instructions(_dockerfile(name))
    assert any(
        keyword == "COPY" and args.startswith("--from=") and "/opt/venv" in args for keyword, args in instructions
    )


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_dockerfile_installs_pinned_and_non_editable(name):
    directory = str(Path(DEPLOYABLES[name][0]).parent)
    installs = [
        args for keyword, args in _instructions(_dockerfile(name)) if keyword == "RUN" and "pip install" in args
    ]
    assert installs, f"{name}: no pip install"
    command = " ".join(installs)
    assert "-c constraints.txt" in command
    assert "./libs/common" in command and f"./{directory}" in command
    assert not re.search(r"(^|\s)(-e|--editable)\s", command), "install non-editable: the image has no sources"


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_dockerfile_runtime_settings(name):
    instructions = _instructions(_dockerfile(name))
    runtime = instructions[max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM") :]
    env = " ".join(args for keyword, args in runtime if keyword == "ENV")
    assert "KONGTUN_CONTRACTS_DIR=/app/contracts" in env
    assert "KONGTUN_BIND=0.0.0.0" in env
    assert any(keyword == "COPY" and args.split()[-1].rstrip("/") == "/app/contracts" for keyword, args in runtime)


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_dockerfile_runs_as_a_non_root_user(name):
    users = [args.split(":")[0] for keyword, args in _instructions(_dockerfile(name)) if keyword == "USER"]
    assert users, f"{name}: no USER instruction: the process would run as root"
    assert users[-1] not in {"root", "0"}, users


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_dockerfile_has_a_healthcheck(name):
    checks = [args for keyword, args in _instructions(_dockerfile(name)) if keyword == "HEALTHCHECK"]
    assert checks and not checks[-1].upper().startswith("NONE"), f"{name}: no HEALTHCHECK"
    assert "/health" in checks[-1] and "curl" not in checks[-1]


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_dockerfile_cmd_runs_an_importable_module(name):
    commands = [args for keyword, args in _instructions(_dockerfile(name)) if keyword == "CMD"]
    assert commands, f"{name}: no CMD"
    # exec form ["python", "-m", "kongtun_x"] or shell form python -m kongtun_x
    match = re.search(r'-m"?\s*,?\s*"?(?P<module>[\w.]+)', commands[-1])
    assert match, f"{name}: CMD must be `python -m kongtun_<name>`, got {commands[-1]}"
    module = match.group("module")
    assert module == DEPLOYABLES[name][1]
    assert importlib.util.find_spec(module) is not None, f"{module} is not importable here"
    assert importlib.util.find_spec(f"{module}.__main__") is not None, (
        f"`python -m {module}` needs {module}/__main__.py"
    )


def test_dockerignore_keeps_the_build_context_small():
    patterns = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    for needed in (".venv", "var", ".git", "**/__pycache__", "**/*.egg-info", ".pytest_cache", ".ruff_cache"):
        assert needed in patterns, f".dockerignore should exclude {needed}"


# --- monitoring: Prometheus and Grafana in the compose file --------------------------------


def _pinned(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return bool(name) and bool(re.fullmatch(r"v?\d+\.\d+\.\d+", tag))


def test_prometheus_service_mounts_its_config_and_rules_and_reports_health(compose):
    prometheus = _service(compose, "prometheus")
    assert _pinned(prometheus["image"]) and prometheus["image"].startswith("prom/prometheus:"), prometheus["image"]
    mounts = [str(volume) for volume in prometheus.get("volumes", [])]
    assert "./ops/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts, mounts
    assert "./ops/prometheus/rules:/etc/prometheus/rules:ro" in mounts, mounts
    assert any(mount.endswith(":/prometheus") for mount in mounts), "the TSDB needs a volume"
    command = " ".join(prometheus.get("command", []))
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    assert "--enable-feature=expand-external-labels" in command, "the region label comes from the environment"
    assert "/-/ready" in _healthcheck_command(prometheus)
    assert prometheus.get("restart") == "unless-stopped"


def test_grafana_service_provisions_the_datasource_and_dashboards(compose):
    grafana = _service(compose, "grafana")
    assert _pinned(grafana["image"]) and grafana["image"].startswith("grafana/grafana:"), grafana["image"]
    mounts = [str(volume) for volume in grafana.get("volumes", [])]
    assert "./ops/grafana/provisioning:/etc/grafana/provisioning:ro" in mounts, mounts
    assert "./ops/grafana/dashboards:/var/lib/grafana/dashboards:ro" in mounts, mounts
    assert (grafana["depends_on"].get("prometheus") or {}).get("condition") == "service_healthy"
    assert "/api/health" in _healthcheck_command(grafana)
    environment = _environment(grafana)
    assert environment.get("GF_USERS_ALLOW_SIGN_UP") == "false"

    datasources = yaml.safe_load((GRAFANA_DIR / "provisioning/datasources/prometheus.yml").read_text())
    (datasource,) = datasources["datasources"]
    assert datasource["type"] == "prometheus" and datasource["uid"] == DATASOURCE_UID
    assert datasource["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((GRAFANA_DIR / "provisioning/dashboards/kongtun.yml").read_text())["providers"]
    assert [provider["options"]["path"] for provider in providers] == ["/var/lib/grafana/dashboards"]


def test_prometheus_scrapes_every_deployable_and_rabbitmq(compose):
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {
        target: group.get("labels", {}).get("deployable")
        for group in jobs["kongtun"]["static_configs"]
        for target in group["targets"]
    }
    assert targets == {f"{name}:{port}": name for name, (_, _, port) in DEPLOYABLES.items()}
    for name in ("rabbitmq", "rabbitmq-queues"):
        assert [target for group in jobs[name]["static_configs"] for target in group["targets"]] == ["rabbitmq:15692"]
    assert jobs["rabbitmq-queues"]["metrics_path"] == "/metrics/detailed"
    assert set(jobs["rabbitmq-queues"]["params"]["family"]) == {"queue_coarse_metrics", "queue_consumer_count"}
    # Every target answers on the compose network under the name Prometheus uses.
    for target in (*targets, "rabbitmq:15692"):
        assert target.split(":")[0] in compose["services"], target


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus; .ci/run installs it)")
    return promtool


def _run(command: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_promtool_accepts_the_prometheus_configuration_and_its_rules():
    result = _run([_promtool(), "check", "config", str(PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    assert re.search(r"SUCCESS: \d+ rules found", result.stdout + result.stderr), "the rule files were not loaded"


def test_alert_rules_fire_when_they_should(tmp_path):
    """promtool's unit tests: a target down, dead letters above zero, a growing outbox, a handler without consumer."""
    result = _run([_promtool(), "test", "rules", RULES_TESTS.name], cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def _alert_rules() -> list[dict]:
    rules = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            rules.extend(group["rules"])
    return rules


def test_the_required_alerts_exist_and_each_names_its_runbook_section():
    alerts = {rule["alert"]: rule for rule in _alert_rules() if "alert" in rule}
    assert {"KongtunTargetDown", "KongtunDeadLetters", "KongtunOutboxBacklogGrowing"} <= set(alerts)
    assert alerts["KongtunTargetDown"]["expr"].strip() == "up == 0"
    assert "dead-letters" in alerts["KongtunDeadLetters"]["expr"] and "> 0" in alerts["KongtunDeadLetters"]["expr"]
    assert "deriv(kongtun_outbox_backlog" in alerts["KongtunOutboxBacklogGrowing"]["expr"]
    anchors = _doc_anchors()
    for name, rule in alerts.items():
        assert rule["labels"].get("severity") in {"warning", "critical"}, name
        runbook = rule["annotations"].get("runbook", "")
        assert runbook.startswith("docs/operations.md#"), (name, runbook)
        assert runbook.split("#", 1)[1] in anchors, f"{name}: docs/operations.md has no section #{runbook}"
    tested = set(re.findall(r"alertname: (\w+)", RULES_TESTS.read_text(encoding="utf-8")))
    assert {"KongtunTargetDown", "KongtunDeadLetters", "KongtunOutboxBacklogGrowing"} <= tested


def _doc_anchors() -> set[str]:
    """GitHub-style anchors of docs/operations.md's headings."""
    anchors = set()
    for line in OPERATIONS_DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


# --- Grafana dashboards: valid, and naming only metrics that exist -----------------------------

_METRIC_NAME = re.compile(r"\b((?:kongtun|rabbitmq)_[a-zA-Z0-9_]+)\b")
# rabbitmq_prometheus's per-queue metrics (/metrics/detailed, families queue_coarse_metrics and
# queue_consumer_count); checked against a live broker below where the plugin answers.
RABBITMQ_DETAILED_METRICS = {
    "rabbitmq_detailed_queue_messages",
    "rabbitmq_detailed_queue_messages_ready",
    "rabbitmq_detailed_queue_messages_unacked",
    "rabbitmq_detailed_queue_consumers",
}


def exported_names(exposition: str) -> set[str]:
    """Every sample name a /metrics text can carry, from its ``# TYPE`` lines (also for empty families)."""
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.MULTILINE):
        names.add(name)
        if kind == "histogram":
            names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
        elif kind == "summary":
            names.update({f"{name}_sum", f"{name}_count"})
    return names


@pytest.fixture(scope="module")
def kongtun_metrics() -> set[str]:
    """The kongtun_* metrics of the registry once every service and the gateway is imported."""
    from prometheus_client import generate_latest

    for module in (*(f"kongtun_{name}.service" for name in SERVICES_WITH_DATABASE), "kongtun_gateway.service"):
        importlib.import_module(module)
    return {name for name in exported_names(generate_latest().decode()) if name.startswith("kongtun_")}


def _dashboard(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _panels(dashboard: dict) -> list[dict]:
    panels = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # collapsed rows carry their panels
    return panels


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) of every target of every dashboard."""
    return [
        (path.name, panel.get("title", ""), target["expr"])
        for path in DASHBOARDS
        for panel in _panels(_dashboard(path))
        for target in panel.get("targets", [])
    ]


def test_dashboards_are_valid_and_use_the_provisioned_datasource():
    assert {path.name for path in DASHBOARDS} >= {"kongtun-operations.json", "kongtun-business.json"}
    uids = set()
    for path in DASHBOARDS:
        dashboard = _dashboard(path)
        assert dashboard.get("uid") and dashboard.get("title"), path.name
        assert dashboard["uid"] not in uids, f"duplicate uid {dashboard['uid']}"
        uids.add(dashboard["uid"])
        ids = [panel["id"] for panel in _panels(dashboard)]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for panel in _panels(dashboard):
            if panel["type"] == "row":
                continue
            assert panel.get("targets"), f"{path.name}: panel {panel.get('title')!r} has no query"
            assert panel["datasource"]["uid"] == DATASOURCE_UID, (path.name, panel["title"])
            for target in panel["targets"]:
                assert target.get("expr", "").strip(), (path.name, panel["title"])
                assert target["expr"].count("(") == target["expr"].count(")"), (path.name, target["expr"])


def test_dashboard_and_alert_queries_name_only_metrics_the_services_export(kongtun_metrics):
    queries = [query for _, _, query in dashboard_queries()] + [rule["expr"] for rule in _alert_rules()]
    named = {name for query in queries for name in _METRIC_NAME.findall(query)}
    unknown = {name for name in named if name.startswith("kongtun_")} - kongtun_metrics
    assert not unknown, f"no service exports {sorted(unknown)}; exported: {sorted(kongtun_metrics)}"
    assert {name for name in named if name.startswith("rabbitmq_")} <= RABBITMQ_DETAILED_METRICS


def test_the_rabbitmq_metrics_the_dashboards_use_exist_on_a_live_broker():
    url = "http://127.0.0.1:15692/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count"
    try:
        with socket.create_connection(("127.0.0.1", 15692), timeout=1):
            pass
        with urllib.request.urlopen(url, timeout=5) as response:
            exposition = response.read().decode()
    except OSError:
        pytest.skip("rabbitmq_prometheus does not answer on 127.0.0.1:15692 (.ci/run enables the plugin)")
    assert RABBITMQ_DETAILED_METRICS <= exported_names(exposition)


def test_the_dashboards_cover_requests_events_lag_dead_letters_outbox_and_the_business(kongtun_metrics):
    queries = " ".join(query for _, _, query in dashboard_queries())
    for needed in (
        "kongtun_http_requests_total",  # request rate and errors per route
        "kongtun_http_request_duration_seconds_bucket",  # latency per route
        "kongtun_events_published_total",  # events per type
        "rabbitmq_detailed_queue_messages_ready",  # consumer lag
        "kongtun_events_dead_lettered_total",
        "dead-letters",
        "kongtun_outbox_backlog",
        'type="kongtun.ProjectSubmitted.v1"',
        'type="kongtun.ProjectApproved.v1"',
        'type="kongtun.BudgetCommitted.v1"',
        'type="kongtun.ReportOverdue.v1"',
    ):
        assert needed in queries, f"no dashboard query uses {needed}"
    assert "by (route" in queries, "request rate, latency and errors are per route"
    # The business panels name event types that have contracts.
    contracts = {path.name.split(".schema")[0] for path in (ROOT / "contracts" / "events").glob("*.json")}
    for name, version in re.findall(r'type="kongtun\.(\w+)\.v(\d+)"', queries):
        assert f"{name}.v{version}" in contracts, f"no contract for {name} v{version}"
