"""The reporting service's domain: report obligations and when to say they are due.

Plain Python, no framework.  Days are counted in Asia/Bangkok.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEFAULT_LEADS = (14, 3)
DEFAULT_OVERDUE_STEPS = (1, 7, 30)

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
