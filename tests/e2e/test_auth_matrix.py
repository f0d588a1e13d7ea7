"""The gateway's authentication and authorization over the real processes.

One region-12 deployment holds funds in two provinces (and two districts of one).
Every role is tried with every scope kind (national, region 12, region 11, province,
district, fund) on every verb: read one fund in and out of scope, list funds,
register a fund in and out of scope, read the summary, read the metrics.
Out-of-scope single resources answer 404; out-of-scope creation and a foreign
region answer 403.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
import requests

from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_common.stack import Stack
from kongtun_gateway import auth
from kongtun_gateway.routes.reporting import SummaryQuery

from .conftest import Api, free_port

pytestmark = pytest.mark.e2e

RATE = 30  # requests a second per token in this deployment (burst: twice as many)

FUNDS = {
    # code: (province, district)
    "L3363": ("พัทลุง", "ศรีนครินทร์"),
    "L3364": ("พัทลุง", "ควนขนุน"),
    "L5001": ("สงขลา", "หาดใหญ่"),
}
HOME = "L3363"  # the fund/district/province of the scoped principals
ROLES = auth.ROLES
SCOPES = {
    "national": ("national", "", None),
    "region": ("region", "12", 12),
    "other-region": ("region", "11", 11),
    "province": ("province", "พัทลุง", 12),
    "district": ("district", "พัทลุง/ศรีนครินทร์", 12),
    "fund": ("fund", HOME, 12),
}

# What each role may do, written out here independently of the gateway's tables.
READERS = set(ROLES) - {"ops"}
FUND_WRITERS = {"admin", "regional_admin", "fund_officer"}
METRICS_READERS = {"admin", "regional_admin", "ops"}
SUMMARY_BY_FUND = "fund_code" in SummaryQuery._declared_fields


def fund_body(code: str, province: str, district: str) -> dict:
    return {
        "code": code,
        "name_th": f"กองทุนหลักประกันสุขภาพทดสอบ {code}",
        "subdistrict": "ตำบลทดสอบ",
        "district": district,
        "province": province,
        "region": 12,
    }


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    ports = {name: free_port() for name in ("gateway", "funds", "projects", "notifications", "reporting")}
    with testing.fresh_vhost() as amqp_uri:
        env = {
            "KONGTUN_AMQP_URI": amqp_uri,
            "KONGTUN_VAR_DIR": str(var),
            "KONGTUN_REGION": "12",
            "KONGTUN_GATEWAY_PORT": str(ports["gateway"]),
            "KONGTUN_GATEWAY_RATE_PER_SECOND": str(RATE),
            "KONGTUN_GATEWAY_RATE_BURST": str(2 * RATE),
            "KONGTUN_OUTBOX_POLL_SECONDS": "0.2",
            **{f"KONGTUN_{name.upper()}_METRICS_PORT": str(port) for name, port in ports.items() if name != "gateway"},
        }
        running = Stack(env, log_dir=var)
        try:
            running.start_all(timeout=60)
            running.base = f"http://127.0.0.1:{ports['gateway']}"
            running.engine = make_engine(f"sqlite:///{Path(var) / 'gateway.db'}")
            admin = Api(running.base, running.admin_token())
            for code, (province, district) in FUNDS.items():
                response = admin.post("/api/v1/funds", fund_body(code, province, district))
                assert response.status_code == 201, response.text
            yield running
        finally:
            running.stop_all()


def client(deployment, role: str, scope_name: str) -> Api:
    kind, scope, region = SCOPES[scope_name]
    _token_id, token = auth.issue_token(deployment.engine, f"{role}@{scope_name}", role, kind, scope, region)
    return Api(deployment.base, token)


def in_scope(scope_name: str, code: str) -> bool:
    province, district = FUNDS.get(code, ("พัทลุง", "ศรีนครินทร์"))
    return {
        "national": True,
        "region": True,
        "other-region": False,
        "province": province == "พัทลุง",
        "district": (province, district) == ("พัทลุง", "ศรีนครินทร์"),
        "fund": code == HOME,
    }[scope_name]


@pytest.mark.parametrize(("role", "scope_name"), list(itertools.product(ROLES, SCOPES)))
def test_every_role_in_every_scope_gets_exactly_its_rights(deployment, role, scope_name):
    api = client(deployment, role, scope_name)
    foreign = scope_name == "other-region"

    # read one fund, in and out of scope
    for code in FUNDS:
        status = api.get(f"/api/v1/funds/{code}").status_code
        if role not in READERS or foreign:
            assert status == 403, (code, status)
        else:
            assert status == (200 if in_scope(scope_name, code) else 404), (code, status)

    # list funds: narrowed to the scope, never beyond it
    response = api.get("/api/v1/funds", params={"per_page": 100})
    if role not in READERS or foreign or scope_name == "fund":  # a fund list cannot be narrowed to one fund
        assert response.status_code == 403, response.text
    else:
        assert response.status_code == 200, response.text
        listed = {item["code"] for item in response.json()["items"]}
        assert {code for code in FUNDS if in_scope(scope_name, code)} <= listed
        assert not {code for code in FUNDS if not in_scope(scope_name, code)} & listed
        # asking for another province is answered with one's own
        other = api.get("/api/v1/funds", params={"province": "สงขลา", "per_page": 100}).json()
        assert ("L5001" in {item["code"] for item in other["items"]}) == in_scope(scope_name, "L5001")

    # register a fund inside and outside the scope
    for province, district, home in (("พัทลุง", "ศรีนครินทร์", True), ("สงขลา", "หาดใหญ่", False)):
        code = f"L{abs(hash((role, scope_name, province))) % 9000 + 1000}"
        body = fund_body(code, province, district)
        status = api.post("/api/v1/funds", body).status_code
        may = role in FUND_WRITERS and not foreign
        if may and scope_name == "fund":
            may = False  # a new fund is never inside a single fund's scope
        elif may and scope_name in ("province", "district"):
            may = home
        assert status in ((201, 409) if may else (403,)), (province, status)

    # the summary: narrowed by province/district (and fund, if it can filter by fund), else refused
    status = api.get("/api/v1/reporting/summary").status_code
    if role not in READERS or foreign or (scope_name == "fund" and not SUMMARY_BY_FUND):
        assert status == 403
    else:
        assert status == 200

    # metrics: ops and admins (of this region)
    status = api.get("/metrics").status_code
    assert status == (200 if role in METRICS_READERS and not foreign else 403)


def test_no_token_an_unknown_one_or_a_bad_scheme_is_401_with_www_authenticate(deployment):
    for headers in ({}, {"Authorization": "Bearer ktn_unknown"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        response = requests.get(deployment.base + "/api/v1/funds", headers=headers, timeout=15)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for public in ("/health", "/openapi.json", "/docs"):
        assert requests.get(deployment.base + public, timeout=15).status_code == 200


def test_a_revoked_token_stops_working_within_seconds(deployment):
    token_id, token = auth.issue_token(deployment.engine, "to revoke", "integrator")
    api = Api(deployment.base, token)
    assert api.get("/api/v1/funds").status_code == 200
    assert auth.revoke_token(deployment.engine, token_id)
    deadline = time.monotonic() + 10
    while api.get("/api/v1/funds").status_code != 401:
        assert time.monotonic() < deadline, "the revoked token still works"
        time.sleep(0.25)
    assert "ktn_" not in str(auth.list_tokens(deployment.engine, include_revoked=True))  # only hashes are stored


def test_a_person_logs_in_for_a_signed_token_with_their_role_and_scope(deployment):
    auth.add_user(deployment.engine, "somchai.k", "รหัสผ่านยาวพอ-2567", "fund_officer", "fund", HOME, 12)
    login = deployment.base + "/api/v1/auth/login"
    wrong = requests.post(login, json={"username": "somchai.k", "password": "ผิด"}, timeout=15)
    assert wrong.status_code == 401
    nobody = requests.post(login, json={"username": "nobody", "password": "whatever"}, timeout=15)
    assert nobody.status_code == 401
    response = requests.post(login, json={"username": "somchai.k", "password": "รหัสผ่านยาวพอ-2567"}, timeout=15)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert response.json()["expires_in"] == 900
    api = Api(deployment.base, token)
    me = api.get("/api/v1/auth/me").json()
    assert me == {
        "subject": "user:somchai.k",
        "role": "fund_officer",
        "scope_kind": "fund",
        "scope": HOME,
        "region": 12,
    }
    assert api.get(f"/api/v1/funds/{HOME}").status_code == 200
    assert api.get("/api/v1/funds/L5001").status_code == 404
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert Api(deployment.base, tampered).get(f"/api/v1/funds/{HOME}").status_code == 401


def test_a_token_over_its_rate_gets_429_with_retry_after(deployment):
    api = Api(deployment.base, client(deployment, "integrator", "national").token)
    statuses = [api.get("/api/v1/taxonomies") for _ in range(3 * RATE)]
    limited = [response for response in statuses if response.status_code == 429]
    assert limited, "no request was limited"
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].json()["type"] == "urn:kongtun:problem:rate-limited"
    other = client(deployment, "integrator", "national")  # another token is not affected
    assert other.get("/api/v1/taxonomies").status_code == 200


def test_projects_are_seen_and_changed_only_inside_the_scope(deployment, prepare_fund):
    admin = Api(deployment.base, deployment.admin_token())
    plan = prepare_fund(admin, HOME, 2567, "physical_activity", "30000.00")
    body = {
        "fund_code": HOME,
        "title": "โครงการผู้สูงวัยหัวใจแข็งแรง",
        "fiscal_year": 2567,
        "issue": "physical_activity",
        "spending_type": 2,
        "owner": {"name": "ชมรมผู้สูงอายุตำบลบ้านไร่", "kind": "citizen_group", "members": 30},
        "requested_amount": "24000.00",
        "start_date": "2024-01-08",
        "end_date": "2024-06-08",
        "plan_id": plan["plan_id"],
        "indicator_targets": [{"indicator_id": plan["indicator_id"], "target": "60"}],
        "activities": [{"name": "เต้นแอโรบิกทุกเย็น", "start_date": "2024-01-15", "end_date": "2024-05-31"}],
        "budget_lines": [{"group": "materials", "description": "ค่าวัสดุ", "amount": "24000.00"}],
        "entered_by": "นางสาวสมศรี ใจดี",
        "entered_by_role": "fund_officer",
    }
    home = client(deployment, "proposer", "fund")  # fund L3363
    _id, other_token = auth.issue_token(deployment.engine, "proposer@L3364", "proposer", "fund", "L3364", 12)
    other = Api(deployment.base, other_token)
    _id, songkhla_token = auth.issue_token(
        deployment.engine, "committee@สงขลา", "committee_member", "province", "สงขลา", 12
    )
    songkhla = Api(deployment.base, songkhla_token)

    assert other.post("/api/v1/projects", body).status_code == 403  # not in its fund
    created = home.post("/api/v1/projects", body)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]

    assert home.get(f"/api/v1/projects/{pid}").status_code == 200
    assert other.get(f"/api/v1/projects/{pid}").status_code == 404
    assert songkhla.get(f"/api/v1/projects/{pid}").status_code == 404
    assert other.post(f"/api/v1/projects/{pid}/submit", {"by": "ใครก็ได้"}).status_code == 404
    assert songkhla.post(f"/api/v1/projects/{pid}/reject", {"reason": "ไม่ใช่เขตของเรา"}).status_code == 404
    assert [p["id"] for p in home.get("/api/v1/projects").json()["items"]] == [pid]
    assert other.get("/api/v1/projects").json()["items"] == []
    assert songkhla.get("/api/v1/projects", params={"province": "พัทลุง"}).json()["items"] == []
    assert admin.get(f"/api/v1/projects/{pid}").json()["status"] == "draft"  # nothing changed
    assert home.post(f"/api/v1/projects/{pid}/submit", {"by": "ชมรมผู้สูงอายุตำบลบ้านไร่"}).status_code == 200
