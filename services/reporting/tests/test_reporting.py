"""The reporting service on the real broker: read models, obligations, ReportDue once."""

import time
import uuid
from datetime import datetime, timedelta

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select

import kongtun_reporting
from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_common.thai import BANGKOK
from kongtun_reporting import orm
from kongtun_reporting.service import ReportingService

HANDLERS = (
    "reporting.keep_event_history",
    "reporting.on_fund_registered",
    "reporting.on_project_submitted",
    "reporting.on_project_approved",
    "reporting.register_report_obligations",
    "reporting.on_project_approval_revoked",
    "reporting.on_report_submitted",
    "reporting.on_project_revision_requested",
    "reporting.on_project_rejected",
    "reporting.on_project_cancelled",
    "reporting.on_project_started",
    "reporting.on_project_suspended",
    "reporting.on_project_resumed",
    "reporting.on_project_terminated",
    "reporting.on_project_completed",
    "reporting.on_fund_joined_programme",
    "reporting.on_plan_approved",
    "reporting.clear_annual_plan_duty",
    "reporting.on_fund_financial_report_submitted",
    "reporting.on_mentor_assigned",
    "reporting.on_ledger_entry_recorded",
    "reporting.on_budget_committed",
    "reporting.on_budget_released",
)


@pytest.fixture
def reporting_db(amqp_uri, database_url):
    for queue in HANDLERS:
        testing.delete_handler_queues(amqp_uri, queue)
    url = testing.migrated(database_url, kongtun_reporting)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


def start(container_factory, amqp_uri, url, **extra):
    config = testing.container_config(amqp_uri, url, REPORTING_CHECK_SECONDS=0.2, **extra)
    container = container_factory(ReportingService, config)
    container.start()
    return container


def count(engine, table):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def approved_event(days_to_due: int, amount: int = 2500000):
    project_id = str(uuid.uuid4())
    today = datetime.now(BANGKOK).date()
    end = (today + timedelta(days=days_to_due)).isoformat()
    data = {
        **testing.sample_project_facts(project_id, end_date=end, requested_amount_satang=amount),
        "project_code": "L3363-2567-0001",
        "approved_amount_satang": amount,
        "approved_at": "2024-01-08T09:00:00+00:00",
        "approved_by": "คณะกรรมการกองทุน",
        "meeting_ref": "ครั้งที่ 2/2567",
        "reports_due": [{"report": "final", "period": 1, "due_date": end}],
    }
    return testing.make_event("ProjectApproved", data, subject=project_id, service="projects")


def test_an_approved_project_is_counted_once_and_owes_its_report(container_factory, amqp_uri, reporting_db):
    url, engine = reporting_db
    container = start(container_factory, amqp_uri, url)
    event = approved_event(days_to_due=60, amount=209156700)
    handlers = ("on_project_approved", "register_report_obligations")
    before = [testing.consumed("reporting", handler, event.type, "duplicate") for handler in handlers]
    testing.publish_event(amqp_uri, event)
    testing.publish_event(amqp_uri, event)  # redelivered: each handler sees it twice, applies it once
    testing.wait_for(
        lambda: (
            [testing.consumed("reporting", handler, event.type, "duplicate") for handler in handlers]
            == [value + 1 for value in before]
        )
    )
    assert count(engine, orm.processed_events) == 3  # obligations, read model, history
    with entrypoint_hook(container, "summary") as summary:
        assert summary({}) == {
            "funds": 0,
            "projects": 1,
            "projects_by_status": {"approved": 1},
            "requested_amount": "2091567.00",
            "approved_amount": "2091567.00",
        }
        assert summary({"province": "สงขลา"})["projects"] == 0
    assert count(engine, orm.obligations) == 1


def test_report_due_is_announced_once_even_across_a_restart(container_factory, amqp_uri, reporting_db, event_spy):
    url, engine = reporting_db
    container = start(container_factory, amqp_uri, url)
    event = approved_event(days_to_due=10)
    testing.publish_event(amqp_uri, event)

    [notice] = event_spy.collect(1, event_type="kongtun.ReportDue.v1")
    assert notice["subject"] == event.data["project_id"]
    assert notice["data"]["days_before_due"] == 14
    assert notice["data"]["owner"]["name"] == "ชมรมผู้สูงอายุบ้านไร่"
    assert notice["correlationid"]  # the timer's own correlation id, for tracing

    container.stop()
    start(container_factory, amqp_uri, url)  # restarted: the timer runs again
    duplicates = testing.consumed("reporting", "register_report_obligations", event.type, "duplicate")
    testing.publish_event(amqp_uri, event)  # and the approval is redelivered
    testing.wait_for(
        lambda: testing.consumed("reporting", "register_report_obligations", event.type, "duplicate") == duplicates + 1
    )
    assert event_spy.collect(2, timeout=2.0, event_type="kongtun.ReportDue.v1") == [notice]
    assert count(engine, orm.obligations) == 1


