"""Tokens, logins, the permission table and the rate limit, on a real (SQLite) gateway database."""

from __future__ import annotations

import pytest

from kongtun_common.engine import make_engine
from kongtun_common.migrations import upgrade
from kongtun_gateway import auth
from kongtun_gateway.guard import in_scope, scope_filters
from kongtun_gateway.http import ROUTES
from kongtun_gateway.migrations_path import MIGRATIONS
from kongtun_gateway.service import GatewayService  # noqa: F401  (declares the routes)


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url, MIGRATIONS)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_a_token_is_stored_only_as_its_hash_and_stops_working_when_revoked(engine):
    token_id, token = auth.issue_token(engine, "สสจ.พัทลุง", "fund_officer", "fund", "L3363", 12)
    assert token.startswith("ktn_") and len(token) > 40
    with engine.connect() as connection:
        stored = connection.execute(auth.api_tokens.select()).mappings().one()
    assert stored["token_hash"] == auth.hash_token(token) and token not in str(dict(stored))
    principal = auth.principal_for_token(engine, token)
    assert (principal.role, principal.fund_code, principal.region) == ("fund_officer", "L3363", 12)
    assert auth.revoke_token(engine, token_id)
    assert auth.principal_for_token(engine, token) is None
    assert not auth.revoke_token(engine, token_id)  # already revoked


@pytest.mark.parametrize(
    ("role", "kind", "scope", "region"),
    [
        ("emperor", "national", "", None),
        ("admin", "galaxy", "", None),
        ("admin", "national", "", 12),
        ("proposer", "fund", "L3363", None),
        ("proposer", "region", "11", 12),
        ("proposer", "district", "ศรีนครินทร์", 12),
        ("proposer", "province", "", 12),
    ],
)
def test_a_token_with_an_unknown_role_or_an_incoherent_scope_is_refused(engine, role, kind, scope, region):
    with pytest.raises(ValueError):
        auth.issue_token(engine, "x", role, kind, scope, region)


def test_a_login_token_is_signed_expires_and_cannot_be_altered():
    principal = auth.Principal("user:somchai", "mentor", "district", "พัทลุง/ศรีนครินทร์", 12)
    token = auth.sign_login(principal, b"secret", ttl_seconds=60, now=1000)
    assert auth.verify_login(token, b"secret", now=1059) == principal
    assert auth.verify_login(token, b"secret", now=1061) is None
    assert auth.verify_login(token, b"other secret", now=1000) is None
    forged = auth.sign_login(auth.Principal("user:somchai", "admin"), b"guess", 60, now=1000)
    body = forged.split(".")[1]
    assert auth.verify_login(f"ktl.{body}.{token.split('.')[2]}", b"secret", now=1000) is None


def test_passwords_are_scrypt_hashed_and_checked(engine):
    auth.add_user(engine, "somchai.k", "รหัสผ่านยาวพอ-2567", "proposer", "fund", "L3363", 12)
    assert auth.authenticate_user(engine, "somchai.k", "รหัสผ่านยาวพอ-2567").role == "proposer"
    assert auth.authenticate_user(engine, "somchai.k", "wrong password") is None
    assert auth.authenticate_user(engine, "nobody", "รหัสผ่านยาวพอ-2567") is None
    with engine.connect() as connection:
        stored = connection.execute(auth.users.select()).mappings().one()["password_hash"]
    assert stored.startswith("scrypt$") and "รหัส" not in stored
    assert auth.disable_user(engine, "somchai.k")
    assert auth.authenticate_user(engine, "somchai.k", "รหัสผ่านยาวพอ-2567") is None
    with pytest.raises(ValueError):
        auth.add_user(engine, "short", "short", "proposer")


def test_the_development_admin_token_is_kept_while_valid_and_reissued_when_not(engine, tmp_path):
    path = tmp_path / "admin.token"
    token, created = auth.ensure_admin_token(engine, path)
    assert created and path.read_text().strip() == token and oct(path.stat().st_mode)[-3:] == "600"
    assert auth.ensure_admin_token(engine, path) == (token, False)
    auth.revoke_token(engine, auth.list_tokens(engine)[0]["id"])
    again, created = auth.ensure_admin_token(engine, path)
    assert created and again != token


