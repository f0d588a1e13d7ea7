"""Static checks of the deployment files (docker-compose.yml, Dockerfiles, ops/).

They need no Docker engine, so they run everywhere; tests/docker/ holds the suite
that brings the stack up where an engine exists.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INIT_SQL = ROOT / "ops" / "postgres" / "init-databases.sql"
ENABLED_PLUGINS = ROOT / "ops" / "rabbitmq" / "enabled_plugins"

# compose service -> (Dockerfile, module run by `python -m`, port serving /health)
DEPLOYABLES = {
    "funds": ("services/funds/Dockerfile", "kongtun_funds", 9101),
    "projects": ("services/projects/Dockerfile", "kongtun_projects", 9102),
    "notifications": ("services/notifications/Dockerfile", "kongtun_notifications", 9103),
    "reporting": ("services/reporting/Dockerfile", "kongtun_reporting", 9104),
    "gateway": ("gateway/Dockerfile", "kongtun_gateway", 8000),
}
SERVICES_WITH_DATABASE = ["funds", "projects", "notifications", "reporting"]
DATABASES = {f"kongtun_{name}" for name in SERVICES_WITH_DATABASE}

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
    assert set(compose["services"]) == {"rabbitmq", "postgres", *DEPLOYABLES}


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
    if name in SERVICES_WITH_DATABASE:
        url = environment.get(database_variable, "")
        assert url == f"postgresql://kongtun:kongtun@postgres:5432/kongtun_{name}", url
    else:
        assert not [key for key in environment if key.endswith("_DATABASE_URL")], "the gateway owns no database"


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