def test_a_revoked_approval_and_a_submitted_report_clear_what_was_owed(container_factory, amqp_uri, reporting_db):
    url, engine = reporting_db
    container = start(container_factory, amqp_uri, url)
    approval = approved_event(days_to_due=60)
    testing.publish_event(amqp_uri, approval)
    project_id = approval.data["project_id"]

    def obligations():
        with entrypoint_hook(container, "obligations") as list_obligations:
            return list_obligations(project_id)

    [owed] = testing.wait_for(obligations)
    report = testing.make_event(
        "ReportSubmitted",
        {
            **{
                key: value
                for key, value in approval.data.items()
                if key not in ("approved_amount_satang", "approved_at", "approved_by", "meeting_ref", "reports_due")
            },
            "report": "final",
            "period": 1,
            "submitted_at": "2024-06-20T09:00:00+00:00",
            "submitted_by": "ชมรมผู้สูงอายุบ้านไร่",
            "spent_satang": None,
            "refund_satang": None,
        },
        subject=project_id,
        service="projects",
    )
    testing.publish_event(amqp_uri, report)
    testing.wait_for(lambda: obligations()[0]["fulfilled_at"])

    revoked = testing.make_event(
        "ProjectApprovalRevoked",
        {
            **{
                key: value
                for key, value in approval.data.items()
                if key not in ("approved_amount_satang", "approved_at", "approved_by", "meeting_ref", "reports_due")
            },
            "revoked_at": "2024-01-09T09:00:00+00:00",
            "reason_code": "insufficient_balance",
            "reason": "กองทุนไม่สามารถกันเงินงบประมาณได้: ยอดเงินคงเหลือไม่พอ",
        },
        subject=project_id,
        service="projects",
    )
    testing.publish_event(amqp_uri, revoked)
    testing.wait_for(lambda: obligations() == [])
    with entrypoint_hook(container, "summary") as summary:
        assert summary({})["projects_by_status"] == {"submitted": 1}


def test_report_overdue_is_announced_once_per_step_across_a_restart_and_a_redelivery(
    container_factory, amqp_uri, reporting_db, event_spy
):
    url, engine = reporting_db
    container = start(container_factory, amqp_uri, url)
    late = approved_event(days_to_due=-8)  # due 8 days ago (Asia/Bangkok): the 7-day step, once
    testing.publish_event(amqp_uri, late)

    [notice] = event_spy.collect(1, event_type="kongtun.ReportOverdue.v1")
    assert notice["subject"] == late.data["project_id"]
    assert notice["data"]["days_overdue"] == 7
    assert notice["data"]["due_date"] == late.data["reports_due"][0]["due_date"]
    assert notice["data"]["owner"]["kind"] == "citizen_group"

    container.stop()
    container = start(container_factory, amqp_uri, url)  # restarted: the timer runs again
    duplicates = testing.consumed("reporting", "register_report_obligations", late.type, "duplicate")
    testing.publish_event(amqp_uri, late)  # and the approval is redelivered
    testing.wait_for(
        lambda: testing.consumed("reporting", "register_report_obligations", late.type, "duplicate") == duplicates + 1
    )
    assert event_spy.collect(2, timeout=2.0, event_type="kongtun.ReportOverdue.v1") == [notice]
    assert event_spy.collect(1, timeout=0.5, event_type="kongtun.ReportDue.v1") == []  # past due is not "due"
    with entrypoint_hook(container, "obligations") as list_obligations:
        [owed] = list_obligations(None, {"state": "overdue"})
        assert (owed["overdue_notices_sent"], owed["days_overdue"]) == ([1, 7], 8)
        assert list_obligations(None, {"state": "due"}) == []


def test_a_report_submitted_before_its_approval_arrives_still_clears_the_obligation(
    container_factory, amqp_uri, reporting_db, event_spy
):
    url, engine = reporting_db
    container = start(container_factory, amqp_uri, url)
    approval = approved_event(days_to_due=-2)  # overdue, but already reported: no ReportOverdue
    applied = testing.consumed("reporting", "on_report_submitted", "kongtun.ReportSubmitted.v1", "applied")
    testing.publish_event(amqp_uri, report_submitted(approval))  # on another queue, it overtook the approval
    testing.wait_for(
        lambda: (
            testing.consumed("reporting", "on_report_submitted", "kongtun.ReportSubmitted.v1", "applied") == applied + 1
        )
    )
    testing.publish_event(amqp_uri, approval)

    def obligations():
        with entrypoint_hook(container, "obligations") as list_obligations:
            return list_obligations(approval.data["project_id"])

    [owed] = testing.wait_for(obligations)
    assert owed["fulfilled_at"].startswith("2024-06-20T09:00:00")
    assert event_spy.collect(1, timeout=1.5, event_type="kongtun.ReportOverdue.v1") == []