def test_the_token_bucket_allows_a_burst_then_the_rate_and_says_how_long_to_wait():
    now = [0.0]
    buckets = auth.TokenBuckets(rate=2, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0  # per key
    now[0] = 0.5
    assert buckets.take("a") == 0
    assert auth.TokenBuckets(rate=0, burst=0).take("a") == 0  # 0: off


def test_every_route_has_a_known_permission_public_ones_are_few():
    public = {doc.path for doc in ROUTES if auth.permission_for(doc.method, doc.path) is None}
    assert public == {"/health", "/ready", "/openapi.json", "/docs", "/api/v1/auth/login"}
    for doc in ROUTES:
        permission = auth.permission_for(doc.method, doc.path)
        if permission is not None:
            assert permission[0] in auth.RESOURCES + ("auth",), (doc.method, doc.path, permission)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/v1/funds/<code>/ledger", ("funds", "read")),
        ("POST", "/api/v1/funds/<code>/ledger", ("funds", "write")),
        ("POST", "/api/v1/projects/<project_id>/approve", ("decisions", "write")),
        ("POST", "/api/v1/projects/<project_id>/submit", ("projects", "write")),
        ("POST", "/api/v1/projects/<project_id>/comments", ("reviews", "write")),
        ("PUT", "/api/v1/projects/<project_id>/mentor", ("mentoring", "write")),
        ("POST", "/api/v1/notifications/webhooks", ("subscriptions", "write")),
        ("GET", "/metrics", ("metrics", "read")),
    ],
)
def test_routes_map_to_permissions(method, path, expected):
    assert auth.permission_for(method, path) == expected


@pytest.mark.parametrize(
    ("role", "can", "cannot"),
    [
        ("ops", [("metrics", "read")], [("funds", "read"), ("projects", "read")]),
        (
            "integrator",
            [("projects", "read"), ("subscriptions", "write")],
            [("projects", "write"), ("metrics", "read")],
        ),
        ("proposer", [("projects", "write"), ("reports", "write")], [("decisions", "write"), ("funds", "write")]),
        ("committee_member", [("decisions", "write"), ("reviews", "write")], [("projects", "write")]),
        ("mentor", [("reviews", "write")], [("decisions", "write"), ("mentoring", "write")]),
        ("district_coordinator", [("mentors", "write"), ("mentoring", "write")], [("decisions", "write")]),
        ("fund_officer", [("funds", "write"), ("projects", "write")], [("decisions", "write"), ("rules", "write")]),
        ("regional_admin", [("rules", "write"), ("imports", "write")], []),
    ],
)
def test_each_role_holds_its_permissions_and_not_others(role, can, cannot):
    assert all(auth.allowed(role, permission) for permission in can)
    assert not any(auth.allowed(role, permission) for permission in cannot)


def test_scopes_narrow_lists_and_single_resources():
    fund = {"code": "L3363", "region": 12, "province": "พัทลุง", "district": "ศรีนครินทร์"}
    other_province = {**fund, "code": "L5001", "province": "สงขลา", "district": "หาดใหญ่"}
    other_region = {**fund, "region": 11}
    district = auth.Principal("t", "mentor", "district", "พัทลุง/ศรีนครินทร์", 12)
    assert scope_filters(district) == {"province": "พัทลุง", "district": "ศรีนครินทร์"}
    assert in_scope(district, fund) and not in_scope(district, other_province) and not in_scope(district, other_region)
    assert in_scope(auth.Principal("t", "mentor", "fund", "L3363", 12), {"fund_code": "L3363", "region": 12})
    assert not in_scope(auth.Principal("t", "mentor", "region", "11", 11), fund)
    assert in_scope(auth.Principal("t", "admin"), other_region)
