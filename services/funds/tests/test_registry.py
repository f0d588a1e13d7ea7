"""Import, programmes and plans, people, the ledger's bad input and the rule set, through the RPC entrypoints
on SQLite and PostgreSQL."""

import json
from datetime import date, timedelta

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select

import kongtun_funds
from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_common.errors import Conflict, InvalidInput, NotFound
from kongtun_funds import orm
from kongtun_funds.cli import DATA
from kongtun_funds.cli import main as cli_main
from kongtun_funds.service import FundsService

GEOGRAPHY = (DATA / "geography_regions_11_12.csv").read_text(encoding="utf-8")
PATTANI = (DATA / "funds_pattani_seed000.csv").read_text(encoding="utf-8")
TAXONOMIES = json.loads((DATA / "taxonomies.json").read_text(encoding="utf-8"))


@pytest.fixture
def funds(container_factory, amqp_uri, database_url):
    url = testing.migrated(database_url, kongtun_funds)
    container = container_factory(FundsService, testing.container_config(amqp_uri, url))
    container.start()
    engine = make_engine(url)
    yield container, engine
    engine.dispose()


def call(container, method, *args):
    with entrypoint_hook(container, method) as hook:
        return hook(*args)


def count(engine, table, *conditions) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*conditions)).scalar()


def seeded(container):
    call(container, "import_csv", "geography", "geography_regions_11_12.csv", GEOGRAPHY)
    call(container, "import_csv", "funds", "funds_pattani_seed000.csv", PATTANI)
    call(container, "load_taxonomy", TAXONOMIES[0])


def pattani_programme(container, fund_codes=("L9101", "L9102")):
    programme = call(
        container,
        "create_programme",
        {
            "name_th": "โครงการบูรณาการกลไกสร้างเสริมสุขภาวะระดับตำบลและอำเภอ จังหวัดปัตตานี",
            "kind": "district_integration",
            "taxonomy_code": "district_9",
            "province": "ปัตตานี",
            "partners": ["สสส.", "พชอ.หนองจิก"],
        },
    )
    call(
        container,
        "sign_agreement",
        programme["id"],
        {
            "title": "บันทึกข้อตกลงความร่วมมือ",
            "signed_on": "2022-11-17",
            "place": "ห้องประชุมพญาตานี 2 โรงแรมเซาเทินวิว ปัตตานี",
            "parties": ["สสส.", "นายอำเภอเมืองปัตตานี"],
            "fund_codes": list(fund_codes),
        },
    )
    return programme


PLAN = {
    "fund_code": "L9101",
    "issue": "physical_activity",
    "fiscal_year": 2567,
    "situation": "ประชาชนมีกิจกรรมทางกายเพียงพอร้อยละ 30",
    "objectives": ["เพิ่มกิจกรรมทางกายของประชาชน"],
    "indicators": [{"name": "ร้อยละประชาชนที่มีกิจกรรมทางกายเพียงพอ", "unit": "ร้อยละ", "baseline": "30", "target": 50}],
}


def test_importing_the_pattani_funds_twice_changes_nothing_the_second_time(funds, event_spy):
    container, engine = funds
    first = call(container, "import_csv", "geography", "geography_regions_11_12.csv", GEOGRAPHY)
    assert first["created_or_updated"] == 49
    created = call(container, "import_csv", "funds", "funds_pattani_seed000.csv", PATTANI)
    assert (created["created"], created["unchanged"]) == (32, 0)
    events = event_spy.collect(32, event_type="kongtun.FundRegistered.v1")
    assert {event["data"]["district"] for event in events} == {"หนองจิก", "ยะหริ่ง", "เมืองปัตตานี"}
    outbox = count(engine, orm.outbox)

    assert call(container, "import_csv", "geography", "geo.csv", GEOGRAPHY)["unchanged"] == 49
    again = call(container, "import_csv", "funds", "funds_pattani_seed000.csv", PATTANI)
    assert (again["created"], again["unchanged"]) == (0, 32)
    assert count(engine, orm.outbox) == outbox and count(engine, orm.funds) == 32

    by_district = call(container, "list_funds", {"district": "หนองจิก", "per_page": 5, "page": 3})
    assert (by_district["total"], len(by_district["items"]), by_district["page"]) == (13, 3, 3)
    fund = call(container, "fund_details", "L9103")
    assert fund["name_th"] == "กองทุนหลักประกันสุขภาพองค์การบริหารส่วนตำบลเกาะเปาะ"
    assert fund["local_government"]["kind_th"] == "อบต." and fund["subdistrict"] == "เกาะเปาะ"
    provinces = call(container, "list_provinces", {"region": 11})
    assert provinces["total"] == 7 and "ภูเก็ต" in {item["name_th"] for item in provinces["items"]}
    districts = call(container, "list_districts", {"province": "ปัตตานี"})
    assert {item["name_th"] for item in districts["items"]} == {"หนองจิก", "ยะหริ่ง", "เมืองปัตตานี"}