def report_submitted(approval, report="final", period=1):
    return testing.make_event(
        "ReportSubmitted",
        {
            **_project_part(approval),
            "report": report,
            "period": period,
            "submitted_at": "2024-06-20T09:00:00+00:00",
            "submitted_by": "ชมรมผู้สูงอายุบ้านไร่",
            "spent_satang": None,
            "refund_satang": None,
        },
        subject=approval.data["project_id"],
        service="projects",
    )


def _project_part(approval):
    skip = ("approved_amount_satang", "approved_at", "approved_by", "meeting_ref", "reports_due")
    return {key: value for key, value in approval.data.items() if key not in skip}


AREA_OF = {"subdistrict": "บ้านไร่", "district": "ศรีนครินทร์", "province": "พัทลุง", "region": 12}
PROGRAMME = str(uuid.uuid4())


def fund_events(code: str, name: str, issues: tuple[str, ...]):
    yield testing.make_event(
        "FundRegistered",
        {"fund_code": code, "name_th": name, "name_en": None, **AREA_OF, "registered_at": "2023-10-01T02:00:00+00:00"},
        subject=code,
        service="funds",
    )
    yield testing.make_event(
        "FundJoinedProgramme",
        {
            "fund_code": code,
            "fund_name": name,
            **AREA_OF,
            "programme_id": PROGRAMME,
            "programme_name": "แผนงานบูรณาการกลไกพัฒนาคุณภาพชีวิตระดับอำเภอ",
            "programme_kind": "district_integration",
            "taxonomy_code": "district_9",
            "agreement_id": str(uuid.uuid4()),
            "joined_on": "2023-10-14",
        },
        subject=code,
        service="funds",
    )
    for issue in issues:
        plan_id = str(uuid.uuid4())
        yield testing.make_event(
            "PlanApproved",
            {
                "plan_id": plan_id,
                "fund_code": code,
                "fund_name": name,
                **AREA_OF,
                "programme_id": PROGRAMME,
                "programme_name": "แผนงานบูรณาการกลไกพัฒนาคุณภาพชีวิตระดับอำเภอ",
                "taxonomy_code": "district_9",
                "issue": issue,
                "issue_name": "ประเด็น",
                "fiscal_year": 2567,
                "approved_on": "2023-12-08",
                "approved_at": "2023-12-08T03:00:00+00:00",
                "approved_by": "คณะกรรมการกองทุน",
                "meeting_ref": "ครั้งที่ 1/2567",
                "late": False,
                "indicators": [
                    {"id": str(uuid.uuid4()), "name": "ร้อยละ", "unit": "ร้อยละ", "baseline": "35", "target": "60"}
                ],
            },
            subject=plan_id,
            service="funds",
        )


def lifecycle_event(name: str, approval, **extra):
    data = {**_project_part(approval), "approved_amount_satang": approval.data["approved_amount_satang"]}
    if name == "ProjectCancelled":
        data.update(cancelled_at="2024-02-01T09:00:00+00:00", cancelled_by="เลขานุการกองทุน", reason="ยกเลิก")
    elif name == "ProjectApprovalRevoked":
        del data["approved_amount_satang"]
        data.update(revoked_at="2024-01-09T09:00:00+00:00", reason_code="insufficient_balance")
        data.update(reason="ยอดเงินคงเหลือไม่พอ")
    else:
        data.update(changed_at="2024-02-01T09:00:00+00:00", changed_by="เลขานุการกองทุน", reason="")
    return testing.make_event(name, {**data, **extra}, subject=approval.data["project_id"], service="projects")


def snapshot(container):
    with entrypoint_hook(container, "summary") as summary:
        numbers = [summary({"group_by": key}) for key in ("issue", "status", "fund_code", "owner_kind")]
        numbers.append(summary({"status": "approved", "group_by": "spending_type"}))
    with entrypoint_hook(container, "plan_coverage") as plan_coverage:
        numbers.append(plan_coverage({"fiscal_year": 2567}))
    with entrypoint_hook(container, "obligations") as list_obligations:
        numbers.append(list_obligations(None, {}))
        numbers.append(list_obligations(None, {"kind": "all"}))
    for as_of in ("2024-04-01", "2024-07-01", "2024-10-01"):
        with entrypoint_hook(container, "spending_pace") as spending_pace:
            numbers.append(spending_pace({"as_of": as_of, "group_by": "district", "per_page": 500}))
    with entrypoint_hook(container, "idle_balances") as idle_balances:
        numbers.append(idle_balances({"group_by": "province", "per_page": 500}))
    with entrypoint_hook(container, "mentors") as mentors:
        numbers.append(mentors({"group_by": "district", "per_page": 500}))
    return numbers


