"""The funds domain without infrastructure: ledger arithmetic, matching share, rules and flags, plans."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from kongtun_common.errors import Conflict, InvalidInput
from kongtun_funds import domain
from kongtun_funds.domain import Balances, LedgerEntry, MatchingBracket, RuleSet

RULES = RuleSet()
BAHT = 100  # satang


def entry(kind, code, amount, year=2567, commitment_id=None):
    return LedgerEntry("e", "L3363", year, kind, code, amount, date(2024, 1, 8), commitment_id=commitment_id)


def totals_of(*entries, citizen=False):
    """Fold entries into running totals the way the ledger does."""
    totals = {}
    for item in entries:
        for bucket, code, delta in item.deltas(citizen):
            key = (item.fiscal_year, bucket, code)
            totals[key] = totals.get(key, 0) + delta
    return [(year, bucket, code, amount) for (year, bucket, code), amount in totals.items()]


# ------------------------------------------------------------------ ledger arithmetic


def test_available_is_carried_plus_income_less_committed_and_spent():
    entries = [
        entry("income", 40100, 235_350_00, year=2566),
        entry("disbursement", 50200, 200_000_00, year=2566),  # 2566 leaves 35,350 baht
        entry("income", 40100, 235_350_00),
        entry("income", 40200, 70_605_00),
        entry("refund", 40500, 1_234_56),
        entry("commitment", 50200, 24_000_00, commitment_id="c1"),
        entry("disbursement", 50200, 10_000_00, commitment_id="c1"),  # paid against the commitment
        entry("disbursement", 50400, 5_000_00),  # paid directly
    ]
    balances = domain.balances_from_totals(2567, totals_of(*entries))
    assert balances.carried == 35_350_00
    assert balances.income == 235_350_00 + 70_605_00 + 1_234_56
    assert balances.committed == 14_000_00
    assert balances.spent == 15_000_00
    assert balances.available == 35_350_00 + 307_189_56 - 14_000_00 - 15_000_00
    assert balances.income_by_code == {40100: 235_350_00, 40200: 70_605_00, 40500: 1_234_56}
    assert balances.used_by_type(2) == 24_000_00 and balances.used_by_type(4) == 5_000_00


def test_a_release_gives_back_exactly_what_was_committed_and_later_years_do_not_count():
    entries = [
        entry("income", 40100, 100_000_00),
        entry("commitment", 50200, 30_000_00, commitment_id="c1"),
        entry("release", 50200, 30_000_00, commitment_id="c1"),
        entry("income", 40100, 999_00, year=2568),
    ]
    balances = domain.balances_from_totals(2567, totals_of(*entries, citizen=True))
    assert (balances.committed, balances.available, balances.citizen_groups) == (0, 100_000_00, 0)


def test_an_open_commitment_of_an_earlier_year_still_holds_its_money():
    entries = [entry("income", 40100, 50_000_00, year=2566), entry("commitment", 50200, 20_000_00, 2566, "c1")]
    assert domain.balances_from_totals(2567, totals_of(*entries)).carried == 30_000_00


def test_spending_codes_follow_the_spending_types():
    assert [domain.spending_code(t) for t in range(1, 6)] == [50100, 50200, 50300, 50400, 50500]
    assert domain.spending_type_of(50400) == 4


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"kind": "income", "code": 40500}, "code"),  # refunds are their own kind
        ({"kind": "income", "code": 50100}, "code"),
        ({"kind": "refund", "code": 40100}, "code"),
        ({"kind": "disbursement", "code": 40100}, "code"),
        ({"kind": "disbursement", "code": 50600}, "code"),
        ({"amount": 0}, "amount"),
        ({"amount": -100}, "amount"),
        ({"amount": 12.5}, "amount"),  # never a float
        ({"fiscal_year": 2024}, "fiscal_year"),  # C.E. given for B.E.
        ({"fiscal_year": 2548}, "fiscal_year"),  # before the funds existed
    ],
)
def test_a_bad_entry_names_its_field(details, field):
    good = {"kind": "income", "code": 40100, "amount": 100, "fiscal_year": 2567}
    with pytest.raises(InvalidInput) as refused:
        domain.new_entry("e", "L3363", {**good, **details}, date(2024, 1, 8))
    assert list(refused.value.errors) == [field]


# ------------------------------------------------------------------ allocation and matching share


def test_the_nhso_allocation_is_population_times_the_per_capita_rate():
    assert domain.nhso_allocation(5230, RULES) == 5230 * 45 * BAHT
    assert domain.nhso_allocation(5230, replace(RULES, per_capita_rate=48 * BAHT)) == 5230 * 48 * BAHT


@pytest.mark.parametrize(
    ("own_income_baht", "percent"),
    [
        ("0", 30),
        ("5999999.99", 30),
        ("6000000", 40),
        ("20000000", 40),
        ("20000000.01", 50),
        ("150000000", 50),
    ],
)
def test_the_matching_share_follows_the_own_income_brackets(own_income_baht, percent):
    satang = int(Decimal(own_income_baht) * 100)
    assert domain.matching_percent(satang, RULES) == percent


def test_the_required_matching_share_is_rounded_up_to_the_satang():
    share = domain.required_matching(3, 7_000_000 * BAHT, replace(RULES, per_capita_rate=3333))
    assert share == {"allocation": 9999, "percent": 40, "required": 4000}  # 3999.6 satang rounds up


def test_a_rule_set_round_trips_and_refuses_nonsense():
    assert RuleSet.from_dict(RULES.as_dict()) == RULES
    with pytest.raises(InvalidInput) as refused:
        RuleSet.from_dict({**RULES.as_dict(), "administration_cap_percent": 150})
    assert "administration_cap_percent" in refused.value.errors
    with pytest.raises(InvalidInput):
        RuleSet.from_dict({**RULES.as_dict(), "matching_brackets": [{"up_to": 100, "min_percent": 30}]})
    falling = (MatchingBracket(500, 30), MatchingBracket(100, 40), MatchingBracket(None, 50))
    with pytest.raises(InvalidInput):
        replace(RULES, matching_brackets=falling).check()


# ------------------------------------------------------------------ commitments


def year(**values) -> Balances:
    return Balances(2567, **values)


def test_a_commitment_within_the_available_balance_is_allowed_to_the_last_satang():
    balances = year(income=100_000_00, committed=40_000_00)
    assert domain.commitment_refusal(balances, RULES, 2, 60_000_00) is None
    refusal = domain.commitment_refusal(balances, RULES, 2, 60_000_01)
    assert refusal.code == "insufficient_balance"
    assert "60,000.00" in refusal.reason and "60,000.01" in refusal.reason


def test_administration_is_capped_at_fifteen_percent_of_the_years_income():
    balances = year(income=100_000_00, committed_by_type={4: 10_000_00}, committed=10_000_00)
    assert domain.commitment_refusal(balances, RULES, 4, 5_000_00) is None  # exactly 15 %
    refusal = domain.commitment_refusal(balances, RULES, 4, 5_000_01)
    assert refusal.code == "administration_cap" and "ร้อยละ 15" in refusal.reason
    assert domain.commitment_refusal(balances, replace(RULES, administration_cap_percent=20), 4, 10_000_00) is None
    assert domain.commitment_refusal(balances, RULES, 2, 50_000_00) is None  # other types are not capped


# ------------------------------------------------------------------ checks and flags


def flags(balances, as_of=date(2024, 1, 15), spent_by=None, rules=RULES):
    return {check.code: check.flagged for check in domain.evaluate(balances, rules, as_of, spent_by or {})}


def test_a_healthy_year_raises_no_flag():
    balances = year(
        income=100_000_00,
        committed=60_000_00,
        spent=35_000_00,
        committed_by_type={2: 45_000_00, 3: 15_000_00},
        spent_by_type={4: 15_000_00, 2: 20_000_00},
        citizen_groups=40_000_00,
    )
    assert flags(balances) == {
        "administration_cap": False,
        "type3_floor": False,
        "citizen_groups_share": False,
        "idle_balance": False,
    }


def test_each_rule_raises_its_flag():
    balances = year(
        income=100_000_00,
        committed=20_000_00,
        spent=16_000_00,
        committed_by_type={2: 20_000_00},
        spent_by_type={4: 15_000_01, 3: 999_99},
        citizen_groups=14_000_00,
    )
    assert flags(balances) == {
        "administration_cap": True,  # 15.0001 %
        "type3_floor": True,  # under 15 %
        "citizen_groups_share": True,  # 14 of 36 thousand < 40 %
        "idle_balance": True,  # 64 % left
    }


def test_spending_pace_is_checked_only_for_quarters_that_have_ended():
    balances = year(income=100_000_00, spent=19_000_00)
    assert "spending_pace_q2" not in flags(balances, as_of=date(2024, 3, 31), spent_by={})
    after_q2 = flags(balances, as_of=date(2024, 4, 1), spent_by={"q2": 19_999_99})
    assert after_q2["spending_pace_q2"] is True
    after_q3 = flags(balances, as_of=date(2024, 7, 1), spent_by={"q2": 20_000_00, "q3": 50_000_00})
    assert (after_q3["spending_pace_q2"], after_q3["spending_pace_q3"]) == (False, False)
    after_q4 = flags(balances, as_of=date(2024, 10, 1), spent_by={"q2": 20_000_00, "q3": 50_000_00, "q4": 79_000_00})
    assert after_q4["spending_pace_q4"] is True
    assert (
        flags(balances, date(2024, 10, 1), {"q4": 79_000_00}, replace(RULES, pace_q4_percent=70))["spending_pace_q4"]
        is False
    )


# ------------------------------------------------------------------ plans, people, fiscal years


def plan(**changes):
    base = domain.Plan("p", "L3363", "g", "physical_activity", 2567, "สถานการณ์", ["เป้าหมาย"], [])
    return replace(base, **changes)


def test_a_plan_not_approved_by_31_december_is_late():
    assert domain.plan_approval_deadline(2567) == date(2023, 12, 31)
    assert plan().late(date(2023, 12, 31)) is False
    assert plan().late(date(2024, 1, 1)) is True
    on_time = plan().approve(date(2023, 12, 8), "คณะกรรมการกองทุน", "ครั้งที่ 1/2567")
    assert on_time.status == "approved" and on_time.late(date(2024, 6, 1)) is False
    assert plan().approve(date(2024, 1, 10), "คณะกรรมการกองทุน", "").late(date(2024, 6, 1)) is True
    with pytest.raises(Conflict):
        on_time.approve(date(2023, 12, 9), "คณะกรรมการกองทุน", "")


def test_a_plan_issue_must_belong_to_the_programme_taxonomy():
    details = {
        "fund_code": "L3363",
        "programme_id": "g",
        "issue": "waste",
        "fiscal_year": 2567,
        "situation": "ขยะล้นชุมชน",
        "objectives": ["ลดขยะ"],
        "indicators": [{"name": "ปริมาณขยะ", "unit": "ตัน", "baseline": "12.50", "target": 10}],
    }
    made = domain.new_plan("p", details, ["waste", "food_system"], lambda: "i1")
    assert made.indicators[0].baseline == "12.5" and made.indicators[0].target == "10"
    with pytest.raises(InvalidInput) as refused:
        domain.new_plan("p", {**details, "issue": "tobacco"}, ["waste"], lambda: "i1")
    assert list(refused.value.errors) == ["issue"]


def test_fiscal_years_and_terms():
    assert domain.fiscal_year_bounds(2567) == (date(2023, 10, 1), date(2024, 9, 30))
    assert domain.check_fiscal_year(2568, date(2024, 10, 1)) == 2568
    with pytest.raises(InvalidInput):
        domain.check_fiscal_year(2570, date(2024, 10, 1))  # more than a year ahead
    assert domain.term_expired(date(2024, 1, 7), date(2024, 1, 8)) is True
    assert domain.term_expired(date(2024, 1, 8), date(2024, 1, 8)) is False
    assert domain.term_expired(None, date(2024, 1, 8)) is False
    with pytest.raises(InvalidInput):
        domain.check_district_committee([{"role": "member"}])


# ------------------------------------------------------------------ the quarterly financial report


@pytest.mark.parametrize(
    ("quarter", "start", "end"),
    [
        (1, date(2023, 10, 1), date(2023, 12, 31)),  # Q1 = October-December of the year before (C.E.)
        (2, date(2024, 1, 1), date(2024, 3, 31)),
        (3, date(2024, 4, 1), date(2024, 6, 30)),
        (4, date(2024, 7, 1), date(2024, 9, 30)),
    ],
)
def test_the_quarters_of_fiscal_year_2567(quarter, start, end):
    assert domain.quarter_bounds(2567, quarter) == (start, end)
    assert domain.quarter_name_th(2567, quarter) == f"ไตรมาสที่ {quarter} ปีงบประมาณ 2567"


def test_the_last_day_of_february_of_a_leap_year_lies_in_q2_and_feeds_it():
    start, end = domain.quarter_bounds(2567, 2)
    assert start <= date(2024, 2, 29) <= end


def test_quarter_figures_run_from_the_start_of_the_year_to_the_quarters_last_day_to_the_satang():
    movements = [
        ("income", date(2023, 10, 1), 235_350_00),  # the first day of FY 2567
        ("income", date(2023, 12, 31), 70_605_01),  # the last day of Q1
        ("disbursement", date(2023, 12, 31), 12_000_01),
        ("commitment", date(2023, 11, 1), 50_000_00),  # not money in or out
        ("release", date(2023, 12, 1), 50_000_00),
        ("refund", date(2024, 1, 1), 1_234_56),  # the first day of Q2
        ("disbursement", date(2024, 3, 31), 30_000_00),  # the last day of Q2
        ("income", date(2024, 4, 1), 99),  # Q3
    ]
    q1 = domain.quarter_figures(2567, 1, 35_350_00, movements)
    assert (q1.period_start, q1.period_end) == (date(2023, 10, 1), date(2023, 12, 31))
    assert (q1.carried, q1.income, q1.spending) == (35_350_00, 305_955_01, 12_000_01)
    assert q1.balance == 35_350_00 + 305_955_01 - 12_000_01 == 329_305_00
    q2 = domain.quarter_figures(2567, 2, 35_350_00, movements)
    assert (q2.income, q2.spending, q2.balance) == (305_955_01 + 1_234_56, 42_000_01, 300_539_56)
    q4 = domain.quarter_figures(2567, 4, 0, movements)
    assert (q4.income, q4.spending, q4.balance) == (307_190_56, 42_000_01, 265_190_55)


def test_a_quarter_can_be_reported_only_after_its_last_day_in_a_possible_fiscal_year():
    assert domain.check_reportable_quarter(2567, 2, date(2024, 4, 1)) == (date(2024, 1, 1), date(2024, 3, 31))
    assert domain.check_reportable_quarter(2567, 1, date(2024, 1, 1))[1] == date(2023, 12, 31)
    with pytest.raises(InvalidInput) as refused:
        domain.check_reportable_quarter(2567, 2, date(2024, 3, 31))  # its last day: not ended yet
    assert list(refused.value.errors) == ["quarter"]
    assert "ไตรมาสที่ 2 ปีงบประมาณ 2567" in refused.value.errors["quarter"][0]
    assert "2024-04-01" in refused.value.errors["quarter"][0]
    with pytest.raises(InvalidInput) as refused:
        domain.check_reportable_quarter(2568, 1, date(2024, 4, 1))  # next year: nothing has ended
    assert list(refused.value.errors) == ["quarter"]
    for year in (2024, 2548, 2570, True):  # C.E. for B.E., before the funds began, years ahead, not a number
        with pytest.raises(InvalidInput) as refused:
            domain.check_reportable_quarter(year, 1, date(2024, 4, 1))
        assert list(refused.value.errors) == ["fiscal_year"], year
    for quarter in (0, 5, "2"):
        with pytest.raises(InvalidInput) as refused:
            domain.check_reportable_quarter(2567, quarter, date(2024, 4, 1))
        assert list(refused.value.errors) == ["quarter"], quarter
    with pytest.raises(InvalidInput) as refused:
        domain.check_submitter("   ")
    assert list(refused.value.errors) == ["submitted_by"]
    assert domain.check_submitter(" นางสาวสมศรี ใจดี ") == "นางสาวสมศรี ใจดี"
