"""The event history and the rebuild of the read models from it (the replay table: what each event type does)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from kongtun_common.engine import utcnow
from kongtun_common.thai import BANGKOK

from .. import orm
from ..domain import DEFAULT_FINANCIAL_REPORT_DAYS
from .fund_obligations import ensure_current_year, record_fund_report, record_plan_duty, remember_fund_notice
from .mentors import record_mentor
from .money import flush_money_batch, record_commitment, record_ledger_entry, record_release
from .obligations import cancel_project, fulfil_obligation, register_obligations, remember_notice, revert_approval
from .projects import recompute_totals, record_fund, record_plan, record_programme_member, record_project


def keep_in_history(uow, event) -> None:
    """Every event of the deployment, as received: the history read models can be rebuilt from."""
    uow.session.execute(
        orm.event_history.insert(),
        {
            "event_id": event.id,
            "type": event.type,
            "source": event.source,
            "subject": event.subject,
            "time": event.time,
            "received_at": utcnow(),
            "envelope": event.to_envelope(),
        },
    )


class _Direct:
    """The session's connection, for the rebuild's many small statements: the same transaction without the ORM
    session's bookkeeping around each statement (the use cases only ever ``execute``)."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, statement, params=None):
        return self.connection.execute(statement, params)

    def get_bind(self):
        return self.connection


# What each event type does to the read models: the live handlers run the same functions, one queue each.
def replay_table(report_days: int = DEFAULT_FINANCIAL_REPORT_DAYS) -> dict:
    return {
        "FundRegistered": (record_fund,),
        "FundJoinedProgramme": (record_programme_member,),
        "PlanApproved": (record_plan, lambda uow, event: record_plan_duty(uow, event, report_days)),
        "ProjectSubmitted": (record_project,),
        "ProjectRevisionRequested": (record_project,),
        "ProjectApproved": (record_project, register_obligations),
        "ProjectRejected": (record_project,),
        "ProjectCancelled": (cancel_project,),
        "ProjectStarted": (record_project,),
        "ProjectSuspended": (record_project,),
        "ProjectResumed": (record_project,),
        "ProjectTerminated": (record_project,),
        "ProjectCompleted": (record_project,),
        "ProjectApprovalRevoked": (revert_approval,),
        "ReportSubmitted": (fulfil_obligation,),
        "FundFinancialReportSubmitted": (lambda uow, event: record_fund_report(uow, event, report_days),),
        "MentorAssigned": (record_mentor,),
        "LedgerEntryRecorded": (record_ledger_entry,),
        "BudgetCommitted": (record_commitment,),
        "BudgetReleased": (record_release,),
    }


def rebuild(
    uow,
    leads,
    steps,
    batch: int = 5000,
    progress=None,
    fund_leads=None,
    report_days: int = DEFAULT_FINANCIAL_REPORT_DAYS,
    today: date | None = None,
) -> int:
    """Empty the read models and replay the whole event history through the same use cases, in the order it
    was received; the notices reporting itself sent (ReportDue, ReportOverdue, FundReportDue, FundReportOverdue,
    also in the history) mark what was announced, so a rebuild announces nothing again.  The running totals
    (project totals, funds' money) are not updated event by event: they are summed once at the end, which gives
    the same numbers (tested).  Returns the number of events replayed."""
    from kongtun_common.events.envelope import Event

    fund_leads = fund_leads if fund_leads is not None else leads
    replay = replay_table(report_days)
    for name in orm.READ_MODELS:
        uow.session.execute(orm.metadata.tables[name].delete())
    uow.totals_later, uow.money_batch = True, {}
    session, uow.session = uow.session, _Direct(uow.session.connection())  # same transaction, less per statement
    history = orm.event_history
    after = None
    replayed = 0
    try:
        while True:
            query = select(history.c.received_at, history.c.event_id, history.c.envelope).order_by(
                history.c.received_at, history.c.event_id
            )
            if after is not None:
                query = query.where(
                    (history.c.received_at > after[0])
                    | ((history.c.received_at == after[0]) & (history.c.event_id > after[1]))
                )
            rows = uow.session.execute(query.limit(batch)).all()
            if not rows:
                break
            for row in rows:
                event = Event.from_envelope(row.envelope)
                if event.name in ("ReportDue", "ReportOverdue"):
                    remember_notice(uow, event, leads, steps)
                elif event.name in ("FundReportDue", "FundReportOverdue"):
                    remember_fund_notice(uow, event, fund_leads, steps, report_days)
                for use_case in replay.get(event.name, ()):
                    use_case(uow, event)
                replayed += 1
            after = (rows[-1].received_at, rows[-1].event_id)
            if progress:
                progress(replayed)
        flush_money_batch(uow)
        recompute_totals(uow.session)
        ensure_current_year(uow, today or datetime.now(BANGKOK).date(), report_days)
    finally:
        uow.totals_later, uow.money_batch, uow.session = False, None, session
    return replayed


REPLAY = replay_table()  # with the default rules (what the live handlers do, by event type)
