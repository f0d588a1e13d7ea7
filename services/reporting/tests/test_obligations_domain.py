"""When a report obligation is announced: pure domain."""

from datetime import date

from kongtun_reporting.domain import Obligation, advances, due_notice, oldest_announced_due_date

DUE = date(2024, 6, 8)


def obligation(sent=frozenset()):
    return Obligation("o-1", "p-1", "final", DUE, frozenset(sent))


def test_nothing_is_announced_before_the_first_lead():
    assert due_notice(obligation(), date(2024, 5, 24)) is None  # 15 days ahead


def test_the_14_day_notice_then_the_3_day_notice():
    assert due_notice(obligation(), date(2024, 5, 25)) == (14, frozenset({14}))
    assert due_notice(obligation({14}), date(2024, 5, 30)) is None
    assert due_notice(obligation({14}), date(2024, 6, 5)) == (3, frozenset({3, 14}))
    assert due_notice(obligation({3, 14}), date(2024, 6, 8)) is None


def test_a_late_start_sends_only_the_most_urgent_notice():
    assert due_notice(obligation(), date(2024, 6, 6)) == (3, frozenset({3, 14}))


def test_past_due_is_not_a_due_notice():
    assert due_notice(obligation(), date(2024, 6, 9)) is None


def test_read_model_status_only_moves_forward():
    assert advances(None, "submitted")
    assert advances("submitted", "approved")
    assert not advances("approved", "submitted")  # a late ProjectSubmitted after ProjectApproved


def test_overdue_steps_are_announced_one_day_then_seven_then_thirty_after_the_due_date():
    from kongtun_reporting.domain import overdue_notice

    assert overdue_notice(obligation(), DUE) is None  # due today is not overdue
    assert overdue_notice(obligation(), date(2024, 6, 9)) == (1, frozenset({1}))
    late = Obligation("o-1", "p-1", "final", DUE, overdue_sent=frozenset({1}))
    assert overdue_notice(late, date(2024, 6, 14)) is None
    assert overdue_notice(late, date(2024, 6, 15)) == (7, frozenset({1, 7}))


def test_a_service_down_for_weeks_sends_only_the_latest_overdue_step():
    from kongtun_reporting.domain import overdue_notice

    assert overdue_notice(obligation(), date(2024, 7, 20)) == (30, frozenset({1, 7, 30}))
    done = Obligation("o-1", "p-1", "final", DUE, overdue_sent=frozenset({1, 7, 30}))
    assert overdue_notice(done, date(2024, 12, 31)) is None


def test_the_newest_event_of_a_project_sets_its_status_whatever_the_arrival_order():
    from datetime import datetime, timedelta

    from kongtun_reporting.domain import supersedes

    earlier = datetime(2024, 1, 8, 9)
    later = earlier + timedelta(minutes=1)
    assert supersedes(later, "running", earlier, "approved") is False  # a late ProjectApproved after ProjectStarted
    assert supersedes(earlier, "approved", later, "submitted") is True  # a revocation after the approval
    assert supersedes(None, None, earlier, "submitted") is True


def test_plan_coverage_counts_funds_with_a_plan_for_every_issue():
    from kongtun_reporting.domain import plan_coverage

    issues = {"waste", "physical_activity"}
    plans = {"L0001": {"waste", "physical_activity"}, "L0002": {"physical_activity"}}
    assert plan_coverage({"L0001", "L0002", "L0003"}, plans, issues) == (1, 3)
    assert plan_coverage({"L0001"}, plans, set()) == (0, 1)


def test_the_announcing_window_ends_90_days_back_by_default_and_0_means_no_limit():
    assert oldest_announced_due_date(date(2026, 11, 23), 90) == date(2026, 8, 25)
    assert oldest_announced_due_date(date(2024, 3, 1), 1) == date(2024, 2, 29)  # a leap day
    assert oldest_announced_due_date(date(2026, 11, 23), 0) is None
