"""Issue 4 over HTTP with the real processes: a proposal's whole life, with the funds service
committing (and refusing) the budget through the saga."""

import concurrent.futures
from datetime import date, timedelta

import pytest

from kongtun_common import testing

TODAY = date.today()
START, END = TODAY - timedelta(days=90), TODAY + timedelta(days=90)
FUND = {
    "code": "L3364",
    "name_th": "กองทุนหลักประกันสุขภาพองค์การบริหารส่วนตำบลชะรัด",
    "subdistrict": "ชะรัด",
    "district": "กงหรา",
    "province": "พัทลุง",
}
FINAL_CONTENT = {
    "activities_done": ["เต้นแอโรบิก 40 ครั้ง"],
    "participants": 120,
    "outputs": "ผู้สูงอายุออกกำลังกายสม่ำเสมอเพิ่มขึ้น",
    "value_assessment": {
        dimension: {"score": 4, "note": ""}
        for dimension in (
            "knowledge_innovation",
            "behaviour_change",
            "supportive_environment",
            "public_policy",
            "community_process",
            "spiritual_health",
        )
    },
}


@pytest.fixture(scope="module")
def fund(api, prepare_fund):
    assert api.post("/api/v1/funds", FUND).status_code == 201
    return prepare_fund(api, "L3364", 2567, "physical_activity", "30000.00")


def proposal(fund, amount="24000.00", **changes):
    return {
        "fund_code": "L3364",
        "title": "โครงการผู้สูงวัยหัวใจแข็งแรง",
        "fiscal_year": 2567,
        "issue": "physical_activity",
        "spending_type": 2,
        "owner": {"name": "ชมรมผู้สูงอายุตำบลชะรัด", "kind": "citizen_group", "members": 30},
        "requested_amount": amount,
        "start_date": START.isoformat(),
        "end_date": END.isoformat(),
        "plan_id": fund["plan_id"],
        "indicator_targets": [{"indicator_id": fund["indicator_id"], "target": "60"}],
        "activities": [{"name": "เต้นแอโรบิกทุกเย็น", "start_date": START.isoformat(), "end_date": END.isoformat()}],
        "budget_lines": [{"group": "materials", "description": "ค่าวัสดุ", "amount": amount}],
        "entered_by": "นางสาวสมศรี ใจดี",
        "entered_by_role": "fund_officer",
        **changes,
    }


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def project(api, project_id):
    return ok(api.get(f"/api/v1/projects/{project_id}"))


def test_a_project_from_proposal_to_completion(api, fund):
    draft = ok(api.post("/api/v1/projects", proposal(fund)), 201)
    pid = draft["id"]
    ok(api.post(f"/api/v1/projects/{pid}/comments", {"author": "นายสมชาย พี่เลี้ยงดี", "text": "เพิ่มตัวชี้วัด"}), 201)
    submitted = ok(api.post(f"/api/v1/projects/{pid}/submit", {"by": "ชมรมผู้สูงอายุตำบลชะรัด"}))
    assert (submitted["status"], submitted["revision"], submitted["checks"]) == ("submitted", 1, [])
    ok(api.post(f"/api/v1/projects/{pid}/request-revision", {"reason": "ขอให้ระบุกลุ่มเป้าหมาย"}))

    current = api.get(f"/api/v1/projects/{pid}")
    etag = current.headers["ETag"]
    edited = api.http.patch(
        api.base + f"/api/v1/projects/{pid}",
        json={"title": "โครงการผู้สูงวัยหัวใจแข็งแรง ปี 2567"},
        headers={"If-Match": etag},
        timeout=15,
    )
    assert edited.status_code == 200, edited.text
    stale = api.http.patch(
        api.base + f"/api/v1/projects/{pid}", json={"title": "x"}, headers={"If-Match": etag}, timeout=15
    )
    assert stale.status_code == 409  # someone edited since this ETag was read

    ok(api.post(f"/api/v1/projects/{pid}/submit"))
    approved = ok(
        api.post(
            f"/api/v1/projects/{pid}/approve",
            {"approved_amount": "24000", "approved_by": "คณะกรรมการกองทุน", "periods": 2},
        )
    )
    assert approved["code"].startswith("L3364-2567-") and approved["budget_status"] == "pending"
    not_yet = api.post(f"/api/v1/projects/{pid}/start")
    assert not_yet.status_code == 409 or project(api, pid)["budget_status"] == "committed"

    testing.wait_for(lambda: project(api, pid)["budget_status"] == "committed", timeout=15)
    balance = ok(api.get("/api/v1/funds/L3364/balance", params={"fiscal_year": 2567}))
    assert balance["committed"] == "24000.00"

    ok(api.post(f"/api/v1/projects/{pid}/start"))
    ok(api.http.put(api.base + f"/api/v1/projects/{pid}/mentor", json={"mentor": "นายสมชาย พี่เลี้ยงดี"}, timeout=15))
    ok(api.post(f"/api/v1/projects/{pid}/suspend", {"reason": "รอตรวจสอบเอกสารการเงิน"}))
    ok(api.post(f"/api/v1/projects/{pid}/resume"))
    refused = api.post(f"/api/v1/projects/{pid}/complete")
    assert refused.status_code == 409 and "final" in refused.json()["detail"]

    ok(
        api.post(
            f"/api/v1/projects/{pid}/reports", {"report": "progress", "period": 1, "content": {"participants": 80}}
        ),
        201,
    )
    ok(api.post(f"/api/v1/projects/{pid}/reports", {"report": "final", "period": 2, "content": FINAL_CONTENT}), 201)
    locked = api.post(f"/api/v1/projects/{pid}/reports", {"report": "final", "period": 2, "content": FINAL_CONTENT})
    assert locked.status_code == 409
    ok(
        api.post(
            f"/api/v1/projects/{pid}/reports",
            {
                "report": "financial_closing",
                "period": 2,
                "content": {"spending": [{"group": "materials", "amount": "23850.00"}], "refund": "150.00"},
            },
        ),
        201,
    )
    done = ok(api.post(f"/api/v1/projects/{pid}/complete"))
    assert done["status"] == "completed"
    assert [step["to_status"] for step in done["history"]] == [
        "draft",
        "submitted",
        "revision_requested",
        "submitted",
        "approved",
        "running",
        "suspended",
        "running",
        "completed",
    ]
    assert done["comments"][0]["revision"] == 1 and done["mentor"] == "นายสมชาย พี่เลี้ยงดี"
    assert [(item["kind"], item["period"]) for item in done["reports"]] == [
        ("progress", 1),
        ("final", 2),
        ("financial_closing", 2),
    ]


