"""The system under fault: the five processes (and optional extra copies) on the private broker and PostgreSQL,
plus the checks that nothing acknowledged was lost and nothing was applied twice."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import requests
from fund_setup import prepare_fund_for_projects
from infra import free_port, wait_until
from traffic import PreparedFund, Traffic

from kongtun_common.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("funds", "projects", "notifications", "reporting")
DATABASES = (*SERVICES, "gateway")
DEAD_LETTERS_SUFFIX = ".dead-letters"

# Funds in seed 004's district (พัทลุง, ศรีนครินทร์): enough income that approvals commit.
FUNDS = [
    {
        "code": f"L33{60 + number}",
        "name_th": f"กองทุนหลักประกันสุขภาพองค์การบริหารส่วนตำบลทดสอบ{number}",
        "subdistrict": f"ตำบลทดสอบ{number}",
        "district": "ศรีนครินทร์",
        "province": "พัทลุง",
    }
    for number in range(1, 4)
]


def notification_servers():
    """services/notifications/tests/servers.py (a real webhook receiver process), loaded by path."""
    name = "kongtun_notifications_test_servers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "services/notifications/tests/servers.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


class System:
    def __init__(self, broker, postgres, var: Path, copies: dict[str, int] | None = None):
        self.broker = broker
        self.postgres = postgres
        self.var = var
        self.copies = copies or {}
        suffix = uuid.uuid4().hex[:6]
        self.vhost = f"kongtun-{suffix}"  # a vhost per system: two systems on one broker never share a queue
        broker.ctl("add_vhost", self.vhost)
        broker.ctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self.urls = {name: postgres.create_database(f"kongtun_{name}_{suffix}") for name in DATABASES}
        self.ports = {name: free_port() for name in (*SERVICES, "gateway")}
        self.env = {
            "KONGTUN_AMQP_URI": broker.uri + self.vhost,
            "KONGTUN_VAR_DIR": str(var),
            "KONGTUN_REGION": "12",
            "KONGTUN_GATEWAY_PORT": str(self.ports["gateway"]),
            "KONGTUN_GATEWAY_RATE_PER_SECOND": "100000",
            "KONGTUN_GATEWAY_RATE_BURST": "100000",
            "KONGTUN_REPORTING_CHECK_SECONDS": "1",
            "KONGTUN_OUTBOX_POLL_SECONDS": "0.5",
            "KONGTUN_EVENT_RETRY_DELAYS_MS": "500,2000,5000",
            "KONGTUN_RPC_TIMEOUT_SECONDS": "5",
            "KONGTUN_NOTIFICATIONS_SEND_INTERVAL_SECONDS": "0.2",
            # a delivery claimed by a process killed mid-send is sent again once its lease ends (default 120 s)
            "KONGTUN_NOTIFICATIONS_LEASE_SECONDS": "10",
            **{f"KONGTUN_{name.upper()}_DATABASE_URL": url for name, url in self.urls.items()},
            **{f"KONGTUN_{name.upper()}_METRICS_PORT": str(self.ports[name]) for name in SERVICES},
        }
        self.stack = Stack(self.env, log_dir=var)
        # Extra processes of a service (competing consumers): a Stack each, on ports of their own.
        self.extra: list[tuple[str, Stack, int]] = []
        for name, count in self.copies.items():
            for _ in range(count - 1):
                port = free_port()
                extra_env = {**self.env, f"KONGTUN_{name.upper()}_METRICS_PORT": str(port)}
                self.extra.append((name, Stack(extra_env, log_dir=var / f"{name}-{port}", names=(name,)), port))
        self.base = f"http://127.0.0.1:{self.ports['gateway']}"
        self.token = ""
        self.funds: list[PreparedFund] = []
        self.hooks = None  # a webhook receiver subscribed to ProjectApproved (see subscribe_webhook)

    # ---- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> System:
        self.stack.start_all(timeout=90)
        for _name, stack, _port in self.extra:  # after the first copies migrated the databases
            stack.start_all(timeout=90)
        self.token = self.stack.admin_token()
        return self

    def stop(self) -> None:
        if self.hooks is not None:
            self.hooks.stop()
        for _name, stack, _port in self.extra:
            stack.stop_all()
        self.stack.stop_all()

    def kill_and_restart(self, name: str, down_s: float = 2.0) -> float:
        """kill -9 one process, leave it down a moment, start it again; return seconds until healthy again."""
        self.stack.kill(name)
        time.sleep(down_s)
        began = time.monotonic()
        self.stack.start(name)
        self.stack.wait_healthy(90, names=(name,))
        return time.monotonic() - began

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def prepare_funds(self) -> list[PreparedFund]:
        session = self.session()

        def post(path, body):
            response = session.post(self.base + path, json=body, timeout=30)
            return response.status_code, response.json()

        for fund in FUNDS:
            status, body = post("/api/v1/funds", fund)
            assert status == 201, body
            prepared = prepare_fund_for_projects(post, fund["code"], 2567, "physical_activity", "50000000.00")
            self.funds.append(PreparedFund(fund["code"], prepared["plan_id"], prepared["indicator_id"]))
        session.close()
        return self.funds

    def subscribe_webhook(self) -> None:
        """A real receiver subscribed to ProjectApproved: every approval is a delivery of notifications' own."""
        self.hooks = notification_servers().WebhookReceiver(self.var / "hooks")
        session = self.session()
        response = session.post(
            self.base + "/api/v1/notifications/webhooks",
            json={"owner": "สสจ.พัทลุง", "url": self.hooks.url, "types": ["ProjectApproved"]},
            timeout=30,
        )
        session.close()
        assert response.status_code == 201, response.text

    def traffic(self, **options) -> Traffic:
        return Traffic(self.base, self.token, self.funds, **options)

    # ---- looking inside ------------------------------------------------------------------------------------
    def query(self, service: str, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.urls[service], connect_timeout=5) as connection:
            return connection.execute(sql, params).fetchall()

    def pending_outbox(self) -> dict[str, int]:
        return {
            name: self.query(name, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0] for name in SERVICES
        }

    def queues(self) -> dict[str, tuple[int, int]]:
        return self.broker.queues(self.vhost)

    def dead_letters(self) -> dict[str, int]:
        return {
            name: ready + unacked
            for name, (ready, unacked) in self.queues().items()
            if name.endswith(DEAD_LETTERS_SUFFIX) and ready + unacked
        }

    def settled(self) -> bool:
        """Every outbox published and every handler queue (and delay queue) empty."""
        if any(self.pending_outbox().values()):
            return False
        unsent = "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')"
        if self.hooks is not None and self.query("notifications", unsent)[0][0]:
            return False
        return not any(
            ready + unacked
            for name, (ready, unacked) in self.queues().items()
            if not name.endswith(DEAD_LETTERS_SUFFIX) and not name.startswith("rpc")
        )

    def wait_settled(self, timeout: float = 120.0) -> float:
        began = time.monotonic()
        # twice in a row, a moment apart: a handler may be publishing its own follow-up event
        wait_until(lambda: self.settled() and (time.sleep(1.0) or self.settled()), timeout, "the system did not settle")
        return time.monotonic() - began

    def metrics(self, port: int) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return response.read().decode()

    def consumed(self, port: int, service: str) -> float:
        """Events a process applied, from its /metrics."""
        total = 0.0
        for line in self.metrics(port).splitlines():
            if line.startswith("kongtun_events_consumed_total{") and 'outcome="applied"' in line:
                if f'service="{service}"' in line:
                    total += float(line.rsplit(" ", 1)[1])
        return total

    def summary(self) -> dict:
        session = self.session()
        try:
            response = session.get(self.base + "/api/v1/reporting/summary", params={"group_by": "status"}, timeout=30)
            assert response.status_code == 200, response.text
            return response.json()
        finally:
            session.close()


