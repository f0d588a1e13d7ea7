"""Issue 5 over HTTP with the real processes: seed 004's district numbers, rebuilt only from events.

Fourteen funds of Phatthalung join the 9-issue programme; thirteen approve a plan for every issue and one lacks
waste (plan coverage 92.85 %); 108 projects are proposed, submitted and approved through the gateway for
2,091,567 baht, of which physical activity 42 / 982,223 and food 39 / 629,250.  Reporting learns all of it from
events and answers the roll-ups; the exports stream it for people (Thai, B.E.) and machines (ISO)."""

import concurrent.futures
import csv
import io
import json
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from kongtun_common import testing

TODAY = date.today()
START, END = TODAY - timedelta(days=30), TODAY + timedelta(days=150)
FISCAL_YEAR = 2567
DISTRICTS = {"กงหรา": ("ชะรัด", "คลองเฉลิม"), "ศรีนครินทร์": ("บ้านนา", "ชุมพล"), "ควนขนุน": ("ปันแต", "มะกอกเหนือ")}
TAXONOMY = next(
    item
    for item in json.loads(
        (Path(__file__).resolve().parents[2] / "services/funds/kongtun_funds/data/taxonomies.json").read_text("utf-8")
    )
    if item["code"] == "district_9"
)
ISSUES = [issue["code"] for issue in TAXONOMY["issues"]]
FUNDS = [f"L{3350 + index}" for index in range(14)]
NO_WASTE = FUNDS[-1]
TOTAL, PA, FOOD = 209156700, 98222300, 62925000  # satang
OTHER_ISSUES = [issue for issue in ISSUES if issue not in ("physical_activity", "food_system")]


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


class Patient:
    """The API client, waiting out the gateway's per-token rate limit (429 + Retry-After) as a client should."""

    def __init__(self, api):
        self.api = api

    def _retry(self, send):
        for _attempt in range(60):
            response = send()
            if response.status_code != 429:
                return response
            time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
        return response

    def get(self, path, **kwargs):
        return self._retry(lambda: self.api.get(path, **kwargs))

    def post(self, path, body=None, **kwargs):
        return self._retry(lambda: self.api.post(path, body, **kwargs))


def split(total_satang: int, parts: int) -> list[int]:
    """Whole-baht amounts adding up to ``total_satang``."""
    base = total_satang // parts // 100 * 100
    return [base] * (parts - 1) + [total_satang - base * (parts - 1)]


def project_plan() -> list[tuple[str, str, int]]:
    """(fund, issue, amount in satang) of the 108 approved projects."""
    wanted = [("physical_activity", amount) for amount in split(PA, 42)]
    wanted += [("food_system", amount) for amount in split(FOOD, 39)]
    others = split(TOTAL - PA - FOOD, 27)
    wanted += [(OTHER_ISSUES[index % len(OTHER_ISSUES)], amount) for index, amount in enumerate(others)]
    placed, cursor = [], 0
    for issue, amount in wanted:
        while issue == "waste" and FUNDS[cursor % len(FUNDS)] == NO_WASTE:
            cursor += 1
        placed.append((FUNDS[cursor % len(FUNDS)], issue, amount))
        cursor += 1
    return placed


def baht(satang: int) -> str:
    return f"{satang // 100}.{satang % 100:02d}"


