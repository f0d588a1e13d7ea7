"""Helpers shared by the notifications service's use cases: ids, the webhook types, insert-or-ignore."""

from __future__ import annotations

import uuid

from kongtun_common.db import insert_ignoring_conflicts

WEBHOOK_TYPES = (
    "ReportDue",
    "ReportOverdue",
    "FundReportDue",
    "FundReportOverdue",
    "ProjectSubmitted",
    "ProjectApproved",
    "ProjectRevisionRequested",
    "ProjectRejected",
    "MeetingScheduled",
    "MeetingRescheduled",
    "MeetingCancelled",
    "MeetingMinutesRecorded",
)


MAIL_DOMAIN = "kongtun.local"


def new_id() -> str:
    return str(uuid.uuid4())


def insert_or_ignore(session, table, values: dict) -> bool:
    """Insert unless the primary key is taken; True if the row was inserted."""
    statement = insert_ignoring_conflicts(session.get_bind().dialect.name, table).values(**values)
    return session.execute(statement).first() is not None