def fund_notices_settled(engine) -> bool:
    """Every open fund duty owed a notice today has had it, and the notice is in the history: no more will come
    today, so the live numbers stand still."""
    from kongtun_reporting.domain import Obligation, due_notice, overdue_notice

    today = today_in_bangkok()
    with engine.connect() as connection:
        rows = connection.execute(select(orm.fund_obligations)).mappings().all()
        kept = connection.execute(
            select(func.count())
            .select_from(orm.event_history)
            .where(orm.event_history.c.type.in_(["kongtun.FundReportDue.v1", "kongtun.FundReportOverdue.v1"]))
        ).scalar()
    owed = [
        row
        for row in rows
        if row["fulfilled_on"] is None
        and (
            due_notice(Obligation(row["id"], "", "", row["due_date"]), today)
            or overdue_notice(Obligation(row["id"], "", "", row["due_date"]), today)
        )
    ]
    announced = [row for row in rows if row["notices_sent"] or row["overdue_notices_sent"]]
    return kept == len(announced) and all(row["notices_sent"] or row["overdue_notices_sent"] for row in owed)


def test_read_models_follow_the_lifecycle_and_a_rebuild_gives_the_same_numbers(
    container_factory, amqp_uri, reporting_db
):
    from kongtun_reporting import cli

    url, engine = reporting_db
    no_window = {"REPORTING_OVERDUE_WINDOW_DAYS": 0}  # FY 2567's duties are announced: the rebuild must mark them
    container = start(container_factory, amqp_uri, url, **no_window)
    events = [
        *fund_events("L3363", "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่", ("physical_activity", "waste")),
        *fund_events("L3364", "กองทุนหลักประกันสุขภาพองค์การบริหารส่วนตำบลชะรัด", ("physical_activity",)),
    ]
    running, revoked, cancelled = approved_event(30, 2500000), approved_event(40, 1200050), approved_event(50, 99900)
    started = lifecycle_event("ProjectStarted", running)  # happened after the approval...
    events += [started, running]  # ...but arrives first (another queue)
    events += [revoked, lifecycle_event("ProjectApprovalRevoked", revoked)]
    events += [cancelled, lifecycle_event("ProjectCancelled", cancelled)]
    mentor = str(uuid.uuid4())
    events += [*money_events(), mentor_assigned(mentor, "นายสมชาย ใจดี", "L3363"), financial_report("L3363", 2567, 2)]
    events += [mentor_assigned(mentor, "นายสมชาย ใจดี", code) for code in ("L3364", "L3365")]
    for event in events:
        testing.publish_event(amqp_uri, event)
    testing.wait_for(lambda: count(engine, orm.event_history) >= len(events))
    # three known funds (L3365 through its mentor) owe FY 2567 (seen in plans) and the current year (the timer)
    testing.wait_for(lambda: count(engine, orm.fund_obligations) == 25, timeout=15)
    testing.wait_for(lambda: fund_notices_settled(engine), timeout=15)
    testing.wait_for(
        lambda: snapshot(container)[1]["projects_by_status"] == {"running": 1, "submitted": 1, "cancelled": 1}
    )

    live = snapshot(container)
    by_issue, by_status, by_fund, by_owner, approved, coverage, obligations = live[:7]
    assert by_issue["groups"] == [
        {"key": "physical_activity", "projects": 3, "requested_amount": "37999.50", "approved_amount": "25999.00"}
    ]
    assert by_fund["funds"] == 3  # L3365 is known through its mentor
    assert approved["projects"] == 0  # none is merely "approved": one runs, one was revoked, one cancelled
    assert (coverage["funds"], coverage["funds_covered"], coverage["coverage_percent"]) == (2, 1, "50.00")
    assert coverage["programmes"][0]["funds_not_covered"] == ["L3364"]
    assert [item["project_id"] for item in obligations] == [running.data["project_id"]]

    assert_totals_agree_with_facts(engine)

    container.stop()
    replayed, _seconds = cli.rebuild(url)
    assert replayed == count(engine, orm.event_history) > len(events)  # with the notices reporting sent
    container = start(container_factory, amqp_uri, url, **no_window)
    assert snapshot(container) == live


def assert_totals_agree_with_facts(engine):
    """The running totals answer every summary they can exactly as the project facts do."""
    from sqlalchemy.orm import Session

    from kongtun_reporting import use_cases

    questions = [
        {"group_by": group_by, **filters}
        for group_by in (None, "status", "issue", "spending_type", "owner_kind", "district", "province", "region")
        for filters in (
            {},
            {"fiscal_year": 2567},
            {"status": "running"},
            {"province": "พัทลุง", "issue": "waste"},
            {"spending_type": 2},
            {"region": 12, "owner_kind": "citizen_group"},
        )
    ]
    with Session(engine) as session:
        for question in questions:
            assert use_cases.summary(session, question) == use_cases.summary(session, question, use_totals=False), (
                question
            )
        assert use_cases.summary(session, {"group_by": "issue"})["groups"][0]["projects"] == 3
        live = [use_cases.summary(session, question) for question in questions]
        use_cases.recompute_totals(session)  # the bulk path gives the same totals as the running ones
        assert [use_cases.summary(session, question) for question in questions] == live
        session.rollback()


# ------------------------------------------------------------------ fund-level duties, money, mentors


def fund_place(code: str, name: str | None = None, **area) -> dict:
    return {"fund_code": code, "fund_name": name or f"กองทุนหลักประกันสุขภาพตำบล {code}", **AREA_OF, **area}


