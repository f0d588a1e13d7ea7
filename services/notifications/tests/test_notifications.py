"""The notifications service: a ReportDue becomes one reminder, in Thai, with a B.E. date."""

import uuid
from datetime import date

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select

import kongtun_notifications
from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_notifications import orm
from kongtun_notifications.domain import report_due_reminder
from kongtun_notifications.service import NotificationsService

QUEUE = "notifications.remind_report_due"


def report_due(project_id: str, due_date: str = "2024-06-08", days_before_due: int = 3) -> dict:
    facts = testing.sample_project_facts(project_id)
    return {
        "obligation_id": str(uuid.uuid4()),
        "project_id": project_id,
        "project_title": facts["title"],
        **{key: facts[key] for key in ("fund_code", "fund_name", "subdistrict", "district", "province", "region")},
        "report": "final",
        "due_date": due_date,
        "days_before_due": days_before_due,
        "owner": facts["owner"],
    }


def test_the_reminder_text_is_thai_with_a_buddhist_era_date():
    reminder = report_due_reminder("r-1", "e-1", report_due("p-1"), today=date(2024, 6, 5))
    assert reminder.subject == "แจ้งเตือน: รายงานผลการดำเนินงาน (ส.3) ครบกำหนดส่ง 8 มิถุนายน 2567"
    assert "เรียน ชมรมผู้สูงอายุบ้านไร่" in reminder.body
    assert "ภายในวันที่ 8 มิถุนายน 2567 (อีก 3 วัน)" in reminder.body
    assert reminder.recipient_role == "owner" and reminder.language == "th"


@pytest.fixture
def notifications(container_factory, amqp_uri, database_url):
    testing.delete_handler_queues(amqp_uri, QUEUE)
    url = testing.migrated(database_url, kongtun_notifications)
    container = container_factory(NotificationsService, testing.container_config(amqp_uri, url))
    container.start()
    engine = make_engine(url)
    yield container, engine
    engine.dispose()


def test_a_redelivered_report_due_reminds_the_owner_once(notifications, amqp_uri):
    container, engine = notifications
    project_id = str(uuid.uuid4())
    event = testing.make_event("ReportDue", report_due(project_id), subject=project_id, service="reporting")
    duplicates = testing.consumed("notifications", "remind_report_due", event.type, "duplicate")
    testing.publish_event(amqp_uri, event)
    testing.publish_event(amqp_uri, event)

    def reminders():
        with entrypoint_hook(container, "reminders") as list_reminders:
            return list_reminders(project_id)

    testing.wait_for(
        lambda: testing.consumed("notifications", "remind_report_due", event.type, "duplicate") == duplicates + 1
    )
    [reminder] = reminders()
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(orm.reminders)).scalar() == 1
    assert reminder["recipient"] == "ชมรมผู้สูงอายุบ้านไร่"
    assert "2567" in reminder["subject"]


def _count(engine, table):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()
