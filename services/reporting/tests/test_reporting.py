"""The reporting service on the real broker: read models, obligations, ReportDue once."""

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
)


@pytest.fixture
def reporting_db(amqp_uri, database_url):
    for queue in HANDLERS:
        testing.delete_handler_queues(amqp_uri, queue)
    url = testing.migrated(database_url, kongtun_reporting)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


def start(container_factory, amqp_uri, url):
    config = testing.container_config(amqp_uri, url, REPORTING_CHECK_SECONDS=0.2)
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
    return numbers


def test_read_models_follow_the_lifecycle_and_a_rebuild_gives_the_same_numbers(
    container_factory, amqp_uri, reporting_db
):
    from kongtun_reporting import cli

    url, engine = reporting_db
    container = start(container_factory, amqp_uri, url)
    events = [
        *fund_events("L3363", "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่", ("physical_activity", "waste")),
        *fund_events("L3364", "กองทุนหลักประกันสุขภาพองค์การบริหารส่วนตำบลชะรัด", ("physical_activity",)),
    ]
    running, revoked, cancelled = approved_event(30, 2500000), approved_event(40, 1200050), approved_event(50, 99900)
    started = lifecycle_event("ProjectStarted", running)  # happened after the approval...
    events += [started, running]  # ...but arrives first (another queue)
    events += [revoked, lifecycle_event("ProjectApprovalRevoked", revoked)]
    events += [cancelled, lifecycle_event("ProjectCancelled", cancelled)]
    for event in events:
        testing.publish_event(amqp_uri, event)
    testing.wait_for(lambda: count(engine, orm.event_history) == len(events))
    testing.wait_for(
        lambda: snapshot(container)[1]["projects_by_status"] == {"running": 1, "submitted": 1, "cancelled": 1}
    )

    live = snapshot(container)
    by_issue, by_status, by_fund, by_owner, approved, coverage, obligations = live
    assert by_issue["groups"] == [
        {"key": "physical_activity", "projects": 3, "requested_amount": "37999.50", "approved_amount": "25999.00"}
    ]
    assert by_fund["funds"] == 2
    assert approved["projects"] == 0  # none is merely "approved": one runs, one was revoked, one cancelled
    assert (coverage["funds"], coverage["funds_covered"], coverage["coverage_percent"]) == (2, 1, "50.00")
    assert coverage["programmes"][0]["funds_not_covered"] == ["L3364"]
    assert [item["project_id"] for item in obligations] == [running.data["project_id"]]

    assert_totals_agree_with_facts(engine)

    container.stop()
    replayed, _seconds = cli.rebuild(url)
    assert replayed == len(events)
    container = start(container_factory, amqp_uri, url)
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