def fund_registered(code: str, **area):
    place = fund_place(code, **area)
    data = {key: value for key, value in place.items() if key != "fund_name"}
    return testing.make_event(
        "FundRegistered",
        {**data, "name_th": place["fund_name"], "name_en": None, "registered_at": "2023-10-01T02:00:00+00:00"},
        subject=code,
        service="funds",
    )


def plan_approved(code: str, fiscal_year: int, approved_on: str = "2023-12-08"):
    plan_id = str(uuid.uuid4())
    return testing.make_event(
        "PlanApproved",
        {
            "plan_id": plan_id,
            **fund_place(code),
            "programme_id": PROGRAMME,
            "programme_name": "แผนงานบูรณาการกลไกพัฒนาคุณภาพชีวิตระดับอำเภอ",
            "taxonomy_code": "district_9",
            "issue": "waste",
            "issue_name": "ขยะ",
            "fiscal_year": fiscal_year,
            "approved_on": approved_on,
            "approved_at": f"{approved_on}T03:00:00+00:00",
            "approved_by": "คณะกรรมการกองทุน",
            "meeting_ref": "ครั้งที่ 1",
            "late": False,
            "indicators": [{"id": str(uuid.uuid4()), "name": "ร้อยละ", "unit": "ร้อยละ", "baseline": "1", "target": "2"}],
        },
        subject=plan_id,
        service="funds",
    )


def financial_report(code: str, fiscal_year: int, quarter: int, submitted_at: str = "2024-01-10T03:00:00+00:00"):
    from kongtun_reporting.domain import fiscal_year_bounds, quarter_end

    return testing.make_event(
        "FundFinancialReportSubmitted",
        {
            "report_id": str(uuid.uuid4()),
            **fund_place(code),
            "fiscal_year": fiscal_year,
            "quarter": quarter,
            "period_start": fiscal_year_bounds(fiscal_year)[0].isoformat(),
            "period_end": quarter_end(fiscal_year, quarter).isoformat(),
            "income_satang": 0,
            "spending_satang": 0,
            "balance_satang": 0,
            "submitted_by": "นางสาวสมศรี ใจดี",
            "submitted_at": submitted_at,
        },
        subject=code,
        service="funds",
    )


BALANCES = {"income_satang": 0, "committed_satang": 0, "available_satang": 0}


def ledger_entry(code, fiscal_year, kind, amount, entry_date, commitment_id=None, **area):
    codes = {"income": 40100, "refund": 40500, "disbursement": 50200}
    return testing.make_event(
        "LedgerEntryRecorded",
        {
            "entry_id": str(uuid.uuid4()),
            **fund_place(code, **area),
            "fiscal_year": fiscal_year,
            "kind": kind,
            "code": codes[kind],
            "amount_satang": amount,
            "entry_date": entry_date,
            "description": "",
            "project_id": None,
            "commitment_id": commitment_id,
            "recorded_at": "2024-01-10T03:00:00+00:00",
            "balances": BALANCES,
        },
        subject=code,
        service="funds",
    )


def budget_event(name, code, fiscal_year, amount, commitment_id, **area):
    data = {
        **fund_place(code, **area),
        "project_id": str(uuid.uuid4()),
        "project_code": f"{code}-{fiscal_year}-0001",
        "fiscal_year": fiscal_year,
        "spending_type": 2,
        "amount_satang": amount,
        "commitment_id": commitment_id,
        "balances": BALANCES,
    }
    if name == "BudgetCommitted":
        data["committed_at"] = "2024-01-10T03:00:00+00:00"
    else:
        data.update(released_at="2024-05-10T03:00:00+00:00", reason="project_cancelled")
    return testing.make_event(name, data, subject=data["project_id"], service="funds")


def mentor_assigned(mentor_id, name, code, level="fund", **area):
    return testing.make_event(
        "MentorAssigned",
        {
            "mentor_id": mentor_id,
            "mentor_name": name,
            "level": level,
            **fund_place(code, **area),
            "assigned_at": "2023-11-01T03:00:00+00:00",
        },
        subject=code,
        service="funds",
    )


def today_in_bangkok():
    return datetime.now(BANGKOK).date()


