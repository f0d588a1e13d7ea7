"""The vertical slice through all five deployables, over HTTP, as a fund officer would drive it."""

import json
import sqlite3
import subprocess
import sys
import uuid
from datetime import date, timedelta

import pytest
from openapi_spec_validator import validate

from kongtun_common import testing

TODAY = date.today()
FUND = {
    "code": "L3363",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "name_en": "Ban Rai Subdistrict Municipality Health Security Fund",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
}
START, END = TODAY - timedelta(days=60), TODAY - timedelta(days=20)  # the final reports fall due in 10 days
PROJECT = {
    "fund_code": "L3363",
    "title": "โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ",
    "fiscal_year": 2567,
    "issue": "physical_activity",
    "spending_type": 2,
    "owner": {"name": "ชมรมผู้สูงอายุบ้านไร่", "kind": "citizen_group", "contact": "081-234-5678", "members": 25},
    "requested_amount": "25000.50",
    "start_date": START.isoformat(),
    "end_date": END.isoformat(),
    "activities": [{"name": "เต้นแอโรบิกทุกเย็น", "start_date": START.isoformat(), "end_date": END.isoformat()}],
    "budget_lines": [
        {"group": "wages", "description": "ค่าตอบแทนวิทยากร", "amount": "12000.00"},
        {"group": "materials", "description": "ค่าวัสดุ", "amount": "13000.50"},
    ],
}
APPROVAL = {"approved_amount": "24000", "approved_by": "คณะกรรมการกองทุน", "meeting_ref": "ครั้งที่ 2/2567"}


@pytest.fixture(scope="module")
def fund(api, prepare_fund):
    response = api.post("/api/v1/funds", FUND)
    assert response.status_code == 201, response.text
    return {**response.json(), **prepare_fund(api, "L3363", 2567, "physical_activity", "500000.00")}


