"""The reporting service's domain: report obligations and when to say they are due.

Plain Python, no framework.  Days are counted in Asia/Bangkok.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEFAULT_LEADS = (14, 3)
DEFAULT_OVERDUE_STEPS = (1, 7, 30)
# Past this many days overdue an obligation is no longer announced (it stays overdue in the read models): a history
# imported or replayed long after the fact must not remind people of reports from years ago.  0 = no limit.
DEFAULT_OVERDUE_WINDOW_DAYS = 90

# The status a project's event leaves it in (the read model follows the newest event of each project).
STATUS_AFTER = {
    "ProjectSubmitted": "submitted",
    "ProjectRevisionRequested": "revision_requested",
    "ProjectApproved": "approved",
    "ProjectRejected": "rejected",
    "ProjectCancelled": "cancelled",
    "ProjectStarted": "running",
    "ProjectSuspended": "suspended",
    "ProjectResumed": "running",
    "ProjectTerminated": "terminated",
    "ProjectCompleted": "completed",
    "ProjectApprovalRevoked": "submitted",
}

GROUP_BY = (
    "fund_code",
    "subdistrict",
    "district",
    "province",
    "region",
    "issue",
    "spending_type",
    "owner_kind",
    "status",
    "fiscal_year",
)

STATUS_RANK = {
    "submitted": 1,
    "revision_requested": 1,
    "approved": 2,
    "rejected": 2,
    "cancelled": 3,
    "running": 3,
    "suspended": 4,
    "terminated": 5,
    "completed": 5,
}


@dataclass(frozen=True)
class Obligation:
    """A report a project owes by a date."""

    id: str
    project_id: str
    report: str
    due_date: date
    notices_sent: frozenset[int] = frozenset()
    overdue_sent: frozenset[int] = frozenset()


def due_notice(obligation: Obligation, today: date, leads=DEFAULT_LEADS) -> tuple[int, frozenset[int]] | None:
    """The lead time to announce today, and every lead that counts as announced after it.

    ``leads`` are days before the due date (14 and 3 by default).  When several
    leads have been reached unannounced (the service was down, or the project
    was approved late), only the most urgent is sent: one notice, not a burst.
    Returns None when nothing is to be sent.
    """
    days_left = (obligation.due_date - today).days
    if days_left < 0:
        return None
    reached = {lead for lead in leads if days_left <= lead} - obligation.notices_sent
    if not reached:
        return None
    return min(reached), obligation.notices_sent | reached


def overdue_notice(
    obligation: Obligation, today: date, steps=DEFAULT_OVERDUE_STEPS
) -> tuple[int, frozenset[int]] | None:
    """The overdue step to announce today (days past due), and every step that counts as announced after it.

    ``steps`` are days after the due date (1, 7 and 30 by default).  As with due notices, a service that was
    down sends only the latest step reached, once.  Returns None when nothing is to be sent.
    """
    days_late = (today - obligation.due_date).days
    if days_late < 1:
        return None
    reached = {step for step in steps if days_late >= step} - obligation.overdue_sent
    if not reached:
        return None
    return max(reached), obligation.overdue_sent | reached


def oldest_announced_due_date(today: date, window_days: int) -> date | None:
    """The earliest due date an overdue notice may still be sent for today; None when there is no limit."""
    if window_days <= 0:
        return None
    return date.fromordinal(today.toordinal() - window_days)


def supersedes(current_time, current_status: str | None, event_time, new_status: str) -> bool:
    """Whether an event (at ``event_time``) may set a project's status in the read model.

    Events of one project travel on different queues and may arrive out of order: the newest event wins,
    so the live model and a rebuild from the history agree whatever the arrival order.
    """
    if current_status is None or current_time is None:
        return True
    if event_time != current_time:
        return event_time > current_time
    return advances(current_status, new_status)


def plan_coverage(members: set[str], plans: dict[str, set[str]], issues: set[str]) -> tuple[int, int]:
    """(funds covered, funds): a fund is covered when it has an approved plan for every issue."""
    covered = sum(1 for fund in members if issues and issues <= plans.get(fund, set()))
    return covered, len(members)


def advances(current: str | None, new: str) -> bool:
    """Whether a project's status may move to ``new`` in the read model (events may arrive late)."""
    return current is None or STATUS_RANK.get(new, 0) >= STATUS_RANK.get(current, 0)


# ------------------------------------------------------------------ fund-level duties, money and mentors

BE_OFFSET = 543
FUND_DUTIES = ("annual_plan", "quarterly_financial_report")
DEFAULT_FINANCIAL_REPORT_DAYS = 30  # a quarter's financial report is due this many days after the quarter ends
DEFAULT_PACE_PERCENTS = (20, 50, 80)  # spent by the end of Q2, Q3, Q4 (NHSO criteria; configurable)
DEFAULT_IDLE_MAX_PERCENT = 10  # available money above this share of the year's money is flagged
DEFAULT_MENTOR_MAX_FUNDS = 2  # a mentor coaches 1-2 funds


