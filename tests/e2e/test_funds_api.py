"""The funds endpoints through the gateway, with the real processes: import, plans, the ledger, the saga."""

import json
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_common.thai import BANGKOK, fiscal_year_be
from kongtun_gateway import auth

from .conftest import Api

DATA = Path(__file__).resolve().parents[2] / "services" / "funds" / "kongtun_funds" / "data"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def pattani(api):
    for kind, name in (("geography", "geography_regions_11_12.csv"), ("funds", "funds_pattani_seed000.csv")):
        response = api.post(
            "/api/v1/imports", {"kind": kind, "filename": name, "content": (DATA / name).read_text(encoding="utf-8")}
        )
        assert response.status_code == 200, response.text
    taxonomy = json.loads((DATA / "taxonomies.json").read_text(encoding="utf-8"))[0]
    assert api.post("/api/v1/taxonomies", taxonomy).status_code == 201
    return api


def fields_of(response) -> set[str]:
    assert response.headers["Content-Type"].startswith(PROBLEM), response.text
    return {error["field"] for error in response.json().get("errors", [])}


def test_import_is_idempotent_and_funds_list_by_place_with_totals(pattani):
    api = pattani
    content = (DATA / "funds_pattani_seed000.csv").read_text(encoding="utf-8")
    again = api.post("/api/v1/imports", {"kind": "funds", "filename": "pattani.csv", "content": content})
    assert again.json() | {"file": "pattani.csv"} == {
        "kind": "funds",
        "file": "pattani.csv",
        "rows": 32,
        "created": 0,
        "unchanged": 32,
    }

    page = api.get("/api/v1/funds", params={"province": "ปัตตานี", "district": "ยะหริ่ง", "per_page": 4, "page": 3})
    assert page.status_code == 200
    body = page.json()
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (9, 3, 4, 1)
    assert api.get("/api/v1/funds", params={"region": 12}).json()["total"] == 32
    assert api.get("/api/v1/provinces", params={"region": 11}).json()["total"] == 7
    fund = api.get("/api/v1/funds/L9301/details").json()
    assert fund["name_th"] == "กองทุนหลักประกันสุขภาพองค์การบริหารส่วนตำบลบาราโฮม"
    assert fund["local_government"]["kind"] == "sao"

    bad = content.replace("L9305,", "L93O5,", 1)
    refused = api.post("/api/v1/imports", {"kind": "funds", "filename": "pattani.csv", "content": bad})
    assert refused.status_code == 422 and fields_of(refused) == {
        "pattani.csv:28:code"
    }  # 13 + 9 + 5 funds, after the header
    assert api.get("/api/v1/funds", params={"per_page": 1}).json()["total"] == 32
    assert fields_of(api.get("/api/v1/funds", params={"region": 14})) == {"region"}