def test_fund_duties_are_announced_once_each_across_a_restart_and_a_redelivery(
    container_factory, amqp_uri, reporting_db, event_spy
):
    """Every known fund owes the current fiscal year's annual plan and four financial reports from the timer's
    first tick; each gets one notice (due ahead, or overdue once past), never a second one."""
    from kongtun_reporting.domain import fiscal_year_of, fund_duties

    url, engine = reporting_db
    today = today_in_bangkok()
    fiscal_year = fiscal_year_of(today)
    duties = fund_duties(fiscal_year)
    upcoming = [duty for duty in duties if duty[2] >= today]
    past = [duty for duty in duties if duty[2] < today]
    config = {"REPORTING_FUND_DUE_LEADS": "400"}  # every upcoming duty of the year is within the lead
    container = container_factory(
        ReportingService, testing.container_config(amqp_uri, url, REPORTING_CHECK_SECONDS=0.2, **config)
    )
    container.start()
    registered = fund_registered("L3363")
    testing.publish_event(amqp_uri, registered)

    due = event_spy.collect(len(upcoming), event_type="kongtun.FundReportDue.v1")
    overdue = event_spy.collect(len(past), event_type="kongtun.FundReportOverdue.v1")
    assert sorted((n["data"]["duty"], n["data"]["quarter"], n["data"]["due_date"]) for n in due) == sorted(
        (duty, quarter, day.isoformat()) for duty, quarter, day in upcoming
    )
    assert {n["data"]["days_before_due"] for n in due} <= {400}
    assert all(n["data"]["fiscal_year"] == fiscal_year and n["subject"] == "L3363" for n in due + overdue)
    assert all(n["data"]["province"] == "พัทลุง" and n["data"]["region"] == 12 for n in due + overdue)
    assert count(engine, orm.fund_obligations) == 5

    container.stop()
    container = container_factory(
        ReportingService, testing.container_config(amqp_uri, url, REPORTING_CHECK_SECONDS=0.2, **config)
    )
    container.start()  # restarted: the timer runs again
    duplicates = testing.consumed("reporting", "on_fund_registered", registered.type, "duplicate")
    testing.publish_event(amqp_uri, registered)  # and the registration is redelivered
    testing.wait_for(
        lambda: testing.consumed("reporting", "on_fund_registered", registered.type, "duplicate") == duplicates + 1
    )
    time.sleep(1.0)  # several ticks
    assert event_spy.collect(len(upcoming) + 1, timeout=1.0, event_type="kongtun.FundReportDue.v1") == due
    assert event_spy.collect(len(past) + 1, timeout=0.5, event_type="kongtun.FundReportOverdue.v1") == overdue
    assert count(engine, orm.fund_obligations) == 5
    with entrypoint_hook(container, "obligations") as list_obligations:
        listed = list_obligations(None, {"kind": "fund"})
        assert len(listed) == 5 and {item["kind"] for item in listed} == {"fund"}
        assert all(item["notices_sent"] == [400] for item in listed if item["due_date"] >= today.isoformat())
        assert list_obligations(None, {}) == []  # the default stays the projects' reports


def test_a_plan_or_financial_report_clears_its_duty_even_when_it_arrives_first(
    container_factory, amqp_uri, reporting_db, event_spy
):
    from kongtun_reporting.domain import fiscal_year_of

    url, engine = reporting_db
    no_window = {"REPORTING_OVERDUE_WINDOW_DAYS": 0}  # the old year's duties are announced, however long overdue
    container = start(container_factory, amqp_uri, url, **no_window)
    fiscal_year = fiscal_year_of(today_in_bangkok())
    old_year = fiscal_year - 3
    early = [
        plan_approved("L3364", fiscal_year, approved_on="2020-01-02"),  # before the fund is known to reporting
        financial_report("L3364", fiscal_year, 1),
        financial_report("L3364", old_year, 2, submitted_at=f"{old_year - 543}-05-20T03:00:00+00:00"),
    ]
    for event in early:
        testing.publish_event(amqp_uri, event)
    testing.wait_for(lambda: count(engine, orm.fund_obligations) == 10)  # the two fiscal years seen
    testing.publish_event(amqp_uri, fund_registered("L3364"))
    testing.publish_event(amqp_uri, plan_approved("L3364", fiscal_year, approved_on="2020-01-05"))  # a second plan

    # the old year: its annual plan and Q1, Q3, Q4 reports were never sent, once each at the latest step
    def old_year_overdue():
        notices = event_spy.collect(99, timeout=0.2, event_type="kongtun.FundReportOverdue.v1")
        return [notice for notice in notices if notice["data"]["fiscal_year"] == old_year]

    overdue = testing.wait_for(lambda: len(old_year_overdue()) >= 4 and old_year_overdue())
    assert sorted((n["data"]["duty"], n["data"]["quarter"]) for n in overdue) == [
        ("annual_plan", None),
        ("quarterly_financial_report", 1),
        ("quarterly_financial_report", 3),
        ("quarterly_financial_report", 4),
    ]
    assert {n["data"]["days_overdue"] for n in overdue} == {30}

    container.stop()
    container = start(container_factory, amqp_uri, url, **no_window)  # restarted: the timer runs again
    handler, report = "on_fund_financial_report_submitted", early[2]
    duplicates = testing.consumed("reporting", handler, report.type, "duplicate")
    testing.publish_event(amqp_uri, report)  # and the old year's report is redelivered
    testing.wait_for(lambda: testing.consumed("reporting", handler, report.type, "duplicate") == duplicates + 1)
    time.sleep(1.0)  # several ticks
    assert sorted(map(str, old_year_overdue())) == sorted(map(str, overdue))  # nothing announced twice

    def listed(**filters):
        with entrypoint_hook(container, "obligations") as list_obligations:
            return list_obligations(None, {"kind": "fund", **filters})

    testing.wait_for(lambda: len(listed(fiscal_year=fiscal_year)) == 5)
    [plan] = listed(duty="annual_plan", fiscal_year=fiscal_year)
    assert plan["fulfilled_on"] == "2020-01-02"  # the first approval clears it; the later one changes nothing
    assert plan["label_th"] == f"แผนงานประจำปีผ่านความเห็นชอบของคณะกรรมการกองทุน ปีงบประมาณ {fiscal_year}"
    [q1] = listed(duty="quarterly_financial_report", fiscal_year=fiscal_year, state="fulfilled")
    assert (q1["quarter"], q1["label_th"]) == (1, f"รายงานการเงินรายไตรมาส ไตรมาสที่ 1 ปีงบประมาณ {fiscal_year}")
    assert [item["quarter"] for item in listed(fiscal_year=old_year, state="overdue")] == [None, 1, 3, 4]
    assert [item["quarter"] for item in listed(fiscal_year=old_year, state="late")] == [2]  # sent after 30 days
    assert listed(fiscal_year=old_year, state="due") == []
    assert not any(
        (n["data"]["fiscal_year"], n["data"]["duty"], n["data"]["quarter"]) in ((fiscal_year, "annual_plan", None),)
        for n in event_spy.collect(99, timeout=1.0)
        if n["type"].startswith("kongtun.FundReport")
    )


