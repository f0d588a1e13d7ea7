"""The reporting service's domain: report obligations and when to say they are due.

Plain Python, no framework.  Days are counted in Asia/Bangkok.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEFAULT_LEADS = (14, 3)

STATUS_RANK = {"submitted": 1, "approved": 2}


@dataclass(frozen=True)
class Obligation:
    """A report a project owes by a date."""

    id: str
    project_id: str
    report: str
    due_date: date
    notices_sent: frozenset[int] = frozenset()


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


def advances(current: str | None, new: str) -> bool:
    """Whether a project's status may move to ``new`` in the read model (events may arrive late)."""
    return current is None or STATUS_RANK.get(new, 0) >= STATUS_RANK.get(current, 0)