@pytest.fixture(scope="module")
def district(api):
    """The district of seed 004, set up and its 108 projects approved, all through the public API."""
    api = Patient(api)
    pool = concurrent.futures.ThreadPoolExecutor(8)

    def run_all(calls):
        return list(pool.map(lambda call: call(), calls))

    areas = [(name, sub) for name, subs in DISTRICTS.items() for sub in subs]
    for index, code in enumerate(FUNDS):
        district_name, subdistrict = areas[index % len(areas)]
        ok(
            api.post(
                "/api/v1/funds",
                {
                    "code": code,
                    "name_th": f"กองทุนหลักประกันสุขภาพตำบล{subdistrict} {index + 1}",
                    "subdistrict": subdistrict,
                    "district": district_name,
                    "province": "พัทลุง",
                },
            ),
            201,
        )
    assert api.post("/api/v1/taxonomies", TAXONOMY).status_code in (200, 201)
    programme = ok(
        api.post(
            "/api/v1/programmes",
            {
                "name_th": "แผนงานบูรณาการกลไกพัฒนาคุณภาพชีวิตระดับอำเภอ",
                "kind": "district_integration",
                "taxonomy_code": "district_9",
            },
        ),
        201,
    )
    ok(
        api.post(
            f"/api/v1/programmes/{programme['id']}/agreements",
            {
                "title": "บันทึกข้อตกลงความร่วมมือ พชอ.",
                "signed_on": "2023-10-14",
                "place": "ศาลากลางจังหวัดพัทลุง",
                "parties": ["สสส.", "สปสช. เขต 12"],
                "fund_codes": FUNDS,
            },
        ),
        201,
    )

    def plan(code, issue):
        def call():
            created = ok(
                api.post(
                    "/api/v1/plans",
                    {
                        "fund_code": code,
                        "programme_id": programme["id"],
                        "issue": issue,
                        "fiscal_year": FISCAL_YEAR,
                        "situation": "สถานการณ์ของตำบล",
                        "objectives": ["ลดปัญหาสุขภาพ"],
                        "indicators": [{"name": "ร้อยละของเป้าหมาย", "unit": "ร้อยละ", "baseline": 35, "target": 60}],
                    },
                ),
                201,
            )
            approved = ok(
                api.post(
                    f"/api/v1/plans/{created['id']}/approve",
                    {"approved_on": "2023-12-08", "approved_by": "คณะกรรมการกองทุน", "meeting_ref": "ครั้งที่ 1/2567"},
                )
            )
            return (code, issue), (created["id"], approved["indicators"][0]["id"])

        return call

    plans = dict(
        run_all([plan(code, issue) for code in FUNDS for issue in ISSUES if (code, issue) != (NO_WASTE, "waste")])
    )
    run_all(
        [
            (
                lambda code=code: ok(
                    api.post(
                        f"/api/v1/funds/{code}/ledger",
                        {"kind": "income", "code": 40100, "amount": "400000.00", "fiscal_year": FISCAL_YEAR},
                    ),
                    201,
                )
            )
            for code in FUNDS
        ]
    )

    def project(code, issue, amount):
        def call():
            plan_id, indicator_id = plans[(code, issue)]
            money = baht(amount)
            draft = ok(
                api.post(
                    "/api/v1/projects",
                    {
                        "fund_code": code,
                        "title": f"โครงการ{issue}ของตำบล",
                        "fiscal_year": FISCAL_YEAR,
                        "issue": issue,
                        "spending_type": 2,
                        "owner": {"name": "ชมรมผู้สูงอายุ", "kind": "citizen_group", "members": 25},
                        "requested_amount": money,
                        "start_date": START.isoformat(),
                        "end_date": END.isoformat(),
                        "plan_id": plan_id,
                        "indicator_targets": [{"indicator_id": indicator_id, "target": "60"}],
                        "activities": [
                            {"name": "กิจกรรมหลัก", "start_date": START.isoformat(), "end_date": END.isoformat()}
                        ],
                        "budget_lines": [{"group": "materials", "description": "ค่าวัสดุ", "amount": money}],
                        "entered_by": "นางสาวสมศรี ใจดี",
                        "entered_by_role": "fund_officer",
                    },
                ),
                201,
            )
            ok(api.post(f"/api/v1/projects/{draft['id']}/submit", {"by": "ชมรมผู้สูงอายุ"}))
            ok(
                api.post(
                    f"/api/v1/projects/{draft['id']}/approve",
                    {"approved_amount": money, "approved_by": "คณะกรรมการกองทุน", "meeting_ref": "ครั้งที่ 3/2567"},
                )
            )
            return draft["id"]

        return call

    ids = run_all([project(*item) for item in project_plan()])
    pool.shutdown()
    testing.wait_for(
        lambda: ok(api.get("/api/v1/reporting/summary", params={"status": "approved"}))["projects"] == 108,
        timeout=60,
    )
    return {"programme_id": programme["id"], "project_ids": ids}


