"""Use cases of the notifications service."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from kongtun_common.engine import utcnow

from . import orm
from .domain import report_due_reminder


def remind_owner_of_due_report(uow, event, today) -> None:
    reminder = report_due_reminder(str(uuid.uuid4()), event.id, event.data, today)
    uow.session.execute(
        orm.reminders.insert().values(
            id=reminder.id,
            event_id=reminder.event_id,
            project_id=reminder.project_id,
            recipient_name=reminder.recipient_name,
            recipient_role=reminder.recipient_role,
            channel=reminder.channel,
            language=reminder.language,
            subject=reminder.subject,
            body=reminder.body,
            created_at=utcnow(),
        )
    )


def list_reminders(session, project_id: str | None, recipient: str | None) -> list[dict]:
    table = orm.reminders
    query = select(table).order_by(table.c.created_at)
    if project_id:
        query = query.where(table.c.project_id == project_id)
    if recipient:
        query = query.where(table.c.recipient_name == recipient)
    return [
        {
            "id": row["id"],
            "project_id": row["project_id"],
            "recipient": row["recipient_name"],
            "role": row["recipient_role"],
            "channel": row["channel"],
            "language": row["language"],
            "subject": row["subject"],
            "body": row["body"],
            "created_at": row["created_at"].isoformat(),
        }
        for row in session.execute(query).mappings()
    ]
