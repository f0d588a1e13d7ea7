"""Fund-level duties on the real broker, with SQLite and PostgreSQL: mentors assigned to funds (MentorAssigned,
once per new assignment) and the quarterly financial report (FundFinancialReportSubmitted, locked once sent)."""

import time
from datetime import datetime

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select

import kongtun_funds
from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_common.errors import Conflict, InvalidInput, NotFound
from kongtun_common.thai import BANGKOK, fiscal_year_be
from kongtun_funds import orm
from kongtun_funds.service import FundsService

BAN_RAI = {
    "code": "L3363",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
}
KHUAN_KHANUN = {
    "code": "L3364",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลควนขนุน",
    "subdistrict": "ควนขนุน",
    "district": "ควนขนุน",
    "province": "พัทลุง",
}
OFFICER = "นางสาวสมศรี ใจดี"
MENTOR_ASSIGNED = "kongtun.MentorAssigned.v1"
REPORT_SUBMITTED = "kongtun.FundFinancialReportSubmitted.v1"


@pytest.fixture
def funds(container_factory, amqp_uri, database_url):
    url = testing.migrated(database_url, kongtun_funds)
    container = container_factory(FundsService, testing.container_config(amqp_uri, url))
    container.start()
    engine = make_engine(url)
    call(container, "register_fund", BAN_RAI)
    call(container, "register_fund", KHUAN_KHANUN)
    yield container, engine
    engine.dispose()


def call(container, method, *args):
    with entrypoint_hook(container, method) as hook:
        return hook(*args)


def count(engine, table, *conditions) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*conditions)).scalar()


def outbox_of(engine, event_type: str) -> int:
    return count(engine, orm.outbox, orm.outbox.c.type == event_type)


# ------------------------------------------------------------------ mentors


def test_a_mentor_assigned_to_a_fund_is_announced_once_per_new_assignment(funds, event_spy):
    container, engine = funds
    mentor = call(
        container,
        "create_mentor",
        {"name": "นางมารีแย สาและ", "level": "provincial", "province": "พัทลุง", "fund_codes": ["L3363", "L3363"]},
    )
    assert mentor["fund_codes"] == ["L3363"]
    assert outbox_of(engine, MENTOR_ASSIGNED) == 1

    call(container, "assign_mentor", mentor["id"], "L3364")
    assert outbox_of(engine, MENTOR_ASSIGNED) == 2
    again = call(container, "assign_mentor", mentor["id"], "L3364")  # the same mentor and fund again
    call(container, "assign_mentor", mentor["id"], "L3363")
    assert again["fund_codes"] == ["L3363", "L3364"]
    assert outbox_of(engine, MENTOR_ASSIGNED) == 2 and count(engine, orm.mentor_funds) == 2

    events = event_spy.collect(2, event_type=MENTOR_ASSIGNED)
    time.sleep(0.5)  # time for a wrong third one to arrive
    events = event_spy.collect(3, timeout=0.5, event_type=MENTOR_ASSIGNED)
    assert len(events) == 2
    by_fund = {event["data"]["fund_code"]: event for event in events}
    assert by_fund["L3364"]["subject"] == "L3364"
    data = by_fund["L3364"]["data"]
    assert {key: value for key, value in data.items() if key != "assigned_at"} == {
        "mentor_id": mentor["id"],
        "mentor_name": "นางมารีแย สาและ",
        "level": "provincial",
        "fund_code": "L3364",
        "fund_name": "กองทุนหลักประกันสุขภาพเทศบาลตำบลควนขนุน",
        "subdistrict": "ควนขนุน",
        "district": "ควนขนุน",
        "province": "พัทลุง",
        "region": 12,
    }
    assert datetime.fromisoformat(data["assigned_at"]).tzinfo is not None


def test_a_mentor_with_an_unknown_fund_is_refused_and_announces_nothing(funds):
    container, engine = funds
    with pytest.raises(InvalidInput) as refused:
        call(
            container,
            "create_mentor",
            {"name": "นายสมชาย", "level": "fund", "province": "พัทลุง", "fund_codes": ["L3363", "L0000"]},
        )
    assert list(refused.value.errors) == ["fund_codes.1"]
    assert count(engine, orm.mentors) == 0 and count(engine, orm.mentor_funds) == 0
    assert outbox_of(engine, MENTOR_ASSIGNED) == 0
    mentor = call(container, "create_mentor", {"name": "นายสมชาย", "level": "fund", "province": "พัทลุง"})
    with pytest.raises(InvalidInput):
        call(container, "assign_mentor", mentor["id"], "L0000")
    with pytest.raises(NotFound):
        call(container, "assign_mentor", "00000000-0000-0000-0000-000000000000", "L3363")
    assert outbox_of(engine, MENTOR_ASSIGNED) == 0


# ------------------------------------------------------------------ the quarterly financial report


def record(container, **entry):
    return call(container, "record_entry", "L3363", entry)