def test_seed_004_numbers_come_back_from_the_summary(api, district):
    api = Patient(api)
    approved = ok(api.get("/api/v1/reporting/summary", params={"status": "approved", "group_by": "issue"}))
    assert (approved["funds"], approved["projects"], approved["approved_amount"]) == (14, 108, "2091567.00")
    by_issue = {group["key"]: group for group in approved["groups"]}
    assert (by_issue["physical_activity"]["projects"], by_issue["physical_activity"]["approved_amount"]) == (
        42,
        "982223.00",
    )
    assert (by_issue["food_system"]["projects"], by_issue["food_system"]["approved_amount"]) == (39, "629250.00")
    assert sum(group["projects"] for group in approved["groups"]) == 108

    by_district = ok(api.get("/api/v1/reporting/summary", params={"province": "พัทลุง", "group_by": "district"}))
    assert sorted(group["key"] for group in by_district["groups"]) == sorted(DISTRICTS)
    assert sum(group["projects"] for group in by_district["groups"]) == 108
    one_fund = ok(api.get("/api/v1/reporting/summary", params={"fund_code": NO_WASTE, "issue": "waste"}))
    assert (one_fund["funds"], one_fund["projects"]) == (1, 0)


def test_approval_lead_time_counts_every_approved_project(api, district):
    api = Patient(api)
    lead = ok(api.get("/api/v1/reporting/approval-lead-time", params={"province": "พัทลุง"}))
    assert lead["projects"] == 108
    assert 0 <= lead["average_days"] <= lead["longest_days"] < 1  # approved within the minute they were submitted


def test_plan_coverage_is_thirteen_of_fourteen_funds(api, district):
    api = Patient(api)
    coverage = ok(api.get("/api/v1/reporting/plan-coverage", params={"fiscal_year": FISCAL_YEAR}))
    assert (coverage["funds"], coverage["funds_covered"], coverage["coverage_percent"]) == (14, 13, "92.85")
    [programme] = coverage["programmes"]
    assert programme["funds_not_covered"] == [NO_WASTE]
    assert sorted(programme["issues"]) == sorted(ISSUES)
    explicit = ok(
        api.get(
            "/api/v1/reporting/plan-coverage",
            params={"fiscal_year": FISCAL_YEAR, "programme_id": district["programme_id"], "issues": "waste"},
        )
    )
    assert explicit["funds_covered"] == 13


def test_reporting_queries_are_validated_naming_the_field(api, district):
    api = Patient(api)
    for path, params, field in (
        ("/api/v1/reporting/summary", {"group_by": "colour"}, "group_by"),
        ("/api/v1/reporting/summary", {"spending_type": "9"}, "spending_type"),
        ("/api/v1/reporting/plan-coverage", {}, "fiscal_year"),
        ("/api/v1/reporting/obligations", {"state": "soon"}, "state"),
        ("/api/v1/reporting/exports/projects.csv", {"format": "pdf"}, "format"),
    ):
        response = api.get(path, params=params)
        assert response.status_code == 422, (path, response.text)
        assert field in [error["field"] for error in response.json()["errors"]], response.text


def test_obligations_of_approved_projects_are_listed_by_state(api, district):
    api = Patient(api)
    owed = ok(api.get("/api/v1/reporting/obligations", params={"state": "due", "fund_code": FUNDS[0]}))["items"]
    assert owed and {item["fund_code"] for item in owed} == {FUNDS[0]}
    assert ok(api.get("/api/v1/reporting/obligations", params={"state": "overdue"}))["items"] == []


