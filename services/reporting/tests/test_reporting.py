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
