"""The reporting service's nameko adapter: events and timers in, read models out."""

from datetime import datetime

from nameko.timer import Timer

from kongtun_common.db import Database
from kongtun_common.events.consumer import ANY_EVENT, event_handler
from kongtun_common.fields import load_or_raise
from kongtun_common.observability import Instrumentation
from kongtun_common.rpc import rpc
from kongtun_common.thai import BANGKOK

from . import orm, use_cases
from .domain import DEFAULT_LEADS
from .schemas import SummaryFilters, SummaryOut


class ConfiguredTimer(Timer):
    """A timer whose interval comes from the container config (``REPORTING_CHECK_SECONDS``)."""

    def setup(self):
        self.interval = float(self.container.config.get("REPORTING_CHECK_SECONDS", self.interval))
        super().setup()


class ReportingService:
    name = "reporting"

    db = Database(orm.metadata)
    instrumentation = Instrumentation()

    @event_handler(ANY_EVENT)
    def keep_event_history(self, event):
        """Every event is kept; this also means no event published in this deployment goes unrouted."""
        self.db.apply_event(event, use_cases.keep_in_history)

    @event_handler("FundRegistered")
    def on_fund_registered(self, event):
        self.db.apply_event(event, use_cases.record_fund)

    @event_handler("ProjectSubmitted")
    def on_project_submitted(self, event):
        self.db.apply_event(event, lambda uow, ev: use_cases.record_project(uow, ev, "submitted"))

    @event_handler("ProjectApproved")
    def on_project_approved(self, event):
        self.db.apply_event(event, lambda uow, ev: use_cases.record_project(uow, ev, "approved"))

    @event_handler("ProjectApproved")
    def register_report_obligations(self, event):
        self.db.apply_event(event, use_cases.register_obligations)

    @event_handler("ProjectApprovalRevoked")
    def on_project_approval_revoked(self, event):
        self.db.apply_event(event, use_cases.revert_approval)

    @event_handler("ReportSubmitted")
    def on_report_submitted(self, event):
        self.db.apply_event(event, use_cases.fulfil_obligation)

    @ConfiguredTimer.decorator(interval=60)
    def announce_due_reports(self):
        today = datetime.now(BANGKOK).date()
        leads = DEFAULT_LEADS
        with self.db.read() as session:
            candidates = use_cases.obligations_to_check(session, today, max(leads))
        for obligation_id in candidates:
            with self.db.unit_of_work() as uow:
                use_cases.announce_if_due(uow, obligation_id, today, leads)

    @rpc
    def summary(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(SummaryFilters(), filters or {})
        with self.db.read() as session:
            return SummaryOut().dump(use_cases.summary(session, loaded))

    @rpc
    def obligations(self, project_id: str | None = None) -> list:
        with self.db.read() as session:
            return use_cases.list_obligations(session, project_id)

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}