def test_exports_stream_every_project_for_people_and_machines(api, district):
    api = Patient(api)
    machine = api.get("/api/v1/reporting/exports/projects.csv", params={"status": "approved"})
    assert machine.status_code == 200 and machine.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(machine.content.decode("utf-8"))))
    assert len(rows) == 108
    assert sum(int(row["approved_amount"].replace(".", "")) for row in rows) == TOTAL
    assert all(date.fromisoformat(row["start_date"]) == START for row in rows)

    people = api.get("/api/v1/reporting/exports/projects.csv", params={"status": "approved", "format": "people"})
    text = people.content.decode("utf-8")
    assert text.startswith("\ufeffรหัสอ้างอิงโครงการ")
    first = next(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert first["จังหวัด"] == "พัทลุง"
    assert first["วันเริ่ม"].endswith(str(START.year + 543))
    assert "," in first["งบที่อนุมัติ (บาท)"] or float(first["งบที่อนุมัติ (บาท)"].replace(",", "")) < 1000

    grants = ok(api.get("/api/v1/reporting/exports/360giving.json", params={"fiscal_year": FISCAL_YEAR}))["grants"]
    assert len(grants) == 108
    assert round(sum(grant["amountAwarded"] for grant in grants), 2) == 2091567.00
    assert grants[0]["currency"] == "THB" and grants[0]["id"].startswith("kongtun-L33")


def test_the_xlsx_export_keeps_thai_text_and_every_row(api, district):
    openpyxl = pytest.importorskip("openpyxl")  # the gateway's XLSX dependency
    api = Patient(api)
    response = api.get("/api/v1/reporting/exports/projects.xlsx", params={"status": "approved"})
    assert response.status_code == 200, response.text
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("รหัสอ้างอิงโครงการ", "เลขที่โครงการ", "ชื่อโครงการ")
    assert len(rows) == 109 and {row[7] for row in rows[1:]} == {"พัทลุง"}
    assert all(str(row[17]).endswith(str(START.year + 543)) for row in rows[1:])


# ------------------------------------------------------------------ fund duties, spending pace, idle balances,
# mentors and Thai labels (issue 5), through the funds API where it publishes the events


def current_fiscal_year() -> int:
    from datetime import datetime

    from kongtun_common.thai import BANGKOK, fiscal_year_be

    return fiscal_year_be(datetime.now(BANGKOK).date())


def committed_of(code: str) -> int:
    return sum(amount for fund, _issue, amount in project_plan() if fund == code)


def test_fund_duties_are_owed_announced_and_cleared(api, district):
    api = Patient(api)
    home = FUNDS[0]
    ok(
        api.post(
            f"/api/v1/funds/{home}/financial-reports",
            {"fiscal_year": FISCAL_YEAR, "quarter": 1, "submitted_by": "นางสาวสมศรี ใจดี"},
        ),
        201,
    )

    def duties(**params):
        return ok(api.get("/api/v1/reporting/obligations", params={"kind": "fund", **params}))["items"]

    # the plans approved on 2023-12-08 cleared FY 2567's annual plan; the quarters' reports were owed, and the
    # timer announced them overdue once each (FundReportOverdue), except the one just sent
    testing.wait_for(
        lambda: (
            all(
                item["overdue_notices_sent"]
                for item in duties(fund_code=home, fiscal_year=FISCAL_YEAR, state="overdue")
            )
            and len(duties(fund_code=home, fiscal_year=FISCAL_YEAR, state="overdue")) == 3
        ),
        timeout=30,
    )
    mine = {(item["duty"], item["quarter"]): item for item in duties(fund_code=home, fiscal_year=FISCAL_YEAR)}
    assert len(mine) == 5
    plan = mine[("annual_plan", None)]
    assert (plan["fulfilled_on"], plan["due_date"], plan["kind"]) == ("2023-12-08", "2023-12-31", "fund")
    assert plan["label_th"] == "แผนงานประจำปีผ่านความเห็นชอบของคณะกรรมการกองทุน ปีงบประมาณ 2567"
    assert plan["due_date_th"] == "31 ธันวาคม 2566"
    q1 = mine[("quarterly_financial_report", 1)]
    assert (
        q1["due_date"] == "2024-01-30"
        and q1["fulfilled_on"] is not None
        and q1["overdue_notices_sent"] in ([], [1, 7, 30])
    )
    assert [item["quarter"] for item in duties(fund_code=home, fiscal_year=FISCAL_YEAR, state="late")] == [1]
    overdue = testing.wait_for(
        lambda: (
            all(item["overdue_notices_sent"] for item in duties(fiscal_year=FISCAL_YEAR, state="overdue"))
            and duties(fiscal_year=FISCAL_YEAR, state="overdue")
        ),
        timeout=30,
    )
    assert len(overdue) == 4 * len(FUNDS) - 1 and {item["overdue_notices_sent"][-1] for item in overdue} == {30}
    testing.wait_for(
        lambda: len(duties(fiscal_year=FISCAL_YEAR, duty="annual_plan", state="fulfilled")) == len(FUNDS), timeout=30
    )

    # every known fund owes the current fiscal year's duties from the timer's first tick
    testing.wait_for(lambda: len(duties(fiscal_year=current_fiscal_year())) == 5 * len(FUNDS), timeout=30)
    both = ok(api.get("/api/v1/reporting/obligations", params={"kind": "all", "fund_code": home}))["items"]
    assert {item["kind"] for item in both} == {"project", "fund"}
    assert [item["due_date"] for item in both] == sorted(item["due_date"] for item in both)
    projects = ok(api.get("/api/v1/reporting/obligations", params={"fund_code": home}))["items"]
    assert projects and {item["kind"] for item in projects} == {"project"}
    assert projects[0]["label_th"].startswith("รายงาน")


def test_spending_pace_and_idle_balances_come_from_the_ledger(api, district):
    api = Patient(api)
    home = FUNDS[0]
    income, committed = 40000000, committed_of(home)
    ok(
        api.post(
            f"/api/v1/funds/{home}/ledger",
            {
                "kind": "disbursement",
                "code": 50200,
                "amount": "80000.00",
                "fiscal_year": FISCAL_YEAR,
                "entry_date": "2024-02-01",
                "description": "จ่ายค่าวัสดุ",
            },
        ),
        201,
    )

    def pace(**params):
        return ok(api.get("/api/v1/reporting/spending-pace", params={"fiscal_year": FISCAL_YEAR, **params}))

    testing.wait_for(lambda: pace(fund_code=home)["items"][0]["spent"] == "80000.00", timeout=30)
    [after_q2] = pace(fund_code=home, as_of="2024-04-01")["items"]
    assert (after_q2["money"], after_q2["spent_percent"], after_q2["behind"]) == ("400000.00", "20.00", False)
    [after_q3] = pace(fund_code=home, as_of="2024-07-01")["items"]
    assert (after_q3["evaluated_quarter"], after_q3["threshold_percent"], after_q3["behind"]) == (3, 50, True)
    rolled = pace(as_of="2024-04-01", group_by="province")
    assert rolled["total"] == len(FUNDS) and rolled["as_of"] == "2024-04-01"
    assert rolled["groups"] == [{"key": "พัทลุง", "fiscal_year": FISCAL_YEAR, "funds": 14, "behind": 13}]
    assert [item["fund_code"] for item in pace(as_of="2024-04-01", behind="false")["items"]] == [home]
    page = pace(as_of="2024-04-01", per_page=5, page=3)
    assert (page["total"], len(page["items"]), page["page"]) == (14, 4, 3)

    testing.wait_for(
        lambda: (
            ok(api.get("/api/v1/reporting/idle-balances", params={"fund_code": home}))["items"][0]["committed"]
            == baht(committed)
        ),
        timeout=30,
    )
    [idle] = ok(api.get("/api/v1/reporting/idle-balances", params={"fund_code": home}))["items"]
    available = income - committed - 8000000
    assert idle["available"] == baht(available)
    assert idle["flagged"] is (available * 100 > 10 * income)
    by_district = ok(api.get("/api/v1/reporting/idle-balances", params={"group_by": "district", "flagged": "true"}))
    assert sum(group["funds"] for group in by_district["groups"]) == by_district["total"]


def test_mentors_per_fund_through_the_funds_api(api, district):
    api = Patient(api)
    busy = ok(
        api.post(
            "/api/v1/mentors",
            {"name": "นายสมชาย ใจดี", "level": "provincial", "province": "พัทลุง", "fund_codes": FUNDS[:3]},
        ),
        201,
    )
    ok(
        api.post(
            "/api/v1/mentors",
            {"name": "นางสาวสมศรี รักษ์ถิ่น", "level": "fund", "province": "พัทลุง", "fund_codes": [FUNDS[0]]},
        ),
        201,
    )

    def mentors(**params):
        return ok(api.get("/api/v1/reporting/mentors", params=params))

    testing.wait_for(lambda: mentors()["mentors"] == 2, timeout=30)
    report = mentors(group_by="district")
    assert (report["funds"], report["funds_without_mentor"]) == (14, FUNDS[3:])
    [over] = report["mentors_over_limit"]
    assert (over["mentor_id"], over["fund_count"], over["funds"]) == (busy["id"], 3, FUNDS[:3])
    first = mentors(fund_code=FUNDS[0])["items"][0]
    assert first["mentor_count"] == 2
    assert {mentor["level_th"] for mentor in first["mentors"]} == {"พี่เลี้ยงระดับจังหวัด", "พี่เลี้ยงระดับกองทุน"}
    assert sum(group["funds_without_mentor"] for group in report["groups"]) == 11
    assert mentors(without_mentor="true", per_page=500)["total"] == 11


def test_new_reporting_queries_name_the_field_at_fault(api, district):
    api = Patient(api)
    for path, params, field in (
        ("/api/v1/reporting/spending-pace", {"as_of": "31/12/2566"}, "as_of"),
        ("/api/v1/reporting/spending-pace", {"group_by": "colour"}, "group_by"),
        ("/api/v1/reporting/idle-balances", {"per_page": "0"}, "per_page"),
        ("/api/v1/reporting/idle-balances", {"fund_code": "3363"}, "fund_code"),
        ("/api/v1/reporting/mentors", {"without_mentor": "perhaps"}, "without_mentor"),
        ("/api/v1/reporting/obligations", {"kind": "village"}, "kind"),
        ("/api/v1/reporting/obligations", {"duty": "weekly"}, "duty"),
    ):
        response = api.get(path, params=params)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [error["field"] for error in response.json()["errors"]], response.text


def test_scoped_tokens_see_only_their_rows(stack, district):
    from kongtun_common.engine import make_engine
    from kongtun_gateway import auth

    from .conftest import Api

    engine = make_engine(f"sqlite:///{Path(stack.var) / 'gateway.db'}")
    try:

        def client(kind, scope, region):
            _token_id, token = auth.issue_token(engine, f"reader@{kind}-{scope}", "mentor", kind, scope, region)
            return Patient(Api(stack.api.base, token))

        home = client("province", "พัทลุง", 12)
        away = client("province", "สงขลา", 12)
        fund = client("fund", FUNDS[1], 12)
        foreign = client("region", "11", 11)
        for path in ("/api/v1/reporting/spending-pace", "/api/v1/reporting/idle-balances", "/api/v1/reporting/mentors"):
            assert ok(home.get(path))["total"] == 14, path
            assert ok(away.get(path))["total"] == 0, path
            assert [item["fund_code"] for item in ok(fund.get(path))["items"]] == [FUNDS[1]], path
            assert ok(away.get(path, params={"province": "พัทลุง"}))["total"] == 0, path  # the scope wins
            assert foreign.get(path).status_code == 403, path
        assert ok(away.get("/api/v1/reporting/obligations", params={"kind": "fund"}))["items"] == []
        assert {
            item["fund_code"] for item in ok(fund.get("/api/v1/reporting/obligations", params={"kind": "all"}))["items"]
        } == {FUNDS[1]}
    finally:
        engine.dispose()


def test_the_people_export_reads_thai_labels_and_the_machine_export_keeps_codes(api, district):
    api = Patient(api)
    machine = api.get("/api/v1/reporting/exports/projects.csv", params={"fund_code": FUNDS[0]})
    row = next(csv.DictReader(io.StringIO(machine.content.decode("utf-8"))))
    assert (row["status"], row["owner_kind"], row["spending_type"]) == ("approved", "citizen_group", "2")
    assert row["issue"] in ISSUES
    people = api.get("/api/v1/reporting/exports/projects.csv", params={"fund_code": FUNDS[0], "format": "people"})
    row = next(csv.DictReader(io.StringIO(people.content.decode("utf-8").lstrip("\ufeff"))))
    assert (row["สถานะ"], row["ประเภทผู้รับทุน"]) == ("อนุมัติแล้ว", "กลุ่มหรือองค์กรประชาชน")
    assert row["ประเภทการใช้จ่าย"].startswith("ประเภทที่ 2")
    names = {issue["name_th"] for issue in TAXONOMY["issues"]}
    assert row["ประเด็น"] in names
    openpyxl = pytest.importorskip("openpyxl")
    sheet = openpyxl.load_workbook(
        io.BytesIO(api.get("/api/v1/reporting/exports/projects.xlsx", params={"fund_code": FUNDS[0]}).content),
        read_only=True,
    ).worksheets[0]
    first = list(sheet.iter_rows(min_row=2, max_row=2, values_only=True))[0]
    assert first[14] == "อนุมัติแล้ว" and first[10] in names