def test_an_import_with_errors_names_file_line_and_field_and_imports_nothing(funds):
    container, engine = funds
    lines = PATTANI.splitlines()
    broken = "\n".join([lines[0], lines[1], lines[2].replace("L9102,", "9102,", 1), lines[3], lines[1]])
    with pytest.raises(InvalidInput) as refused:
        call(container, "import_csv", "funds", "pattani.csv", broken)
    assert set(refused.value.errors) == {"pattani.csv:3:code", "pattani.csv:5:code"}
    assert "appears again" in refused.value.errors["pattani.csv:5:code"][0]
    assert count(engine, orm.funds) == 0 and count(engine, orm.outbox) == 0 and count(engine, orm.provinces) == 0

    other_region = PATTANI.replace(",ปัตตานี,12,", ",ปัตตานี,11,")
    with pytest.raises(InvalidInput) as refused:
        call(container, "import_csv", "funds", "pattani.csv", other_region)
    assert "pattani.csv:2:region" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        call(container, "import_csv", "funds", "x.csv", "code,name\nL1,x\n")
    assert list(refused.value.errors) == ["x.csv:1:header"]
    assert count(engine, orm.funds) == 0


def test_the_cli_loads_the_shipped_data_once(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'funds.db'}"
    monkeypatch.setenv("KONGTUN_FUNDS_DATABASE_URL", url)
    assert cli_main(["seed"]) == 0
    assert cli_main(["seed"]) == 0
    output = capsys.readouterr().out.splitlines()
    assert '"created": 32' in output[1] and '"unchanged": 32' in output[4]
    engine = make_engine(url)
    assert count(engine, orm.funds) == 32 and count(engine, orm.taxonomies) == 4
    assert count(engine, orm.taxonomy_issues) == 9 + 8 + 5 + 17
    engine.dispose()
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name_th\nL1234,\n", encoding="utf-8")
    assert cli_main(["import", "funds", str(bad)]) == 1
    assert "bad.csv:1:header" in capsys.readouterr().err


def test_a_plan_follows_its_programmes_taxonomy_and_is_announced_when_approved(funds, event_spy):
    container, engine = funds
    seeded(container)
    programme = pattani_programme(container)
    assert [fund["fund_code"] for fund in programme_funds(container, programme)] == ["L9101", "L9102"]

    plan = call(container, "create_plan", {**PLAN, "programme_id": programme["id"]})
    assert plan["status"] == "draft" and plan["approval_deadline"] == "2023-12-31"
    view = call(container, "get_plan", plan["id"])
    assert set(view) == {"id", "fund_code", "fiscal_year", "issue", "programme_id", "status", "indicators"}
    assert view["indicators"][0]["target"] == "50" and view["status"] == "draft"

    approved = call(
        container,
        "approve_plan",
        plan["id"],
        {"approved_on": "2023-12-08", "approved_by": "คณะกรรมการกองทุน", "meeting_ref": "ครั้งที่ 1/2567"},
    )
    assert approved["status"] == "approved" and approved["late"] is False
    assert call(container, "get_plan", plan["id"])["status"] == "approved"
    [event] = event_spy.collect(1, event_type="kongtun.PlanApproved.v1")
    data = event["data"]
    assert (data["plan_id"], data["fund_code"], data["district"], data["region"]) == (plan["id"], "L9101", "หนองจิก", 12)
    assert data["issue_name"] == "การเพิ่มกิจกรรมทางกาย" and data["indicators"][0]["baseline"] == "30"
    joined = event_spy.collect(2, event_type="kongtun.FundJoinedProgramme.v1")
    assert {item["data"]["fund_code"] for item in joined} == {"L9101", "L9102"}
    with pytest.raises(Conflict):
        call(container, "approve_plan", plan["id"], {"approved_on": "2023-12-09", "approved_by": "คณะกรรมการกองทุน"})

    late_one = call(container, "create_plan", {**PLAN, "issue": "waste", "programme_id": programme["id"]})
    assert late_one["late"] is True  # FY 2567 plans were due by 31 December 2566 (2023)
    assert call(container, "list_plans", {"late": True})["total"] == 1
    assert call(container, "list_plans", {"district": "หนองจิก", "status": "approved"})["total"] == 1