def ledger_of_ban_rai(container):
    """FY 2566 leaves 7,499.50 baht; FY 2567 has income and spending on both sides of the quarters' edges."""
    record(container, kind="income", code=40100, amount="10000.00", fiscal_year=2566, entry_date="2023-01-10")
    record(container, kind="disbursement", code=50300, amount="2500.50", fiscal_year=2566, entry_date="2023-05-02")
    record(container, kind="income", code=40100, amount="235350.00", fiscal_year=2567, entry_date="2023-10-15")
    record(container, kind="disbursement", code=50300, amount="12000.01", fiscal_year=2567, entry_date="2023-12-31")
    record(container, kind="income", code=40200, amount="70605.01", fiscal_year=2567, entry_date="2024-03-31")
    record(container, kind="disbursement", code=50200, amount="1000.00", fiscal_year=2567, entry_date="2024-04-01")


def test_the_quarterly_financial_report_is_computed_from_the_ledger_stored_locked_and_announced_once(funds, event_spy):
    container, engine = funds
    ledger_of_ban_rai(container)
    report = call(
        container, "submit_financial_report", "L3363", {"fiscal_year": 2567, "quarter": 2, "submitted_by": OFFICER}
    )
    assert {key: report[key] for key in ("fiscal_year", "quarter", "period_start", "period_end")} == {
        "fiscal_year": 2567,
        "quarter": 2,
        "period_start": "2024-01-01",
        "period_end": "2024-03-31",
    }
    assert (report["carried"], report["income"], report["spending"], report["balance"]) == (
        "7499.50",
        "305955.01",
        "12000.01",
        "301454.50",
    )
    assert report["title_th"] == "รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567"
    assert report["submitted_by"] == OFFICER and report["locked"] is True

    [event] = event_spy.collect(1, event_type=REPORT_SUBMITTED)
    assert event["subject"] == "L3363"
    data = event["data"]
    assert {key: data[key] for key in ("income_satang", "spending_satang", "balance_satang")} == {
        "income_satang": 305_955_01,
        "spending_satang": 12_000_01,
        "balance_satang": 301_454_50,
    }
    assert (data["report_id"], data["submitted_by"], data["district"], data["region"]) == (
        report["id"],
        OFFICER,
        "ศรีนครินทร์",
        12,
    )
    assert (data["period_start"], data["period_end"]) == ("2024-01-01", "2024-03-31")

    q1 = call(
        container, "submit_financial_report", "L3363", {"fiscal_year": 2567, "quarter": 1, "submitted_by": OFFICER}
    )
    assert (q1["income"], q1["spending"], q1["balance"]) == ("235350.00", "12000.01", "230849.49")

    outbox = count(engine, orm.outbox)
    with pytest.raises(Conflict) as locked:
        call(container, "submit_financial_report", "L3363", {"fiscal_year": 2567, "quarter": 2, "submitted_by": "x"})
    assert "ไตรมาสที่ 2 ปีงบประมาณ 2567" in locked.value.message and locked.value.current_state == "submitted"
    assert count(engine, orm.financial_reports) == 2 and count(engine, orm.outbox) == outbox
    assert len(event_spy.collect(3, timeout=1.0, event_type=REPORT_SUBMITTED)) == 2

    listed = call(container, "list_financial_reports", "L3363", {"fiscal_year": 2567})
    assert [(item["quarter"], item["balance"]) for item in listed["items"]] == [(2, "301454.50"), (1, "230849.49")]
    assert listed["total"] == 2
    assert call(container, "list_financial_reports", "L3364")["total"] == 0
    with pytest.raises(NotFound):
        call(container, "list_financial_reports", "L0000")


def current_fiscal_year() -> int:
    return fiscal_year_be(datetime.now(BANGKOK).date())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quarter": 4, "fiscal_year": "current"}, "quarter"),  # the current year's Q4 has not ended
        ({"fiscal_year": "next"}, "quarter"),  # no quarter of next year has ended
        ({"fiscal_year": "two ahead"}, "fiscal_year"),
        ({"fiscal_year": 2548}, "fiscal_year"),  # before the funds began
        ({"fiscal_year": 2024}, "fiscal_year"),  # C.E. for B.E.
        ({"fiscal_year": "2567"}, "fiscal_year"),
        ({"quarter": 5}, "quarter"),
        ({"quarter": 0}, "quarter"),
        ({"submitted_by": ""}, "submitted_by"),
        ({"submitted_by": "   "}, "submitted_by"),
    ],
)
def test_a_quarter_not_ended_or_an_impossible_year_is_refused_naming_the_field_and_writes_nothing(funds, change, field):
    container, engine = funds
    ledger_of_ban_rai(container)
    years = {
        "current": current_fiscal_year(),
        "next": current_fiscal_year() + 1,
        "two ahead": current_fiscal_year() + 2,
    }
    body = {"fiscal_year": 2567, "quarter": 2, "submitted_by": OFFICER, **change}
    body["fiscal_year"] = years.get(body["fiscal_year"], body["fiscal_year"])
    outbox = count(engine, orm.outbox)
    with pytest.raises(InvalidInput) as refused:
        call(container, "submit_financial_report", "L3363", body)
    assert list(refused.value.errors) == [field]
    assert count(engine, orm.financial_reports) == 0 and count(engine, orm.outbox) == outbox
    with pytest.raises(NotFound):
        call(
            container, "submit_financial_report", "L0000", {"fiscal_year": 2567, "quarter": 2, "submitted_by": OFFICER}
        )
