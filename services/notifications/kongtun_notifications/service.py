"""The notifications service's nameko adapter."""

from datetime import datetime

from kongtun_common.db import Database
from kongtun_common.events.consumer import event_handler
from kongtun_common.observability import Instrumentation
from kongtun_common.rpc import rpc
from kongtun_common.thai import BANGKOK

from . import orm, use_cases


class NotificationsService:
    name = "notifications"

    db = Database(orm.metadata)
    instrumentation = Instrumentation()

    @event_handler("ReportDue")
    def remind_report_due(self, event):
        today = datetime.now(BANGKOK).date()
        self.db.apply_event(event, lambda uow, ev: use_cases.remind_owner_of_due_report(uow, ev, today))

    @rpc
    def reminders(self, project_id: str | None = None, recipient: str | None = None) -> list:
        with self.db.read() as session:
            return use_cases.list_reminders(session, project_id, recipient)

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}
