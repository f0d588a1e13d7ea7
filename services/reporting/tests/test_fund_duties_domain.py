"""Fund-level duties, spending pace and idle balance: pure domain (B.E. years, quarters, thresholds)."""

from datetime import date

import pytest

from kongtun_reporting.domain import (
    Obligation,
    annual_plan_due,
    carried_balances,
    due_notice,
    fiscal_year_bounds,
    fiscal_year_of,
    fund_duties,
    idle_flagged,
    overdue_notice,
    percent_text,
    quarter_end,
    quarter_of,
    spending_pace,
)


def test_fiscal_years_are_buddhist_era_and_start_on_1_october():
    assert fiscal_year_bounds(2567) == (date(2023, 10, 1), date(2024, 9, 30))
    assert fiscal_year_of(date(2023, 9, 30)) == 2566
    assert fiscal_year_of(date(2023, 10, 1)) == 2567
    assert fiscal_year_of(date(2024, 9, 30)) == 2567
    assert fiscal_year_of(date(2024, 10, 1)) == 2568


def test_quarter_boundaries():
    assert [quarter_end(2567, quarter) for quarter in (1, 2, 3, 4)] == [
        date(2023, 12, 31),
        date(2024, 3, 31),
        date(2024, 6, 30),
        date(2024, 9, 30),
    ]
    assert quarter_of(2567, date(2023, 10, 1)) == 1
    assert quarter_of(2567, date(2023, 12, 31)) == 1
    assert quarter_of(2567, date(2024, 1, 1)) == 2
    assert quarter_of(2567, date(2024, 3, 31)) == 2
    assert quarter_of(2567, date(2024, 4, 1)) == 3
    assert quarter_of(2567, date(2024, 7, 1)) == 4
    assert quarter_of(2567, date(2024, 9, 30)) == 4
    assert quarter_of(2567, date(2024, 10, 1)) == 5  # dated after the year: never in a quarter's check
    assert quarter_of(2567, date(2023, 9, 1)) == 1  # dated before it: spent by the end of Q1


def test_the_annual_plan_is_due_31_december_of_the_fiscal_years_first_months():
    assert annual_plan_due(2567) == date(2023, 12, 31)
    assert annual_plan_due(2570) == date(2026, 12, 31)


def test_a_fund_owes_the_annual_plan_and_four_financial_reports_30_days_after_each_quarter():
    assert fund_duties(2567) == [
        ("annual_plan", None, date(2023, 12, 31)),
        ("quarterly_financial_report", 1, date(2024, 1, 30)),
        ("quarterly_financial_report", 2, date(2024, 4, 30)),
        ("quarterly_financial_report", 3, date(2024, 7, 30)),
        ("quarterly_financial_report", 4, date(2024, 10, 30)),
    ]
    assert fund_duties(2567, report_days=15)[1] == ("quarterly_financial_report", 1, date(2024, 1, 15))


def test_fund_duties_use_the_same_notice_rules_as_project_reports():
    plan = Obligation("o", "L3363", "annual_plan", annual_plan_due(2567))
    assert due_notice(plan, date(2023, 12, 16)) is None  # 15 days ahead
    assert due_notice(plan, date(2023, 12, 17)) == (14, frozenset({14}))
    assert due_notice(plan, date(2023, 12, 31)) == (3, frozenset({3, 14}))  # a late start: only the urgent one
    assert overdue_notice(plan, date(2023, 12, 31)) is None
    assert overdue_notice(plan, date(2024, 1, 1)) == (1, frozenset({1}))
    assert overdue_notice(plan, date(2024, 2, 1)) == (30, frozenset({1, 7, 30}))


MONEY = 100_000_00  # 100,000 baht in satang


def test_exactly_20_percent_by_the_end_of_q2_is_on_pace_and_one_satang_less_is_behind():
    after_q2 = date(2024, 4, 1)
    [on_pace] = spending_pace(2567, MONEY, {1: 5_000_00, 2: 15_000_00}, after_q2)
    assert (on_pace.quarter, on_pace.threshold_percent, on_pace.percent, on_pace.behind) == (2, 20, "20.00", False)
    [behind] = spending_pace(2567, MONEY, {1: 5_000_00, 2: 15_000_00 - 1}, after_q2)
    assert behind.behind is True
    assert behind.percent == "19.99"  # truncated, never rounded up to the threshold


def test_only_quarters_that_have_ended_are_evaluated():
    spent = {2: 20_000_00, 3: 30_000_00, 4: 30_000_00}
    assert spending_pace(2567, MONEY, spent, date(2024, 3, 31)) == []  # the last day of Q2 is still Q2
    assert [check.quarter for check in spending_pace(2567, MONEY, spent, date(2024, 4, 1))] == [2]
    assert [check.quarter for check in spending_pace(2567, MONEY, spent, date(2024, 7, 1))] == [2, 3]
    checks = spending_pace(2567, MONEY, spent, date(2024, 10, 1))
    assert [(check.quarter, check.spent, check.behind) for check in checks] == [
        (2, 20_000_00, False),
        (3, 50_000_00, False),
        (4, 80_000_00, False),
    ]


def test_spending_dated_after_the_year_does_not_count_for_q4_and_thresholds_are_configurable():
    [*_, q4] = spending_pace(2567, MONEY, {4: 79_999_99, 5: 10_000_00}, date(2024, 10, 1))
    assert (q4.spent, q4.behind) == (79_999_99, True)
    [q2] = spending_pace(2567, MONEY, {2: 10_000_00}, date(2024, 4, 1), thresholds=(10, 40, 70))
    assert (q2.threshold_percent, q2.behind) == (10, False)


def test_a_fund_without_money_is_never_behind():
    [check] = spending_pace(2567, 0, {}, date(2024, 4, 1))
    assert (check.percent, check.behind) == (None, False)


def test_idle_balance_is_flagged_above_10_percent_of_the_years_money():
    assert idle_flagged(10_000_00, MONEY) is False  # exactly 10 %
    assert idle_flagged(10_000_01, MONEY) is True
    assert idle_flagged(5, 0) is False
    assert idle_flagged(20_000_00, MONEY, max_percent=25) is False


def test_the_carried_balance_folds_earlier_years_like_the_funds_ledger():
    years = {2566: (100_00, 30_00, 50_00), 2567: (200_00, 0, 10_00), 2569: (0, 0, 0)}
    assert carried_balances(years) == {2566: 0, 2567: 20_00, 2569: 210_00}


@pytest.mark.parametrize(
    ("part", "whole", "text"), [(1, 3, "33.33"), (2, 3, "66.66"), (-1, 10, "-10.00"), (1, 0, None)]
)
def test_percentages_are_truncated_to_hundredths(part, whole, text):
    assert percent_text(part, whole) == text
