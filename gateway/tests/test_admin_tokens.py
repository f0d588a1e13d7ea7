"""``kongtun-admin tokens``: issue, list, revoke, add people; on a real SQLite gateway database."""

from __future__ import annotations

import io

from kongtun_common import admin
from kongtun_common.engine import make_engine
from kongtun_gateway import auth


def run(capsys, *argv):
    status = admin.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_tokens_are_issued_listed_without_the_secret_and_revoked(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    status, out, err = run(
        capsys, "tokens", "issue", "--name", "HIS พัทลุง", "--role", "integrator", "--scope-kind", "province",
        "--scope", "พัทลุง", "--region", "12", "--database-url", url,
    )  # fmt: skip
    assert status == 0 and "shown once" in err
    token = out.strip()
    engine = make_engine(url)
    principal = auth.principal_for_token(engine, token)
    assert (principal.role, principal.province, principal.region) == ("integrator", "พัทลุง", 12)
    status, out, _ = run(capsys, "tokens", "list", "--json", "--database-url", url)
    assert status == 0 and token not in out and "HIS พัทลุง" in out
    token_id = auth.list_tokens(engine)[0]["id"]
    assert run(capsys, "tokens", "revoke", token_id, "--database-url", url)[0] == 0
    assert auth.principal_for_token(engine, token) is None
    status, _, err = run(capsys, "tokens", "revoke", token_id, "--database-url", url)
    assert status == 1 and "no active token" in err


def test_an_incoherent_token_or_user_is_refused_with_the_reason(capsys, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    status, _, err = run(capsys, "tokens", "issue", "--name", "x", "--role", "proposer", "--scope-kind", "fund",
                         "--scope", "L3363", "--database-url", url)  # fmt: skip
    assert status == 1 and "region" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("รหัสผ่านยาวพอ-2567\n"))
    status, out, _ = run(capsys, "tokens", "user-add", "somchai.k", "--role", "mentor", "--database-url", url)
    assert status == 0
    assert auth.authenticate_user(make_engine(url), "somchai.k", "รหัสผ่านยาวพอ-2567").role == "mentor"
    assert run(capsys, "tokens", "user-disable", "somchai.k", "--database-url", url)[0] == 0
    assert auth.authenticate_user(make_engine(url), "somchai.k", "รหัสผ่านยาวพอ-2567") is None