def programme_funds(container, programme):
    return call(container, "get_programme", programme["id"])["funds"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"issue": "tobacco"}, "issue"),  # not one of the 9 issues of seed 000
        ({"fund_code": "L9999"}, "fund_code"),  # unknown fund
        ({"fund_code": "L9201"}, "fund_code"),  # a fund that has not joined the programme
        ({"fiscal_year": 2024}, "fiscal_year"),  # C.E. for B.E.
        ({"fiscal_year": 2600}, "fiscal_year"),  # far in the future
        ({"indicators": [{"name": "x", "unit": "คน", "baseline": "many", "target": 1}]}, "indicators.0.baseline"),
        ({"programme_id": "00000000-0000-0000-0000-000000000000"}, "programme_id"),
    ],
)
def test_a_bad_plan_names_the_field_and_writes_nothing(funds, change, field):
    container, engine = funds
    seeded(container)
    programme = pattani_programme(container)
    with pytest.raises(InvalidInput) as refused:
        call(container, "create_plan", {**PLAN, "programme_id": programme["id"], **change})
    assert list(refused.value.errors) == [field]
    assert count(engine, orm.plans) == 0 and count(engine, orm.plan_indicators) == 0


def test_an_unknown_plan_is_not_found(funds):
    container, _ = funds
    for plan_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        with pytest.raises(NotFound) as missing:
            call(container, "get_plan", plan_id)
        assert (missing.value.resource, missing.value.field) == ("plan", "plan_id")


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"amount": "-100.00"}, "amount"),
        ({"amount": "100.005"}, "amount"),  # a fraction of a satang
        ({"amount": "abc"}, "amount"),
        ({"code": 40600}, "code"),
        ({"fiscal_year": 3000}, "fiscal_year"),
        ({"fiscal_year": 2548}, "fiscal_year"),
        ({"kind": "disbursement", "code": 50200, "amount": "100.01"}, "amount"),  # more than the fund has
    ],
)
def test_a_bad_ledger_entry_names_the_field_and_writes_nothing(funds, entry, field):
    container, engine = funds
    seeded(container)
    call(container, "record_entry", "L9101", {"kind": "income", "code": 40100, "amount": "100.00", "fiscal_year": 2567})
    entries, outbox = count(engine, orm.ledger_entries), count(engine, orm.outbox)
    good = {"kind": "income", "code": 40100, "amount": "100.00", "fiscal_year": 2567}
    with pytest.raises(InvalidInput) as refused:
        call(container, "record_entry", "L9101", {**good, **entry})
    assert list(refused.value.errors) == [field]
    assert count(engine, orm.ledger_entries) == entries and count(engine, orm.outbox) == outbox
    with pytest.raises(NotFound):
        call(container, "record_entry", "L0000", good)


def test_the_matching_share_and_the_rule_set_are_configurable(funds):
    container, engine = funds
    seeded(container)
    year = call(container, "set_fund_year", "L9101", 2567, {"registered_population": 5230, "own_income": "4500000.00"})
    assert (year["nhso_allocation"], year["matching_percent"], year["matching_required"]) == (
        "235350.00",
        30,
        "70605.00",
    )
    call(
        container, "record_entry", "L9101", {"kind": "income", "code": 40200, "amount": "70000.00", "fiscal_year": 2567}
    )
    assert call(container, "get_fund_year", "L9101", 2567)["matching_shortfall"] == "605.00"

    rules = call(container, "get_rules")
    assert rules["defaults"] is True and rules["per_capita_rate"] == "45.00"
    assert rules["matching_brackets"][1] == {"up_to": "20000000.00", "min_percent": 40}
    changed = {key: value for key, value in rules.items() if key not in ("changed_at", "defaults")}
    changed.update(per_capita_rate="48.00", administration_cap_percent=20, changed_by="สปสช. เขต 12")
    after = call(container, "set_rules", changed)
    assert (after["defaults"], after["per_capita_rate"], after["changed_by"]) == (False, "48.00", "สปสช. เขต 12")
    assert call(container, "get_fund_year", "L9101", 2567)["nhso_allocation"] == "251040.00"
    with pytest.raises(InvalidInput) as refused:
        call(container, "set_rules", {**changed, "pace_q2_percent": 101})
    assert list(refused.value.errors) == ["pace_q2_percent"]


def test_checks_flag_a_fund_that_spends_too_slowly(funds):
    container, _ = funds
    seeded(container)
    income = {"kind": "income", "code": 40100, "amount": "100000.00", "fiscal_year": 2567, "entry_date": "2023-10-15"}
    call(container, "record_entry", "L9101", income)
    paid = {
        "kind": "disbursement",
        "code": 50300,
        "amount": "15000.00",
        "fiscal_year": 2567,
        "entry_date": "2024-03-01",
    }
    call(container, "record_entry", "L9101", paid)
    report = call(container, "evaluate", "L9101", 2567, "2024-04-01")
    flagged = {check["code"]: check["flagged"] for check in report["checks"]}
    assert flagged == {
        "administration_cap": False,
        "type3_floor": False,
        "citizen_groups_share": True,
        "idle_balance": True,
        "spending_pace_q2": True,  # 15 % by the end of March, 20 % expected
    }
    assert report["available"] == "85000.00"
    with pytest.raises(InvalidInput):
        call(container, "evaluate", "L9101", 2567, "31/03/2024")