def fiscal_year_of(day: date) -> int:
    """The fiscal year (B.E.) a day falls in: 1 October starts the next one (2023-10-01 → 2567)."""
    return day.year + BE_OFFSET + (1 if day.month >= 10 else 0)


def fiscal_year_bounds(fiscal_year: int) -> tuple[date, date]:
    """FY 2567 runs 2023-10-01 .. 2024-09-30."""
    year = fiscal_year - BE_OFFSET
    return date(year - 1, 10, 1), date(year, 9, 30)


def quarter_end(fiscal_year: int, quarter: int) -> date:
    """Last day of a quarter: Q1 Oct-Dec, Q2 Jan-Mar, Q3 Apr-Jun, Q4 Jul-Sep."""
    year = fiscal_year - BE_OFFSET
    return {1: date(year - 1, 12, 31), 2: date(year, 3, 31), 3: date(year, 6, 30), 4: date(year, 9, 30)}[quarter]


def quarter_of(fiscal_year: int, day: date) -> int:
    """The quarter of ``fiscal_year`` a day counts in for "spent by the end of the quarter": a day before the
    year counts in Q1, a day after it in 5 (after Q4)."""
    for quarter in (1, 2, 3, 4):
        if day <= quarter_end(fiscal_year, quarter):
            return quarter
    return 5


def annual_plan_due(fiscal_year: int) -> date:
    """The committee approves the year's plans by 31 December of the fiscal year (FY 2567 → 2023-12-31)."""
    return date(fiscal_year - BE_OFFSET - 1, 12, 31)


def fund_duties(
    fiscal_year: int, report_days: int = DEFAULT_FINANCIAL_REPORT_DAYS
) -> list[tuple[str, int | None, date]]:
    """What a fund owes for a fiscal year: (duty, quarter, due date), the annual plan then four financial reports."""
    duties: list[tuple[str, int | None, date]] = [("annual_plan", None, annual_plan_due(fiscal_year))]
    for quarter in (1, 2, 3, 4):
        due = date.fromordinal(quarter_end(fiscal_year, quarter).toordinal() + report_days)
        duties.append(("quarterly_financial_report", quarter, due))
    return duties


def percent_text(part: int, whole: int) -> str | None:
    """``part`` of ``whole`` in percent with two decimals, truncated (never rounds a miss up to the threshold)."""
    if whole <= 0:
        return None
    hundredths = part * 10000 // whole
    sign = "-" if hundredths < 0 else ""
    hundredths = abs(hundredths)
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}"


@dataclass(frozen=True)
class PaceCheck:
    quarter: int
    ends_on: date
    threshold_percent: int
    spent: int
    percent: str | None
    behind: bool


def spending_pace(
    fiscal_year: int,
    money: int,
    spent_by_quarter: dict[int, int],
    as_of: date,
    thresholds=DEFAULT_PACE_PERCENTS,
) -> list[PaceCheck]:
    """The pace checks of the quarters that have ended by ``as_of`` (Q2, Q3, Q4 against ``thresholds``).

    ``spent_by_quarter`` is what was spent in each quarter (1-4; entries dated after the year count in 5 and
    never in a check); a quarter ends the day after its last day, as in the funds service's evaluation.  Behind:
    spent by the end of the quarter × 100 < threshold × money, in whole satang (exactly 20 % is on pace).
    """
    checks = []
    for quarter, threshold in zip((2, 3, 4), thresholds, strict=True):
        ends = quarter_end(fiscal_year, quarter)
        if as_of <= ends:
            continue
        spent = sum(spent_by_quarter.get(number, 0) for number in range(1, quarter + 1))
        behind = money > 0 and spent * 100 < threshold * money
        checks.append(PaceCheck(quarter, ends, threshold, spent, percent_text(spent, money), behind))
    return checks


def carried_balances(years: dict[int, tuple[int, int, int]]) -> dict[int, int]:
    """Carried balance of each fiscal year from (income, committed, spent) per year, as the funds service folds
    its ledger: what earlier years left, their income less what they spent and still hold committed."""
    carried, running = {}, 0
    for year in sorted(years):
        carried[year] = running
        income, committed, spent = years[year]
        running += income - committed - spent
    return carried


def idle_flagged(available: int, money: int, max_percent: int = DEFAULT_IDLE_MAX_PERCENT) -> bool:
    """Available money (not committed nor spent) above ``max_percent`` of the year's money (carried + income)."""
    return money > 0 and available * 100 > max_percent * money
