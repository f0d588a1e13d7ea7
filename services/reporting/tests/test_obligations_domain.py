"""When a report obligation is announced: pure domain."""

from datetime import date

from kongtun_reporting.domain import Obligation, advances, due_notice

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
