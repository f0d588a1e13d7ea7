"""The reporting service's nameko adapter: events and timers in, read models out."""

from datetime import datetime

from nameko.dependency_providers import Config
from nameko.timer import Timer

from kongtun_common.db import Database
from kongtun_common.events.consumer import ANY_EVENT, event_handler
from kongtun_common.fields import load_or_raise
from kongtun_common.observability import Instrumentation
from kongtun_common.rpc import rpc
from kongtun_common.thai import BANGKOK

from . import orm, use_cases
from .domain import (
    DEFAULT_FINANCIAL_REPORT_DAYS,
    DEFAULT_IDLE_MAX_PERCENT,
    DEFAULT_LEADS,
    DEFAULT_MENTOR_MAX_FUNDS,
    DEFAULT_OVERDUE_STEPS,
    DEFAULT_OVERDUE_WINDOW_DAYS,
    DEFAULT_PACE_PERCENTS,
)
from .schemas import (
    CoverageQuery,
    FundMoneyFilters,
    MentorFilters,
    ObligationFilters,
    PaceFilters,
    SummaryFilters,
    SummaryOut,
)


def _days(config, key: str, default: tuple[int, ...]) -> tuple[int, ...]:
    value = config.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    return tuple(int(part) for part in value)


def _number(config, key: str, default: int) -> int:
    value = config.get(key)
    return default if value in (None, "") else int(value)


def report_days(config) -> int:
    """Days after a quarter's end its financial report is due (``REPORTING_FINANCIAL_REPORT_DAYS``, 30)."""
    return _number(config, "REPORTING_FINANCIAL_REPORT_DAYS", DEFAULT_FINANCIAL_REPORT_DAYS)


def overdue_window(config) -> int:
    """Days overdue past which nothing is announced any more (``REPORTING_OVERDUE_WINDOW_DAYS``, 90; 0 = no limit)."""
    return _number(config, "REPORTING_OVERDUE_WINDOW_DAYS", DEFAULT_OVERDUE_WINDOW_DAYS)


class ConfiguredTimer(Timer):
    """A timer whose interval comes from the container config (``REPORTING_CHECK_SECONDS``)."""

    def setup(self):
        self.interval = float(self.container.config.get("REPORTING_CHECK_SECONDS", self.interval))
        super().setup()