def satang(baht: str) -> int:
    whole, _, fraction = baht.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


def check_consistency(system: System, traffic: Traffic, explained_dead_letters: dict[str, int] | None = None) -> dict:
    """After the system settled: every acknowledged step is in the owning records and the read models;
    nothing applied twice; no unexplained dead letter. Returns figures for the report."""
    problems: list[str] = []

    # 1. Every acknowledged step is in projects' own records.
    rows = system.query(
        "projects", "SELECT id, status, requested_amount, approved_amount, code, budget_status, fund_code FROM projects"
    )
    projects = {row[0]: row for row in rows}
    reports = Counter(
        (row[0], row[1], row[2])
        for row in system.query("projects", "SELECT project_id, kind, period FROM project_reports")
    )
    for record in traffic.acked.values():
        row = projects.get(record.id)
        if row is None:
            problems.append(f"acknowledged project {record.id} is missing in projects")
            continue
        if record.submitted and row[1] == "draft":
            problems.append(f"acknowledged submission of {record.id} is not recorded (status {row[1]})")
        if record.approved_satang is not None:
            if row[1] not in ("approved", "running") or row[3] != record.approved_satang:
                problems.append(f"acknowledged approval of {record.id} not recorded: {row[1]} {row[3]}")
            if record.code and row[4] != record.code:
                problems.append(f"{record.id}: acknowledged code {record.code} but recorded {row[4]}")
        if record.started and row[1] != "running":
            problems.append(f"acknowledged start of {record.id} not recorded: {row[1]}")
        for kind, period in record.reports:
            if reports[(record.id, kind, period)] != 1:
                problems.append(
                    f"acknowledged report {kind}/{period} of {record.id} recorded {reports[(record.id, kind, period)]}x"
                )

    # 1b. No extra project: every create carried an Idempotency-Key, so a retried one made nothing more (the run's
    # proposals carry its id and their sequence number in the title: one project per title at most).
    [(made, titles)] = system.query(
        "projects", "SELECT count(*), count(DISTINCT title) FROM projects WHERE title LIKE %s", f"% ({traffic.run_id})"
    )
    if not len(traffic.acked) <= made == titles <= traffic.creates_attempted:
        problems.append(f"{made} projects for {titles} proposals ({traffic.creates_attempted} creates attempted)")

    # 2. No duplicate code; no project left waiting for its budget.
    codes = Counter(row[4] for row in rows if row[4])
    problems += [f"project code {code} given {n} times" for code, n in codes.items() if n > 1]
    problems += [f"project {row[0]} still waits for its budget" for row in rows if row[5] == "pending"]

    # 3. Funds: exactly one commitment per project whose budget is committed, for its approved amount.
    commitments = system.query("funds", "SELECT project_id::text, amount_satang, status FROM commitments")
    per_project = Counter(row[0] for row in commitments)
    problems += [f"project {pid} has {n} commitments" for pid, n in per_project.items() if n > 1]
    committed = {row[0]: row for row in rows if row[5] == "committed"}
    amounts = {row[0]: row[1] for row in commitments}
    for pid, row in committed.items():
        if amounts.get(pid) != row[3]:
            problems.append(f"project {pid} committed {row[3]} but funds holds {amounts.get(pid)}")
    problems += [f"commitment for {pid} whose budget is not committed" for pid in per_project if pid not in committed]

    # 4. Reporting's read model equals projects' own records (submitted onwards; drafts are not published).
    summary = system.summary()
    own_status = Counter(row[1] for row in rows if row[1] != "draft")
    if dict(own_status) != {key: value for key, value in summary["projects_by_status"].items() if value}:
        problems.append(f"reporting counts {summary['projects_by_status']} but projects holds {dict(own_status)}")
    own_requested = sum(row[2] for row in rows if row[1] != "draft")
    own_approved = sum(row[3] or 0 for row in rows if row[1] in ("approved", "running"))
    groups = {group["key"]: group for group in summary.get("groups", [])}
    if satang(summary["requested_amount"]) != own_requested:
        problems.append(f"reporting requested {summary['requested_amount']} but projects holds {own_requested}")
    reported_approved = sum(satang(groups[key]["approved_amount"]) for key in ("approved", "running") if key in groups)
    if reported_approved != own_approved:
        problems.append(f"reporting approved {reported_approved} but projects holds {own_approved}")

    # 5. Notifications: no duplicate per (source event, recipient) nor per (notification, channel).
    duplicates = system.query(
        "notifications",
        "SELECT source_key, recipient_key, count(*) FROM notifications GROUP BY 1, 2 HAVING count(*) > 1",
    )
    problems += [f"notification {row[0]} to {row[1]} made {row[2]}x" for row in duplicates]
    duplicates = system.query(
        "notifications",
        "SELECT notification_id, channel, count(*) FROM deliveries WHERE notification_id IS NOT NULL "
        "GROUP BY 1, 2 HAVING count(*) > 1",
    )
    problems += [f"notification {row[0]} delivered {row[2]}x on {row[1]}" for row in duplicates]

    # 5b. Webhooks: one delivery per ProjectApproved projects published, each sent and received (a resend after a
    # crash mid-send carries the same Kongtun-Delivery id, which receivers use to drop the copy).
    webhooks = 0
    if system.hooks is not None:
        published = system.query("projects", "SELECT count(*) FROM outbox WHERE type = 'kongtun.ProjectApproved.v1'")
        deliveries = system.query(
            "notifications",
            "SELECT id, status FROM deliveries WHERE event_type IN ('ProjectApproved', %s)",
            "kongtun.ProjectApproved.v1",
        )
        webhooks = len(deliveries)
        if webhooks != published[0][0]:
            problems.append(f"{webhooks} ProjectApproved webhook deliveries for {published[0][0]} events published")
        problems += [f"delivery {row[0]} is {row[1]}" for row in deliveries if row[1] != "sent"]
        received = {record["headers"].get("Kongtun-Delivery") for record in system.hooks.received()}
        missing = {row[0] for row in deliveries} - received
        if missing:
            problems.append(f"{len(missing)} deliveries never reached the receiver, e.g. {sorted(missing)[:3]}")

    # 6. Outboxes drained, no unexplained dead letter.
    pending = {name: count for name, count in system.pending_outbox().items() if count}
    if pending:
        problems.append(f"outbox rows still pending: {pending}")
    dead = system.dead_letters()
    for name, count in (explained_dead_letters or {}).items():
        if dead.get(name, 0) <= count:
            dead.pop(name, None)
    if dead:
        problems.append(f"unexplained dead letters: {dead}")

    assert not problems, "\n".join(problems[:40])
    return {
        "projects": len(rows),
        "by_status": dict(own_status),
        "commitments": len(commitments),
        "notifications": system.query("notifications", "SELECT count(*) FROM notifications")[0][0],
        "acknowledged": len(traffic.acked),
        "webhook_deliveries": webhooks,
    }


def report(name: str, figures: dict) -> None:
    """Print a figure line the docs quote (visible with pytest -s or in the -rA summary)."""
    print(f"\n[faults] {name}: {json.dumps(figures, ensure_ascii=False, sort_keys=True)}")