def new_project(api, fund, **changes):
    linked = {"plan_id": fund["plan_id"], "indicator_targets": [{"indicator_id": fund["indicator_id"], "target": "60"}]}
    response = api.post("/api/v1/projects", {**PROJECT, **linked, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def summary(api):
    response = api.get("/api/v1/reporting/summary")
    assert response.status_code == 200
    return response.json()


def rows(stack, service, table):
    with sqlite3.connect(stack.var / f"{service}.db") as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def log_lines(stack, service):
    return [
        json.loads(line)
        for line in (stack.var / "log" / f"{service}.log").read_text().splitlines()
        if line.startswith("{")
    ]


def test_the_slice_from_fund_to_reminder(stack, api, fund):
    assert fund["region"] == 12 and fund["name_th"] == FUND["name_th"]
    assert api.get("/api/v1/funds/L3363").json()["name_th"] == FUND["name_th"]

    project = new_project(api, fund)
    assert project["status"] == "draft" and project["district"] == "ศรีนครินทร์"
    correlation = uuid.uuid4().hex
    submitted = api.post(f"/api/v1/projects/{project['id']}/submit", headers={"X-Correlation-ID": correlation})
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert submitted.headers["X-Correlation-ID"] == correlation
    approval_correlation = uuid.uuid4().hex
    approved = api.post(
        f"/api/v1/projects/{project['id']}/approve", APPROVAL, headers={"X-Correlation-ID": approval_correlation}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_amount"] == "24000.00"
    assert approved.json()["code"] == "L3363-2567-0001" and approved.json()["budget_status"] == "pending"

    def committed():  # the funds service committed the budget (the saga's second step)
        return api.get(f"/api/v1/projects/{project['id']}").json()["budget_status"] == "committed"

    testing.wait_for(committed, timeout=15)

    def counted():
        now = summary(api)
        return now if now["projects_by_status"].get("approved") else None

    totals = testing.wait_for(counted, timeout=15)
    assert totals["funds"] == 1 and totals["projects"] == 1
    assert totals["requested_amount"] == "25000.50" and totals["approved_amount"] == "24000.00"

    obligations = api.get("/api/v1/reporting/obligations", params={"project_id": project["id"]}).json()["items"]
    closing = (END + timedelta(days=30)).isoformat()
    assert sorted((item["report"], item["due_date"]) for item in obligations) == [
        ("final", closing),
        ("financial_closing", closing),
        ("mentor_follow_up", (START + timedelta(days=20)).isoformat()),
    ]

    def reminded():
        items = api.get("/api/v1/notifications/reminders", params={"project_id": project["id"]}).json()["items"]
        due = [item for item in items if item["kind"] == "ReportDue"]
        return due if len(due) == 2 else None

    reminders = testing.wait_for(reminded, timeout=20)
    assert {reminder["recipient"] for reminder in reminders} == {"ชมรมผู้สูงอายุบ้านไร่"}
    subjects = sorted(reminder["subject"] for reminder in reminders)
    assert any("(ส.3)" in subject for subject in subjects) and any("(ง.2)" in subject for subject in subjects)
    due_year = str((END + timedelta(days=30)).year + 543)
    assert all(due_year in subject for subject in subjects)

    # A request's correlation id reaches the projects service's log (over RPC), and, through the
    # ProjectApproved event, the log line in which reporting registers the report obligation.
    assert any(line["correlation_id"] == correlation for line in log_lines(stack, "projects"))
    owed = [line["message"] for line in log_lines(stack, "reporting") if line["correlation_id"] == approval_correlation]
    assert f"project {project['id']} owes its final report by {closing}" in owed


BAD_INPUT = [
    ("POST", "/api/v1/funds", b'{"code": "L1111", "name_th": ', "application/json", 400, None),
    ("POST", "/api/v1/funds", b"[1, 2]", "application/json", 422, "body"),
    ("POST", "/api/v1/funds", b"code=L1111", "application/x-www-form-urlencoded", 415, None),
    ("POST", "/api/v1/funds", {**FUND, "code": "L1111", "name_th": None}, None, 422, "name_th"),
    ("POST", "/api/v1/funds", {"code": "L1111"}, None, 422, "subdistrict"),
    ("POST", "/api/v1/funds", {**FUND, "code": "L1111", "region": "12"}, None, 422, "region"),
    ("POST", "/api/v1/funds", {**FUND, "code": "L1111", "region": 11}, None, 422, "region"),
    ("POST", "/api/v1/funds", FUND, None, 422, "code"),  # already registered
    ("GET", "/api/v1/funds/L9999", None, None, 404, "fund_code"),
    ("POST", "/api/v1/projects", b"{oops", "application/json", 400, None),
    ("POST", "/api/v1/projects", {**PROJECT, "fund_code": "L9999"}, None, 422, "fund_code"),
    ("POST", "/api/v1/projects", {**PROJECT, "requested_amount": "12.345"}, None, 422, "requested_amount"),
    ("POST", "/api/v1/projects", {**PROJECT, "requested_amount": -1}, None, 422, "requested_amount"),
    ("POST", "/api/v1/projects", {**PROJECT, "fiscal_year": "2567"}, None, 422, "fiscal_year"),
    ("POST", "/api/v1/projects", {**PROJECT, "owner": {"name": "กลุ่ม"}}, None, 422, "owner.kind"),
    ("POST", "/api/v1/projects", {**PROJECT, "start_date": "2567-13-01"}, None, 422, "start_date"),
    ("GET", f"/api/v1/projects/{uuid.uuid4()}", None, None, 404, "project_id"),
    ("GET", "/api/v1/projects/not-a-uuid", None, None, 404, "project_id"),
    ("POST", f"/api/v1/projects/{uuid.uuid4()}/submit", None, None, 404, "project_id"),
    ("POST", f"/api/v1/projects/{uuid.uuid4()}/approve", APPROVAL, None, 404, "project_id"),
    ("GET", "/api/v1/reporting/summary?region=99", None, None, 422, "region"),
    ("GET", "/api/v1/reporting/obligations?project_id=x", None, None, 422, "project_id"),
    ("GET", "/api/v1/notifications/reminders?project_id=x", None, None, 422, "project_id"),
    ("GET", "/api/v1/nothing-here", None, None, 404, None),
    ("DELETE", "/api/v1/funds", None, None, 405, None),
    ("POST", "/api/v1/funds", b'{"code": "' + b"x" * (1024 * 1024 + 10) + b'"}', "application/json", 413, None),
    ("POST", f"/api/v1/projects/{uuid.uuid4()}/submit", b" " * (1024 * 1024 + 10), "application/json", 413, None),
]


@pytest.mark.parametrize(("method", "path", "body", "content_type", "status", "field"), BAD_INPUT)
def test_bad_input_gets_a_problem_naming_the_field_and_writes_nothing(
    stack, api, fund, method, path, body, content_type, status, field
):
    before = {
        (service, table): rows(stack, service, table)
        for service, table in (
            ("funds", "funds"),
            ("funds", "outbox"),
            ("projects", "projects"),
            ("projects", "outbox"),
        )
    }
    if isinstance(body, (bytes, type(None))):
        headers = {"Content-Type": content_type} if content_type else {}
        response = api.http.request(method, api.base + path, data=body, headers=headers, timeout=15)
    else:
        response = api.http.request(method, api.base + path, json=body, timeout=15)

    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["type"].startswith("urn:kongtun:problem:")
    if field:
        assert field in [error["field"] for error in problem["errors"]]
    assert "Traceback" not in response.text and "SELECT" not in response.text
    after = {key: rows(stack, *key) for key in before}
    assert after == before


def test_an_illegal_transition_answers_409_with_the_current_state(api, fund):
    project = new_project(api, fund)
    response = api.post(f"/api/v1/projects/{project['id']}/approve", APPROVAL)
    assert response.status_code == 409
    assert response.json()["current_state"] == "draft"


def test_ops_endpoints(stack, api):
    assert api.get("/health").json()["status"] == "ok"
    ready = api.get("/ready")
    assert ready.status_code == 200 and set(ready.json()["checks"].values()) == {"up"}
    document = api.get("/openapi.json").json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert "/api/v1/projects/{project_id}/approve" in document["paths"]
    assert "คณะกรรมการกองทุน" in json.dumps(document, ensure_ascii=False)  # Thai examples
    docs = api.get("/docs")
    assert docs.status_code == 200 and "<table>" in docs.text and "cdn" not in docs.text.lower()
    metrics = api.get("/metrics").text
    assert 'kongtun_http_requests_total{method="POST",route="/api/v1/funds"' in metrics
    for service in ("funds", "projects", "notifications", "reporting"):
        port = stack.ports[service]
        text = api.http.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "kongtun_entrypoint_calls_total" in text and "kongtun_outbox_backlog" in text
        assert api.http.get(f"http://127.0.0.1:{port}/ready", timeout=5).json()["checks"] == {
            "broker": "up",
            "database": "up",
        }


def test_a_projects_process_killed_between_commit_and_publish_loses_nothing(stack, api, fund):
    project = new_project(api, fund)
    stack.stop("projects")
    stack.start("projects", KONGTUN_OUTBOX_RELAY="off")  # commits, never publishes
    stack.wait_healthy(names=["projects"])
    submitted_before = summary(api)["projects_by_status"].get("submitted", 0)
    assert api.post(f"/api/v1/projects/{project['id']}/submit").status_code == 200
    stack.kill("projects")  # kill -9 with the event only in the outbox

    stack.start("projects")
    stack.wait_healthy(names=["projects"])
    testing.wait_for(lambda: summary(api)["projects_by_status"].get("submitted", 0) == submitted_before + 1)
    with sqlite3.connect(stack.var / "projects.db") as connection:
        pending = connection.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]
    assert pending == 0
    with sqlite3.connect(stack.var / "reporting.db") as connection:
        applied = connection.execute(
            "SELECT count(*) FROM project_facts WHERE project_id = ?", (project["id"],)
        ).fetchone()[0]
    assert applied == 1


def test_make_run_says_in_one_line_when_the_broker_is_down(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "kongtun_common.stack"],
        env={
            "KONGTUN_AMQP_URI": "amqp://guest:guest@127.0.0.1:1/",
            "KONGTUN_VAR_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "kongtun: RabbitMQ is not reachable at amqp://guest:***@127.0.0.1:1/; "
        "start it with `rabbitmq-server -detached` (or set KONGTUN_AMQP_URI)."
    ]