def test_a_plan_from_programme_to_approval(pattani):
    api = pattani
    programme = api.post(
        "/api/v1/programmes",
        {
            "name_th": "โครงการบูรณาการกลไกสร้างเสริมสุขภาวะระดับตำบลและอำเภอ จังหวัดปัตตานี",
            "kind": "district_integration",
            "taxonomy_code": "district_9",
            "province": "ปัตตานี",
        },
    ).json()
    signed = api.post(
        f"/api/v1/programmes/{programme['id']}/agreements",
        {
            "title": "บันทึกข้อตกลงความร่วมมือ",
            "signed_on": "2022-11-17",
            "place": "โรงแรมเซาท์เทิร์นวิว ปัตตานี",
            "parties": ["สสส.", "นายอำเภอเมืองปัตตานี"],
            "fund_codes": [f"L91{n:02d}" for n in range(1, 14)],
        },
    )
    assert signed.status_code == 201 and len(signed.json()["newly_joined"]) == 13
    plan = {
        "fund_code": "L9105",
        "programme_id": programme["id"],
        "issue": "food_system",
        "fiscal_year": 2567,
        "situation": "เด็กมีภาวะทุพโภชนาการร้อยละ 18",
        "objectives": ["ลดภาวะทุพโภชนาการในเด็ก"],
        "indicators": [{"name": "ร้อยละเด็กที่มีภาวะทุพโภชนาการ", "unit": "ร้อยละ", "baseline": 18, "target": 12.5}],
    }
    outside = api.post("/api/v1/plans", {**plan, "issue": "tobacco"})
    assert outside.status_code == 422 and fields_of(outside) == {"issue"}
    assert fields_of(api.post("/api/v1/plans", {**plan, "fiscal_year": 2024})) == {"fiscal_year"}
    created = api.post("/api/v1/plans", plan)
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    approved = api.post(
        f"/api/v1/plans/{plan_id}/approve",
        {"approved_on": "2023-12-08", "approved_by": "คณะกรรมการกองทุน", "meeting_ref": "ครั้งที่ 1/2567"},
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    got = api.get(f"/api/v1/plans/{plan_id}").json()
    assert got["indicators"][0]["target"] == "12.5" and got["late"] is False
    listed = api.get("/api/v1/plans", params={"district": "หนองจิก", "fiscal_year": 2567}).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == plan_id
    missing = api.get(f"/api/v1/plans/{uuid.uuid4()}")
    assert missing.status_code == 404 and fields_of(missing) == {"plan_id"}


def test_the_ledger_balance_and_a_commitment_from_the_broker(stack, pattani):
    api = pattani
    income = {"kind": "income", "code": 40100, "amount": "235350.00", "fiscal_year": 2567}
    recorded = api.post("/api/v1/funds/L9201/ledger", income)
    assert recorded.status_code == 201 and recorded.json()["balances"]["available"] == "235350.00"
    for bad, field in (
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"fiscal_year": 2024}, "fiscal_year"),
        ({"code": 40700}, "code"),
    ):
        response = api.post("/api/v1/funds/L9201/ledger", {**income, **bad})
        assert response.status_code == 422 and fields_of(response) == {field}, (bad, response.text)
    assert api.post("/api/v1/funds/L0000/ledger", income).status_code == 404
    interest = api.post("/api/v1/funds/L9201/ledger", {**income, "code": 40300, "amount": 10.5})  # a JSON number
    assert interest.status_code == 201 and interest.json()["amount"] == "10.50"  # whole satang: accepted

    project_id = str(uuid.uuid4())
    facts = testing.sample_project_facts(
        project_id,
        fund_code="L9201",
        fund_name="กองทุนหลักประกันสุขภาพองค์การบริหารส่วนตำบลตาลีอายร์",
        subdistrict="ตาลีอายร์",
        district="ยะหริ่ง",
        province="ปัตตานี",
    )
    approval = {
        **facts,
        "project_code": "L9201-2567-0001",
        "approved_amount_satang": 2_400_000,
        "approved_at": "2024-01-08T09:00:00+00:00",
        "approved_by": "คณะกรรมการกองทุน",
        "meeting_ref": "ครั้งที่ 2/2567",
        "reports_due": [{"report": "final", "due_date": "2024-07-08"}],
    }
    testing.publish_event(
        stack.amqp_uri, testing.make_event("ProjectApproved", approval, subject=project_id, service="projects")
    )
    commitments = testing.wait_for(
        lambda: api.get("/api/v1/funds/L9201/commitments").json()["items"], timeout=20, interval=0.2
    )
    assert (commitments[0]["project_id"], commitments[0]["amount"], commitments[0]["status"]) == (
        project_id,
        "24000.00",
        "open",
    )
    balance = api.get("/api/v1/funds/L9201/balance", params={"fiscal_year": 2567}).json()
    assert (balance["income"], balance["committed"], balance["available"]) == ("235360.50", "24000.00", "211360.50")
    checks = api.get("/api/v1/funds/L9201/checks", params={"fiscal_year": 2567, "as_of": "2024-04-01"}).json()
    assert "spending_pace_q2" in checks["flags"] and "idle_balance" in checks["flags"]
    assert fields_of(api.get("/api/v1/funds/L9201/balance")) == {"fiscal_year"}


def test_people_and_the_rule_set(pattani):
    api = pattani
    member = api.post(
        "/api/v1/funds/L9301/people",
        {"role": "committee_member", "name": "นายมะ", "position": "ประธานกรรมการ", "term_end": "2020-12-31"},
    )
    assert member.status_code == 201 and member.json()["term_expired"] is True
    assert api.get("/api/v1/funds/L9301/people").json()["expired_terms"] == 1
    assert api.post("/api/v1/funds/L0000/people", {"role": "officer", "name": "x"}).status_code == 404
    rules = api.get("/api/v1/rule-set").json()
    assert (rules["per_capita_rate"], rules["administration_cap_percent"], rules["pace_q4_percent"]) == (
        "45.00",
        15,
        80,
    )
    bad = {key: rules[key] for key in rules if key not in ("changed_at", "changed_by", "defaults")} | {
        "idle_balance_max_percent": -1
    }
    assert fields_of(api.http.put(api.base + "/api/v1/rule-set", json=bad, timeout=15)) == {"idle_balance_max_percent"}