def money_events():
    """L3363: 100,000 baht of money in FY 2567, 15,200 spent by the end of Q2 (behind), 50,199.99 by Q3 (on pace),
    committed 30,000 of which 10,000 paid and 5,000 released.  L3365 (another district): 100 baht income, idle.
    L3363 carried 1,000 baht from FY 2566."""
    commitment = str(uuid.uuid4())
    other = {"subdistrict": "ชะรัด", "district": "กงหรา"}
    return [
        ledger_entry("L3363", 2566, "income", 1_000_00, "2023-01-05"),
        ledger_entry("L3363", 2567, "income", 90_000_00, "2023-10-05"),
        ledger_entry("L3363", 2567, "refund", 9_000_00, "2024-02-05"),
        ledger_entry("L3363", 2567, "disbursement", 5_000_00, "2023-11-05"),
        ledger_entry("L3363", 2567, "disbursement", 10_200_00, "2024-03-31", commitment_id=commitment),
        ledger_entry("L3363", 2567, "disbursement", 4_999_99 + 5_000_00, "2024-05-05"),
        ledger_entry("L3363", 2567, "disbursement", 25_000_00, "2024-06-30"),
        ledger_entry("L3363", 2567, "disbursement", 77_00, "2024-10-02"),  # dated after the year
        budget_event("BudgetCommitted", "L3363", 2567, 30_000_00, commitment),
        budget_event("BudgetReleased", "L3363", 2567, 5_000_00, commitment),
        ledger_entry("L3365", 2567, "income", 100_00, "2023-10-05", **other),
    ]


def test_spending_pace_and_idle_balance_follow_the_ledger_events(container_factory, amqp_uri, reporting_db):
    from datetime import date

    url, engine = reporting_db
    container = start(container_factory, amqp_uri, url)
    events = money_events()
    for event in events:
        testing.publish_event(amqp_uri, event)
    testing.publish_event(amqp_uri, events[3])  # redelivered: counted once
    testing.wait_for(lambda: count(engine, orm.event_history) == len(events))

    def pace(**filters):
        with entrypoint_hook(container, "spending_pace") as spending_pace:
            return spending_pace(filters)

    testing.wait_for(lambda: pace(fund_code="L3363", fiscal_year=2567)["items"][0]["spent"] == "50276.99")
    [row] = pace(fund_code="L3363", fiscal_year=2567, as_of="2024-04-01")["items"]
    # money = 1,000 carried + 99,000 income; spent by the end of Q2 = 5,000 + 10,200 = 15,200 → behind 20 %
    assert (row["carried"], row["income"], row["money"]) == ("1000.00", "99000.00", "100000.00")
    assert (row["evaluated_quarter"], row["spent_percent"], row["behind"]) == (2, "15.20", True)
    [row] = pace(fund_code="L3363", fiscal_year=2567, as_of="2024-07-01")["items"]
    assert [(q["quarter"], q["spent"], q["behind"]) for q in row["quarters"]] == [
        (2, "15200.00", True),
        (3, "50199.99", False),
    ]
    assert row["behind"] is False
    [row] = pace(fund_code="L3363", fiscal_year=2567, as_of=date(2024, 10, 1).isoformat())["items"]
    assert (row["evaluated_quarter"], row["quarters"][-1]["spent"], row["behind"]) == (4, "50199.99", True)
    rolled = pace(fiscal_year=2567, as_of="2024-04-01", group_by="district")
    assert rolled["groups"] == [
        {"key": "กงหรา", "fiscal_year": 2567, "funds": 1, "behind": 1},  # nothing spent of its 100 baht
        {"key": "ศรีนครินทร์", "fiscal_year": 2567, "funds": 1, "behind": 1},
    ]
    assert [item["fund_code"] for item in pace(fiscal_year=2567, as_of="2024-03-31")["items"]] == ["L3363", "L3365"]
    assert pace(fiscal_year=2567, as_of="2024-03-31", behind=True)["items"] == []  # no quarter ended yet
    assert pace(province="ยะลา")["total"] == 0

    with entrypoint_hook(container, "idle_balances") as idle_balances:
        ours = idle_balances({"fund_code": "L3363", "fiscal_year": 2567})["items"][0]
        # committed 30,000 - 10,200 paid - 5,000 released = 14,800; available = 100,000 - 14,800 - 50,276.99
        assert (ours["committed"], ours["available"], ours["available_percent"]) == ("14800.00", "34923.01", "34.92")
        assert ours["flagged"] is True
        flagged = idle_balances({"fiscal_year": 2567, "flagged": True, "group_by": "province"})
        assert flagged["total"] == 2 and flagged["groups"] == [
            {"key": "พัทลุง", "fiscal_year": 2567, "funds": 2, "flagged": 2}
        ]
        assert idle_balances({"fiscal_year": 2566})["items"][0]["available"] == "1000.00"
        page = idle_balances({"per_page": 1, "page": 2})
        assert (page["total"], len(page["items"]), page["items"][0]["fiscal_year"]) == (3, 1, 2567)


