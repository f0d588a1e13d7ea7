"""A fund's year in a dozen API calls, against a running Kongtun (``make run`` in another terminal).

Registers a fund, gives it the district programme's 9 issues (seed 000) and an approved plan for physical
activity, records its NHSO income, then takes a project from proposal to approval and shows what the rest of
the system made of it: the fund's committed budget, the reporting summary, the reports it now owes.
Standard library only; every step prints what it sent and what came back (Thai text as is)::

    python examples/walkthrough.py                       # http://127.0.0.1:8000, token from var/admin.token
    python examples/walkthrough.py --base http://host:8000 --token ktn_...

Running it twice is fine: the fund is reused and a new project is made each time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAXONOMIES = ROOT / "services" / "funds" / "kongtun_funds" / "data" / "taxonomies.json"
FUND = {
    "code": "L3363",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
}


class Api:
    def __init__(self, base: str, token: str):
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body=None, accept=(200, 201), headers=None) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                status, answer = response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            status, answer = error.code, json.loads(error.read() or b"{}")
        if status not in accept:
            raise SystemExit(f"{method} {path} → {status}: {json.dumps(answer, ensure_ascii=False)}")
        return status, answer


def step(title: str, status: int, answer: dict, *keys: str) -> None:
    shown = {key: answer.get(key) for key in keys} if keys else answer
    print(f"• {title} → {status} {json.dumps(shown, ensure_ascii=False)}")


def current_fiscal_year(today: date) -> int:
    """The Buddhist Era fiscal year (1 October - 30 September) ``today`` falls in."""
    return today.year + 543 + (1 if today.month >= 10 else 0)


def prepare_fund(api: Api, fiscal_year: int) -> dict:
    """The fund, the 9-issue programme, an agreement, an approved plan for physical activity and income
    (what an earlier run made is reused)."""
    status, fund = api.call("POST", "/api/v1/funds", FUND, accept=(201, 409, 422))
    step("register the fund (409/422 when it already exists)", status, fund, "code", "name_th", "title")
    status, plans = api.call("GET", f"/api/v1/plans?fund_code={FUND['code']}&fiscal_year={fiscal_year}&status=approved")
    for plan in plans["items"]:
        if plan["issue"] == "physical_activity":
            step("its approved plan for physical activity, from an earlier run", status, plan, "id", "status")
            return {"plan_id": plan["id"], "indicator_id": plan["indicators"][0]["id"]}
    taxonomy = next(item for item in json.loads(TAXONOMIES.read_text(encoding="utf-8")) if item["code"] == "district_9")
    step("the district programme's 9 issues", *api.call("POST", "/api/v1/taxonomies", taxonomy), "code")
    status, programme = api.call(
        "POST",
        "/api/v1/programmes",
        {"name_th": "แผนงานบูรณาการกลไกพัฒนาคุณภาพชีวิตระดับอำเภอ", "kind": "district_integration",
         "taxonomy_code": "district_9"},
    )  # fmt: skip
    step("a programme", status, programme, "id", "name_th")
    status, signed = api.call(
        "POST",
        f"/api/v1/programmes/{programme['id']}/agreements",
        {"title": "บันทึกข้อตกลงความร่วมมือ", "signed_on": date.today().isoformat(),
         "place": "ที่ว่าการอำเภอศรีนครินทร์", "parties": ["สสส.", "นายอำเภอศรีนครินทร์"], "fund_codes": [FUND["code"]]},
    )  # fmt: skip
    step("the fund joins it by an agreement (MOU)", status, signed, "id", "title")
    status, plan = api.call(
        "POST",
        "/api/v1/plans",
        {"fund_code": FUND["code"], "programme_id": programme["id"], "issue": "physical_activity",
         "fiscal_year": fiscal_year, "situation": "ผู้สูงอายุออกกำลังกายสม่ำเสมอเพียงร้อยละ 35",
         "objectives": ["เพิ่มการออกกำลังกายของผู้สูงอายุ"],
         "indicators": [{"name": "ร้อยละผู้สูงอายุที่ออกกำลังกายสม่ำเสมอ", "unit": "ร้อยละ", "baseline": 35, "target": 60}]},
    )  # fmt: skip
    step(f"a plan for physical activity, FY {fiscal_year}", status, plan, "id", "status")
    status, approved = api.call(
        "POST",
        f"/api/v1/plans/{plan['id']}/approve",
        {"approved_on": date.today().isoformat(), "approved_by": "คณะกรรมการกองทุน", "meeting_ref": "ครั้งที่ 1"},
    )
    step("the committee approves it (PlanApproved)", status, approved, "status", "late")
    status, income = api.call(
        "POST",
        f"/api/v1/funds/{FUND['code']}/ledger",
        {"kind": "income", "code": 40100, "amount": "450000.00", "fiscal_year": fiscal_year},
    )
    step("NHSO income for the year (LedgerEntryRecorded)", status, income, "code", "amount")
    return {"plan_id": plan["id"], "indicator_id": approved["indicators"][0]["id"]}


def walk(api: Api) -> dict:
    today = date.today()
    fiscal_year = current_fiscal_year(today)
    plan = prepare_fund(api, fiscal_year)
    start, end = today, today + timedelta(days=120)
    proposal = {
        "fund_code": FUND["code"],
        "title": "โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ",
        "fiscal_year": fiscal_year,
        "issue": "physical_activity",
        "spending_type": 2,
        "owner": {"name": "ชมรมผู้สูงอายุบ้านไร่", "kind": "citizen_group", "members": 25},
        "requested_amount": "25000.00",
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "plan_id": plan["plan_id"],
        "indicator_targets": [{"indicator_id": plan["indicator_id"], "target": "60"}],
        "activities": [{"name": "เต้นแอโรบิกทุกเย็น", "start_date": start.isoformat(), "end_date": end.isoformat()}],
        "budget_lines": [{"group": "materials", "description": "ค่าวัสดุอุปกรณ์", "amount": "25000.00"}],
    }
    # the key makes a retry of this request (after a timeout or a 503) safe: see docs/integrators.md
    status, project = api.call("POST", "/api/v1/projects", proposal, headers={"Idempotency-Key": str(uuid.uuid4())})
    step("a proposal (draft)", status, project, "id", "status", "requested_amount")
    pid = project["id"]
    step("submitted (ProjectSubmitted)", *api.call("POST", f"/api/v1/projects/{pid}/submit", {}), "status", "checks")
    status, decided = api.call(
        "POST",
        f"/api/v1/projects/{pid}/approve",
        {"approved_amount": "25000.00", "approved_by": "คณะกรรมการกองทุน", "meeting_ref": "ครั้งที่ 2"},
    )
    step("approved (ProjectApproved)", status, decided, "status", "code", "budget_status")
    deadline = time.monotonic() + 15
    while decided.get("budget_status") != "committed" and time.monotonic() < deadline:
        time.sleep(0.3)  # the funds service commits the budget when the event reaches it
        decided = api.call("GET", f"/api/v1/projects/{pid}")[1]
    step("the fund committed the budget (BudgetCommitted)", 200, decided, "budget_status")
    step("the fund's money", *api.call("GET", f"/api/v1/funds/{FUND['code']}/balance?fiscal_year={fiscal_year}"))
    status, summary = api.call("GET", f"/api/v1/reporting/summary?fund_code={FUND['code']}&fiscal_year={fiscal_year}")
    step("reporting counts it", status, summary, "projects", "approved_amount")
    deadline = time.monotonic() + 15
    while True:  # reporting registers what the project owes when ProjectApproved reaches it
        status, owed = api.call("GET", f"/api/v1/reporting/obligations?project_id={pid}")
        owed = owed["items"] if isinstance(owed, dict) else owed
        if owed or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    print(f"• reports it owes (ReportDue comes 14 and 3 days ahead) → {status}")
    for item in owed:
        print(f"    {item.get('label_th') or item['report']}: {item.get('due_date_th') or item['due_date']}")
    return {"project_id": pid, "budget_status": decided.get("budget_status"), "owed": len(owed)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--token", help="default: the development admin token make run wrote to var/admin.token")
    args = parser.parse_args(argv)
    token = args.token or (ROOT / "var" / "admin.token").read_text().strip()
    walk(Api(args.base, token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