def test_people_mentors_and_district_committees(funds):
    container, engine = funds
    seeded(container)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    call(container, "add_person", "L9101", {"role": "committee_member", "name": "นายอับดุลเลาะ", "term_end": yesterday})
    call(container, "add_person", "L9101", {"role": "committee_member", "name": "นางสาวฟาตีมะห์", "position": "กรรมการ"})
    call(container, "add_person", "L9101", {"role": "officer", "name": "นายเก่า"})
    call(container, "add_person", "L9101", {"role": "officer", "name": "นางสาวใหม่"})
    people = call(container, "list_people", "L9101")
    assert people["officer"]["name"] == "นางสาวใหม่" and people["expired_terms"] == 1
    assert {member["name"]: member["term_expired"] for member in people["committee"]} == {
        "นายอับดุลเลาะ": True,
        "นางสาวฟาตีมะห์": False,
    }
    with pytest.raises(InvalidInput) as refused:
        call(
            container,
            "add_person",
            "L9101",
            {"role": "committee_member", "name": "x", "term_start": "2024-01-01", "term_end": "2023-01-01"},
        )
    assert list(refused.value.errors) == ["term_end"]

    mentor = call(
        container,
        "create_mentor",
        {"name": "นางมารีแย", "level": "provincial", "province": "ปัตตานี", "fund_codes": ["L9101"]},
    )
    call(container, "assign_mentor", mentor["id"], "L9102")
    call(container, "assign_mentor", mentor["id"], "L9102")
    assert call(container, "list_mentors", {"fund_code": "L9102"})["items"][0]["fund_codes"] == ["L9101", "L9102"]
    with pytest.raises(InvalidInput):
        call(container, "assign_mentor", mentor["id"], "L0000")

    committee = call(
        container,
        "create_district_committee",
        {
            "name_th": "พชอ.หนองจิก",
            "province": "ปัตตานี",
            "district": "หนองจิก",
            "members": [
                {"name": "นายอำเภอหนองจิก", "role": "chair"},
                {"name": "สาธารณสุขอำเภอหนองจิก", "role": "secretary", "position": "เลขานุการ"},
            ],
        },
    )
    assert committee["secretary"]["name"] == "สาธารณสุขอำเภอหนองจิก" and committee["region"] == 12
    assert call(container, "list_district_committees", {"region": 12})["total"] == 1
    with pytest.raises(InvalidInput):
        call(
            container,
            "create_district_committee",
            {**committee_without_id(committee), "district": "ยะหริ่ง", "members": [{"name": "x"}]},
        )


def committee_without_id(committee):
    return {key: committee[key] for key in ("name_th", "province", "district")}


def test_a_network_hub_records_its_member_local_governments_and_taxonomies_load_once(funds):
    container, _ = funds
    for taxonomy in TAXONOMIES:
        call(container, "load_taxonomy", taxonomy)
        call(container, "load_taxonomy", taxonomy)  # again: nothing changes
    assert [len(item["issues"]) for item in call(container, "list_taxonomies")["items"]] == [9, 8, 17, 5]
    with pytest.raises(Conflict):
        call(container, "load_taxonomy", {**TAXONOMIES[2], "issues": TAXONOMIES[2]["issues"][:4]})
    hub = call(
        container,
        "create_programme",
        {
            "name_th": "ศูนย์จัดการเครือข่ายสุขภาวะชุมชน อบต.พิมาน",
            "kind": "network_hub",
            "taxonomy_code": "reference_17",
            "province": "นครพนม",
            "district": "นาแก",
            "hub": {"name_th": "องค์การบริหารส่วนตำบลพิมาน", "kind": "sao"},
            "members": [{"name_th": f"องค์การบริหารส่วนตำบลเครือข่าย {n}", "kind": "sao"} for n in range(1, 13)],
        },
    )
    assert hub["hub"]["name_th"] == "องค์การบริหารส่วนตำบลพิมาน" and len(hub["members"]) == 12
    with pytest.raises(InvalidInput) as refused:
        call(container, "create_programme", {"name_th": "x", "kind": "network_hub", "taxonomy_code": "reference_17"})
    assert list(refused.value.errors) == ["hub"]
    with pytest.raises(InvalidInput) as refused:
        call(container, "create_programme", {"name_th": "x", "kind": "other", "taxonomy_code": "nope"})
    assert list(refused.value.errors) == ["taxonomy_code"]