def test_mentors_per_fund_are_counted_once_and_overloaded_mentors_are_named(container_factory, amqp_uri, reporting_db):
    url, engine = reporting_db
    container = start(container_factory, amqp_uri, url)
    busy, calm = str(uuid.uuid4()), str(uuid.uuid4())
    events = [fund_registered(code) for code in ("L3363", "L3364", "L3365", "L3366")]
    events += [mentor_assigned(busy, "นายสมชาย ใจดี", code, "provincial") for code in ("L3363", "L3364", "L3365")]
    events.append(mentor_assigned(calm, "นางสาวสมศรี รักดี", "L3363"))
    for event in events + events[-2:]:  # two redelivered
        testing.publish_event(amqp_uri, event)
    testing.wait_for(lambda: count(engine, orm.mentor_assignments) == 4)

    with entrypoint_hook(container, "mentors") as mentors:
        report = mentors({"group_by": "district"})
        assert (report["funds"], report["mentors"], report["funds_without_mentor"]) == (4, 2, ["L3366"])
        [over] = report["mentors_over_limit"]
        assert (over["mentor_name"], over["fund_count"], over["funds"]) == (
            "นายสมชาย ใจดี",
            3,
            ["L3363", "L3364", "L3365"],
        )
        first = report["items"][0]
        assert (first["fund_code"], first["mentor_count"]) == ("L3363", 2)
        assert {mentor["level_th"] for mentor in first["mentors"]} == {"พี่เลี้ยงระดับจังหวัด", "พี่เลี้ยงระดับกองทุน"}
        assert report["groups"] == [{"key": "ศรีนครินทร์", "funds": 4, "funds_without_mentor": 1, "assignments": 4}]
        assert [item["fund_code"] for item in mentors({"without_mentor": True})["items"]] == ["L3366"]
        assert mentors({"province": "ยะลา"})["funds"] == 0


def test_duties_and_reports_long_overdue_are_shown_but_not_announced(
    container_factory, amqp_uri, reporting_db, event_spy
):
    """By default nothing more than 90 days overdue is announced: an old year's plans and reports, imported or
    replayed now, are listed as overdue, while a report 8 days overdue is still announced."""
    from kongtun_reporting.domain import fiscal_year_of

    url, engine = reporting_db
    container = start(container_factory, amqp_uri, url)
    old_year = fiscal_year_of(today_in_bangkok()) - 3
    testing.publish_event(amqp_uri, fund_registered("L3364"))
    testing.publish_event(
        amqp_uri, financial_report("L3364", old_year, 2, submitted_at=f"{old_year - 543}-05-20T03:00:00+00:00")
    )
    testing.publish_event(amqp_uri, approved_event(days_to_due=-8))  # a project's report, 8 days overdue

    [recent] = event_spy.collect(1, event_type="kongtun.ReportOverdue.v1")
    assert recent["data"]["days_overdue"] == 7

    def listed(**filters):
        with entrypoint_hook(container, "obligations") as list_obligations:
            return list_obligations(None, {"kind": "fund", "fiscal_year": old_year, **filters})

    testing.wait_for(lambda: len(listed()) == 5)
    time.sleep(1.0)  # several ticks
    assert [item["quarter"] for item in listed(state="overdue")] == [None, 1, 3, 4]
    assert all(item["overdue_notices_sent"] == [] for item in listed(state="overdue"))
    assert event_spy.collect(1, timeout=0.5, event_type="kongtun.FundReportOverdue.v1") == []