class ReportingService:
    name = "reporting"

    db = Database(orm.metadata)
    instrumentation = Instrumentation()
    config = Config()

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

    @event_handler("ProjectRevisionRequested")
    def on_project_revision_requested(self, event):
        self.db.apply_event(event, use_cases.record_project)

    @event_handler("ProjectRejected")
    def on_project_rejected(self, event):
        self.db.apply_event(event, use_cases.record_project)

    @event_handler("ProjectCancelled")
    def on_project_cancelled(self, event):
        self.db.apply_event(event, use_cases.cancel_project)

    @event_handler("ProjectStarted")
    def on_project_started(self, event):
        self.db.apply_event(event, use_cases.record_project)

    @event_handler("ProjectSuspended")
    def on_project_suspended(self, event):
        self.db.apply_event(event, use_cases.record_project)

    @event_handler("ProjectResumed")
    def on_project_resumed(self, event):
        self.db.apply_event(event, use_cases.record_project)

    @event_handler("ProjectTerminated")
    def on_project_terminated(self, event):
        self.db.apply_event(event, use_cases.record_project)

    @event_handler("ProjectCompleted")
    def on_project_completed(self, event):
        self.db.apply_event(event, use_cases.record_project)

    @event_handler("FundJoinedProgramme")
    def on_fund_joined_programme(self, event):
        self.db.apply_event(event, use_cases.record_programme_member)

    @event_handler("PlanApproved")
    def on_plan_approved(self, event):
        self.db.apply_event(event, use_cases.record_plan)

    @event_handler("ProjectApprovalRevoked")
    def on_project_approval_revoked(self, event):
        self.db.apply_event(event, use_cases.revert_approval)

    @event_handler("ReportSubmitted")
    def on_report_submitted(self, event):
        self.db.apply_event(event, use_cases.fulfil_obligation)

    @event_handler("PlanApproved")
    def clear_annual_plan_duty(self, event):
        days = report_days(self.config)
        self.db.apply_event(event, lambda uow, ev: use_cases.record_plan_duty(uow, ev, days))

    @event_handler("FundFinancialReportSubmitted")
    def on_fund_financial_report_submitted(self, event):
        days = report_days(self.config)
        self.db.apply_event(event, lambda uow, ev: use_cases.record_fund_report(uow, ev, days))

    @event_handler("MentorAssigned")
    def on_mentor_assigned(self, event):
        self.db.apply_event(event, use_cases.record_mentor)

    @event_handler("LedgerEntryRecorded")
    def on_ledger_entry_recorded(self, event):
        self.db.apply_event(event, use_cases.record_ledger_entry)

    @event_handler("BudgetCommitted")
    def on_budget_committed(self, event):
        self.db.apply_event(event, use_cases.record_commitment)

    @event_handler("BudgetReleased")
    def on_budget_released(self, event):
        self.db.apply_event(event, use_cases.record_release)

    @ConfiguredTimer.decorator(interval=60)
    def announce_fund_duties(self):
        """Every known fund owes the current fiscal year's duties (created on the timer's first tick of the year);
        FundReportDue ahead of each due date, FundReportOverdue after it, each notice once, like the projects'."""
        config = self.config
        today = datetime.now(BANGKOK).date()
        leads = _days(config, "REPORTING_FUND_DUE_LEADS", _days(config, "REPORTING_DUE_LEADS", DEFAULT_LEADS))
        steps = _days(config, "REPORTING_OVERDUE_STEPS", DEFAULT_OVERDUE_STEPS)
        with self.db.unit_of_work() as uow:
            use_cases.ensure_current_year(uow, today, report_days(config))
        with self.db.read() as session:
            due = use_cases.fund_obligations_to_check(session, today, max(leads))
            overdue = use_cases.fund_overdue_to_check(session, today, steps, overdue_window(config))
        for obligation_id in due:
            with self.db.unit_of_work() as uow:
                use_cases.announce_fund_due(uow, obligation_id, today, leads)
        for obligation_id in overdue:
            with self.db.unit_of_work() as uow:
                use_cases.announce_fund_overdue(uow, obligation_id, today, steps)

    @ConfiguredTimer.decorator(interval=60)
    def announce_due_reports(self):
        """ReportDue ahead of the due date, then ReportOverdue after it; each notice once (the claim is a row
        update in the same transaction as the event in the outbox), so restarts and two processes send nothing
        twice."""
        config = self.config
        today = datetime.now(BANGKOK).date()
        leads = _days(config, "REPORTING_DUE_LEADS", DEFAULT_LEADS)
        steps = _days(config, "REPORTING_OVERDUE_STEPS", DEFAULT_OVERDUE_STEPS)
        with self.db.read() as session:
            due = use_cases.obligations_to_check(session, today, max(leads))
            overdue = use_cases.overdue_to_check(session, today, steps, overdue_window(config))
        for obligation_id in due:
            with self.db.unit_of_work() as uow:
                use_cases.announce_if_due(uow, obligation_id, today, leads)
        for obligation_id in overdue:
            with self.db.unit_of_work() as uow:
                use_cases.announce_if_overdue(uow, obligation_id, today, steps)

    @rpc
    def summary(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(SummaryFilters(), filters or {})
        with self.db.read() as session:
            return SummaryOut().dump(use_cases.summary(session, loaded))

    @rpc
    def approval_lead_time(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(SummaryFilters(), filters or {})
        with self.db.read() as session:
            return use_cases.approval_lead_time(session, loaded)

    @rpc
    def plan_coverage(self, query: dict | None = None) -> dict:
        loaded = load_or_raise(CoverageQuery(), query or {})
        with self.db.read() as session:
            return use_cases.coverage(session, loaded["fiscal_year"], loaded["programme_id"], loaded["issues"])

    @rpc
    def obligations(self, project_id: str | None = None, filters: dict | None = None) -> list:
        loaded = load_or_raise(ObligationFilters(), filters or {})
        with self.db.read() as session:
            return use_cases.list_obligations(session, project_id, loaded, datetime.now(BANGKOK).date())

    @rpc
    def spending_pace(self, filters: dict | None = None) -> dict:
        """Spending pace per fund × fiscal year as of a day (default today in Asia/Bangkok)."""
        loaded = load_or_raise(PaceFilters(), filters or {})
        as_of = loaded.pop("as_of") or datetime.now(BANGKOK).date()
        thresholds = _days(self.config, "REPORTING_PACE_PERCENTS", DEFAULT_PACE_PERCENTS)
        with self.db.read() as session:
            return use_cases.spending_pace_report(session, loaded, as_of, thresholds)

    @rpc
    def idle_balances(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(FundMoneyFilters(), filters or {})
        limit = _number(self.config, "REPORTING_IDLE_MAX_PERCENT", DEFAULT_IDLE_MAX_PERCENT)
        with self.db.read() as session:
            return use_cases.idle_balance_report(session, loaded, limit)

    @rpc
    def mentors(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(MentorFilters(), filters or {})
        limit = _number(self.config, "REPORTING_MENTOR_MAX_FUNDS", DEFAULT_MENTOR_MAX_FUNDS)
        with self.db.read() as session:
            return use_cases.mentors_report(session, loaded, limit)

    @rpc
    def labels(self) -> dict:
        """Thai labels of the codes in the read models (status, issue, owner kind, spending type, report, duty)."""
        return {key: value for key, value in use_cases.LABELS.items() if not key.startswith("_")}

    @rpc
    def export_page(self, filters: dict | None = None, after: str | None = None, limit: int = 2000) -> list:
        """A page of project facts for the gateway's streamed exports (keyset on ``after``)."""
        filters = dict(filters or {})
        funded = bool(filters.pop("funded", False))
        loaded = load_or_raise(SummaryFilters(), filters)
        with self.db.read() as session:
            return use_cases.export_page(session, {**loaded, "funded": funded}, after, max(1, min(int(limit), 10000)))

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}
