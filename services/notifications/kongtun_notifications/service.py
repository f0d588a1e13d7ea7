"""The notifications service's nameko adapter: events, RPC and the delivery loop in, use cases out."""

from kongtun_common.db import Database
from kongtun_common.engine import utcnow
from kongtun_common.events.consumer import event_handler
from kongtun_common.fields import load_or_raise
from kongtun_common.observability import Instrumentation
from kongtun_common.rpc import rpc

from . import orm, use_cases
from .delivery import Delivery
from .loop import Wake, work_loop
from .schemas import (
    AttendanceIn,
    CancelIn,
    EnableIn,
    ExtendIn,
    MinutesIn,
    RecipientIn,
    RescheduleIn,
    SeriesIn,
    SubscriptionIn,
)

RECIPIENT_IN, SERIES_IN, EXTEND_IN, RESCHEDULE_IN = RecipientIn(), SeriesIn(), ExtendIn(), RescheduleIn()
CANCEL_IN, ATTENDANCE_IN, MINUTES_IN = CancelIn(), AttendanceIn(), MinutesIn()
SUBSCRIPTION_IN, ENABLE_IN = SubscriptionIn(), EnableIn()


class NotificationsService:
    name = "notifications"

    db = Database(orm.metadata)
    instrumentation = Instrumentation()
    delivery = Delivery()
    wake = Wake()

    # --- events -----------------------------------------------------------------------------------

    def _apply(self, event, use_case):
        queued = []

        def decide(uow, ev):
            use_case(uow, ev, utcnow())
            queued.append(getattr(uow, "deliveries_queued", 0))

        # The delivery loop is woken only when this event queued something: most events tell nobody.
        if self.db.apply_event(event, decide) and sum(queued):
            self.wake()

    @event_handler("ReportDue")
    def remind_report_due(self, event):
        self._apply(event, use_cases.on_report_due)

    @event_handler("ReportOverdue")
    def remind_report_overdue(self, event):
        self._apply(event, use_cases.on_report_overdue)

    @event_handler("FundReportDue")
    def remind_fund_report_due(self, event):
        self._apply(event, use_cases.on_fund_report_due)

    @event_handler("FundReportOverdue")
    def remind_fund_report_overdue(self, event):
        self._apply(event, use_cases.on_fund_report_overdue)

    @event_handler("ProjectSubmitted")
    def tell_project_submitted(self, event):
        self._apply(event, use_cases.on_project_submitted)

    @event_handler("ProjectApproved")
    def tell_project_approved(self, event):
        self._apply(event, use_cases.on_project_decided)

    @event_handler("ProjectRevisionRequested")
    def tell_project_revision_requested(self, event):
        self._apply(event, use_cases.on_project_decided)

    @event_handler("ProjectRejected")
    def tell_project_rejected(self, event):
        self._apply(event, use_cases.on_project_decided)

    # --- the delivery loop ------------------------------------------------------------------------

    @work_loop("NOTIFICATIONS_SEND_INTERVAL_SECONDS", interval=1.0, enabled_key="NOTIFICATIONS_SENDING")
    def send_due(self):
        return self.delivery.run_once(self.db)

    # --- notifications and recipients -------------------------------------------------------------

    @rpc
    def reminders(self, project_id: str | None = None, recipient: str | None = None) -> list:
        with self.db.read() as session:
            return use_cases.list_reminders(session, project_id, recipient)

    @rpc
    def register_recipient(self, payload: dict) -> dict:
        data = load_or_raise(RECIPIENT_IN, payload)
        with self.db.unit_of_work() as uow:
            return use_cases.register_recipient(uow, data, utcnow())

    @rpc
    def update_recipient(self, recipient_id: str, payload: dict) -> dict:
        data = load_or_raise(RECIPIENT_IN, payload)
        with self.db.unit_of_work() as uow:
            return use_cases.update_recipient(uow, recipient_id, data, utcnow())

    @rpc
    def unsubscribe(self, recipient_id: str) -> dict:
        with self.db.unit_of_work() as uow:
            return use_cases.unsubscribe(uow, recipient_id, utcnow())

    @rpc
    def get_recipient(self, recipient_id: str) -> dict:
        with self.db.read() as session:
            return use_cases.get_recipient(session, recipient_id)

    @rpc
    def list_recipients(self, scope: str | None = None, role: str | None = None) -> list:
        with self.db.read() as session:
            return use_cases.list_recipients(session, scope, role)

    @rpc
    def recipient_notifications(self, recipient_id: str) -> list:
        with self.db.read() as session:
            return use_cases.recipient_notifications(session, recipient_id)

    # --- meetings ---------------------------------------------------------------------------------

    @rpc
    def create_series(self, payload: dict) -> dict:
        data = load_or_raise(SERIES_IN, payload)
        with self.db.unit_of_work() as uow:
            series = use_cases.create_series(uow, data, utcnow(), data["count"])
        self.wake()
        return series

    @rpc
    def extend_series(self, series_id: str, payload: dict) -> list:
        data = load_or_raise(EXTEND_IN, payload)
        with self.db.unit_of_work() as uow:
            meetings = use_cases.extend_series(uow, series_id, data["count"], utcnow())
        self.wake()
        return meetings

    @rpc
    def get_series(self, series_id: str) -> dict:
        with self.db.read() as session:
            return use_cases.get_series(session, series_id)

    @rpc
    def list_series(self, committee_code: str | None = None) -> list:
        with self.db.read() as session:
            return use_cases.list_series(session, committee_code)

    @rpc
    def get_meeting(self, meeting_id: str) -> dict:
        with self.db.read() as session:
            return use_cases.get_meeting(session, meeting_id, utcnow())

    @rpc
    def reschedule_meeting(self, meeting_id: str, payload: dict) -> dict:
        data = load_or_raise(RESCHEDULE_IN, payload)
        with self.db.unit_of_work() as uow:
            meeting = use_cases.reschedule(uow, meeting_id, data, utcnow())
        self.wake()
        return meeting

    @rpc
    def cancel_meeting(self, meeting_id: str, payload: dict) -> dict:
        data = load_or_raise(CANCEL_IN, payload)
        with self.db.unit_of_work() as uow:
            meeting = use_cases.cancel(uow, meeting_id, data["reason"], utcnow())
        self.wake()
        return meeting

    @rpc
    def record_attendance(self, meeting_id: str, payload: dict) -> dict:
        data = load_or_raise(ATTENDANCE_IN, payload)
        with self.db.unit_of_work() as uow:
            return use_cases.record_attendance(uow, meeting_id, data["attendees"])

    @rpc
    def record_minutes(self, meeting_id: str, payload: dict) -> dict:
        data = load_or_raise(MINUTES_IN, payload)
        with self.db.unit_of_work() as uow:
            meeting = use_cases.record_minutes(uow, meeting_id, data, utcnow())
        self.wake()
        return meeting

    @rpc
    def meeting_ics(self, meeting_id: str) -> str:
        with self.db.read() as session:
            return use_cases.meeting_ics(session, meeting_id, utcnow())

    @rpc
    def committee_calendar(self, committee_code: str) -> str:
        with self.db.read() as session:
            return use_cases.committee_feed(session, committee_code, utcnow())

    # --- webhooks ---------------------------------------------------------------------------------

    @rpc
    def subscribe_webhook(self, payload: dict) -> dict:
        data = load_or_raise(SUBSCRIPTION_IN, payload)
        with self.db.unit_of_work() as uow:
            return use_cases.subscribe(uow, data, utcnow())

    @rpc
    def get_webhook(self, subscription_id: str) -> dict:
        with self.db.read() as session:
            return use_cases.get_subscription(session, subscription_id)

    @rpc
    def enable_webhook(self, subscription_id: str, payload: dict) -> dict:
        data = load_or_raise(ENABLE_IN, payload)
        with self.db.unit_of_work() as uow:
            subscription = use_cases.enable_subscription(uow, subscription_id, data["secret"], utcnow())
        self.wake()
        return subscription

    @rpc
    def webhook_deliveries(self, subscription_id: str) -> list:
        with self.db.read() as session:
            return use_cases.subscription_deliveries(session, subscription_id)

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}