def test_a_budget_refusal_returns_the_project_to_submitted_with_the_reason(api, fund):
    pid = ok(api.post("/api/v1/projects", proposal(fund, amount="29000.00")), 201)["id"]  # more than is left
    ok(api.post(f"/api/v1/projects/{pid}/submit"))
    approved = ok(
        api.post(f"/api/v1/projects/{pid}/approve", {"approved_amount": "29000", "approved_by": "คณะกรรมการกองทุน"})
    )

    def returned():
        current = project(api, pid)
        return current if current["status"] == "submitted" else None

    current = testing.wait_for(returned, timeout=15)
    assert current["budget_status"] == "refused"
    assert current["budget_note"].startswith("กองทุนไม่สามารถกันเงินงบประมาณได้")
    assert current["history"][-1]["reason"] == current["budget_note"]
    assert current["code"] == approved["code"]  # kept for the record; a re-approval reuses it
    assert api.post(f"/api/v1/projects/{pid}/start").status_code == 409

    def counted_as_submitted():
        page = ok(api.get("/api/v1/reporting/summary", params={"province": "พัทลุง"}))
        return page["projects_by_status"].get("submitted", 0) >= 1

    testing.wait_for(counted_as_submitted, timeout=15)


def test_reject_and_cancel_close_a_proposal(api, fund):
    rejected = ok(api.post("/api/v1/projects", proposal(fund, amount="1000.00")), 201)["id"]
    ok(api.post(f"/api/v1/projects/{rejected}/submit"))
    no_reason = api.post(f"/api/v1/projects/{rejected}/reject", {"reason": ""})
    assert no_reason.status_code == 422
    assert ok(api.post(f"/api/v1/projects/{rejected}/reject", {"reason": "ซ้ำซ้อนกับโครงการเดิม"}))["status"] == (
        "rejected"
    )
    again = api.post(f"/api/v1/projects/{rejected}/submit")
    assert again.status_code == 409 and again.json()["current_state"] == "rejected"

    cancelled = ok(api.post("/api/v1/projects", proposal(fund, amount="1000.00")), 201)["id"]
    assert ok(api.post(f"/api/v1/projects/{cancelled}/cancel", {"reason": "ผู้เสนอขอถอน"}))["status"] == "cancelled"


def test_two_concurrent_approvals_over_http_approve_once(api, fund):
    pid = ok(api.post("/api/v1/projects", proposal(fund, amount="500.00")), 201)["id"]
    ok(api.post(f"/api/v1/projects/{pid}/submit"))
    body = {"approved_amount": "500", "approved_by": "คณะกรรมการกองทุน"}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: api.post(f"/api/v1/projects/{pid}/approve", body), range(2)))
    assert sorted(answer.status_code for answer in answers) == [200, 409]


def test_a_create_retried_with_its_idempotency_key_makes_one_project(api, fund):
    body = proposal(fund, amount="300.00", title="โครงการส่งซ้ำด้วยคีย์เดิม")
    key = {"Idempotency-Key": "b6c1e3f0-5d0a-4f0e-8a55-3e2f7f1c9d01"}
    with concurrent.futures.ThreadPoolExecutor(3) as pool:  # the same request three times at once
        answers = list(pool.map(lambda _: api.post("/api/v1/projects", body, headers=key), range(3)))
    assert [answer.status_code for answer in answers] == [201, 201, 201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert sorted(answer.headers.get("Idempotency-Replayed", "") for answer in answers) == ["", "true", "true"]
    found = ok(api.get("/api/v1/projects", params={"q": "ส่งซ้ำด้วยคีย์เดิม"}))
    assert found["total"] == 1

    reused = api.post("/api/v1/projects", {**body, "requested_amount": "301.00"}, headers=key)
    assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "Idempotency-Key"
    bad = api.post("/api/v1/projects", body, headers={"Idempotency-Key": "k" * 201})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "Idempotency-Key"
    assert ok(api.get("/api/v1/projects", params={"q": "ส่งซ้ำด้วยคีย์เดิม"}))["total"] == 1


def test_projects_are_listed_and_searched_in_thai(api, fund):
    ok(api.post("/api/v1/projects", proposal(fund, amount="100.00", title="โครงการโรงเรียนปลอดขยะ")), 201)
    page = ok(api.get("/api/v1/projects", params={"q": "ปลอดขยะ", "district": "กงหรา"}))
    assert [item["title"] for item in page["items"]] == ["โครงการโรงเรียนปลอดขยะ"]
    assert page["total"] == 1 and page["items"][0]["requested_amount"] == "100.00"
    everything = ok(api.get("/api/v1/projects", params={"fund_code": "L3364", "per_page": 2}))
    assert everything["total"] >= 5 and len(everything["items"]) == 2
    bad = api.get("/api/v1/projects", params={"status": "lost"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"