def test_a_quarterly_financial_report_is_sent_once_locked_and_only_by_the_funds_own_people(stack, pattani):
    api = pattani
    spy = testing.EventSpy(stack.amqp_uri, "kongtun.FundFinancialReportSubmitted.v1")
    try:
        for entry in (
            {"kind": "income", "code": 40100, "amount": "100000.00", "entry_date": "2023-10-15"},
            {"kind": "disbursement", "code": 50300, "amount": "12000.01", "entry_date": "2024-02-01"},
            {"kind": "disbursement", "code": 50300, "amount": "500.00", "entry_date": "2024-04-01"},  # Q3
        ):
            assert api.post("/api/v1/funds/L9202/ledger", {**entry, "fiscal_year": 2567}).status_code == 201
        body = {"fiscal_year": 2567, "quarter": 2, "submitted_by": "นางสาวสมศรี ใจดี"}
        sent = api.post("/api/v1/funds/L9202/financial-reports", body)
        assert sent.status_code == 201, sent.text
        report = sent.json()
        assert (report["period_start"], report["period_end"], report["title_th"]) == (
            "2024-01-01",
            "2024-03-31",
            "รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567",
        )
        assert (report["carried"], report["income"], report["spending"], report["balance"]) == (
            "0.00",
            "100000.00",
            "12000.01",
            "87999.99",
        )
        [event] = spy.collect(1)
        assert (event["data"]["balance_satang"], event["data"]["submitted_by"]) == (8_799_999, "นางสาวสมศรี ใจดี")

        again = api.post("/api/v1/funds/L9202/financial-reports", {**body, "submitted_by": "คนอื่น"})
        assert again.status_code == 409 and again.headers["Content-Type"].startswith(PROBLEM)
        assert "ไตรมาสที่ 2 ปีงบประมาณ 2567" in again.json()["detail"]
        current = fiscal_year_be(datetime.now(BANGKOK).date())
        for change, field in (
            ({"fiscal_year": current, "quarter": 4}, "quarter"),  # this year's Q4 has not ended
            ({"fiscal_year": 2024}, "fiscal_year"),  # C.E. for B.E.
            ({"fiscal_year": 2548}, "fiscal_year"),  # before the funds began
            ({"fiscal_year": current + 2}, "fiscal_year"),
            ({"quarter": 5}, "quarter"),
            ({"submitted_by": ""}, "submitted_by"),
        ):
            refused = api.post("/api/v1/funds/L9202/financial-reports", {**body, **change})
            assert refused.status_code == 422 and fields_of(refused) == {field}, (change, refused.text)
        assert api.post("/api/v1/funds/L0000/financial-reports", body).status_code == 404

        # A fund officer of another fund cannot send it (not found, as for anything out of scope); the
        # fund's own officer can; a committee member may read but not send.
        engine = make_engine(f"sqlite:///{Path(stack.var) / 'gateway.db'}")
        try:
            tokens = {
                name: auth.issue_token(engine, name, role, "fund", code, 12)[1]
                for name, role, code in (
                    ("other officer", "fund_officer", "L9101"),
                    ("own officer", "fund_officer", "L9202"),
                    ("own committee", "committee_member", "L9202"),
                )
            }
        finally:
            engine.dispose()
        q1 = {**body, "quarter": 1}
        other = Api(api.base, tokens["other officer"])
        assert other.post("/api/v1/funds/L9202/financial-reports", q1).status_code == 404
        assert other.get("/api/v1/funds/L9202/financial-reports").status_code == 404
        committee = Api(api.base, tokens["own committee"])
        assert committee.post("/api/v1/funds/L9202/financial-reports", q1).status_code == 403
        assert committee.get("/api/v1/funds/L9202/financial-reports").json()["total"] == 1
        own = Api(api.base, tokens["own officer"]).post("/api/v1/funds/L9202/financial-reports", q1)
        assert own.status_code == 201 and (own.json()["income"], own.json()["spending"]) == ("100000.00", "0.00")

        listed = api.get("/api/v1/funds/L9202/financial-reports", params={"fiscal_year": 2567}).json()
        assert [(item["quarter"], item["balance"]) for item in listed["items"]] == [(2, "87999.99"), (1, "100000.00")]
        assert len(spy.collect(3, timeout=2.0)) == 2
    finally:
        spy.close()


def test_a_mentor_assigned_to_a_fund_is_announced_once(stack, pattani):
    api = pattani
    spy = testing.EventSpy(stack.amqp_uri, "kongtun.MentorAssigned.v1")
    try:
        mentor = api.post(
            "/api/v1/mentors",
            {"name": "นางมารีแย สาและ", "level": "fund", "province": "ปัตตานี", "fund_codes": ["L9301"]},
        )
        assert mentor.status_code == 201, mentor.text
        mentor_id = mentor.json()["id"]
        for _ in range(2):
            assigned = api.post(f"/api/v1/mentors/{mentor_id}/funds", {"fund_code": "L9302"})
            assert assigned.status_code == 200 and assigned.json()["fund_codes"] == ["L9301", "L9302"]
        again = api.post(f"/api/v1/mentors/{mentor_id}/funds", {"fund_code": "L9301"})
        assert again.status_code == 200
        events = spy.collect(3, timeout=3.0)
        assert sorted(event["data"]["fund_code"] for event in events) == ["L9301", "L9302"]
        assert {event["data"]["district"] for event in events} == {"เมืองปัตตานี"}
        assert all(event["data"]["mentor_id"] == mentor_id for event in events)
    finally:
        spy.close()
