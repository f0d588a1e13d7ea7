"""Preparing a fund for projects through the public API: shared by the end-to-end tests and bench/."""

import json
from pathlib import Path

FUNDS_DATA = Path(__file__).resolve().parents[2] / "services" / "funds" / "kongtun_funds" / "data"


def prepare_fund_for_projects(post, fund_code: str, fiscal_year: int, issue: str, income_baht: str) -> dict:
    """What a fund needs before its projects can be submitted and approved, done through the gateway's API
    with ``post(path, body) -> (status, json)``:
    the 9-issue programme (seed 000), an agreement the fund joins, an approved plan for ``issue`` with one
    indicator, and income for the year.  Returns {"plan_id", "indicator_id", "programme_id"}."""
    taxonomy = next(
        item
        for item in json.loads((FUNDS_DATA / "taxonomies.json").read_text(encoding="utf-8"))
        if item["code"] == "district_9"
    )
    assert post("/api/v1/taxonomies", taxonomy)[0] in (200, 201)
    status, programme = post(
        "/api/v1/programmes",
        {
            "name_th": "แผนงานบูรณาการกลไกพัฒนาคุณภาพชีวิตระดับอำเภอ",
            "kind": "district_integration",
            "taxonomy_code": "district_9",
        },
    )
    assert status == 201, programme
    programme_id = programme["id"]
    status, signed = post(
        f"/api/v1/programmes/{programme_id}/agreements",
        {
            "title": "บันทึกข้อตกลงความร่วมมือ",
            "signed_on": "2023-10-14",
            "place": "ที่ว่าการอำเภอศรีนครินทร์",
            "parties": ["สสส.", "นายอำเภอศรีนครินทร์"],
            "fund_codes": [fund_code],
        },
    )
    assert status == 201, signed
    status, plan = post(
        "/api/v1/plans",
        {
            "fund_code": fund_code,
            "programme_id": programme_id,
            "issue": issue,
            "fiscal_year": fiscal_year,
            "situation": "ผู้สูงอายุออกกำลังกายสม่ำเสมอเพียงร้อยละ 35",
            "objectives": ["เพิ่มการออกกำลังกายของผู้สูงอายุ"],
            "indicators": [{"name": "ร้อยละผู้สูงอายุที่ออกกำลังกายสม่ำเสมอ", "unit": "ร้อยละ", "baseline": 35, "target": 60}],
        },
    )
    assert status == 201, plan
    plan_id = plan["id"]
    status, approved = post(
        f"/api/v1/plans/{plan_id}/approve",
        {"approved_on": "2023-12-08", "approved_by": "คณะกรรมการกองทุน", "meeting_ref": "ครั้งที่ 1/2567"},
    )
    assert status == 200, approved
    status, income = post(
        f"/api/v1/funds/{fund_code}/ledger",
        {"kind": "income", "code": 40100, "amount": income_baht, "fiscal_year": fiscal_year},
    )
    assert status == 201, income
    return {"plan_id": plan_id, "indicator_id": approved["indicators"][0]["id"], "programme_id": programme_id}
