"""The notifications service in a nameko container on the real broker, SQLite and PostgreSQL, with a real
SMTP server and a real webhook receiver (processes on loopback): events become messages, exactly once in
effect; webhooks are signed, retried with backoff, disabled after persistent failure and re-enabled."""

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select

import kongtun_notifications
from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_common.errors import InvalidInput
from kongtun_notifications import orm
from kongtun_notifications.domain import BANGKOK, report_due_reminder
from kongtun_notifications.service import NotificationsService
from kongtun_notifications.transports import DELIVERY_HEADER, SIGNATURE_HEADER, verify

QUEUES = [
    "notifications.remind_report_due",
    "notifications.remind_report_overdue",
    "notifications.tell_project_submitted",
    "notifications.tell_project_approved",
    "notifications.tell_project_revision_requested",
    "notifications.tell_project_rejected",
]
OWNER = "ชมรมผู้สูงอายุบ้านไร่"


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


def submitted(project_id: str) -> dict:
    return {
        **testing.sample_project_facts(project_id),
        "submitted_at": "2024-01-08T03:00:00+00:00",
        "submitted_by": "เจ้าหน้าที่กองทุน",
    }


def approved(project_id: str) -> dict:
    return {
        **testing.sample_project_facts(project_id),
        "project_code": "L3363-2567-0001",
        "approved_amount_satang": 2400000,
        "approved_at": "2024-01-20T03:00:00+00:00",
        "approved_by": "คณะกรรมการกองทุน",
        "meeting_ref": "ครั้งที่ 2/2567",
        "reports_due": [{"report": "final", "due_date": "2024-06-08"}],
    }


def test_the_reminder_text_is_thai_with_a_buddhist_era_date():
    reminder = report_due_reminder("r-1", "e-1", report_due("p-1"), today=date(2024, 6, 5))
    assert reminder.subject == "แจ้งเตือน: รายงานผลการดำเนินงาน (ส.3) ครบกำหนดส่ง 8 มิถุนายน 2567"
    assert "เรียน ชมรมผู้สูงอายุบ้านไร่" in reminder.body
    assert "ภายในวันที่ 8 มิถุนายน 2567 (อีก 3 วัน)" in reminder.body
    assert reminder.recipient_role == "owner" and reminder.language == "th"


@pytest.fixture
def service(container_factory, amqp_uri, database_url, smtp):
    for queue in QUEUES:
        testing.delete_handler_queues(amqp_uri, queue)
    url = testing.migrated(database_url, kongtun_notifications)
    engine = make_engine(url)

    def start(**overrides):
        config = testing.container_config(
            amqp_uri,
            url,
            NOTIFICATIONS_SMTP_PORT=smtp.port,
            NOTIFICATIONS_SEND_INTERVAL_SECONDS=0.1,
            NOTIFICATIONS_RETRY_BASE_SECONDS=0.3,
            NOTIFICATIONS_MAX_ATTEMPTS=4,
            **overrides,
        )
        container = container_factory(NotificationsService, config)
        container.start()
        return container

    start.engine = engine
    yield start
    engine.dispose()


def call(container, method, *args):
    with entrypoint_hook(container, method) as hook:
        return hook(*args)


def rows(engine, table, *where):
    with engine.connect() as connection:
        return connection.execute(select(table).where(*where)).mappings().all()


def test_a_redelivered_report_due_reminds_the_owner_once(service, amqp_uri):
    container = service()
    project_id = str(uuid.uuid4())
    event = testing.make_event("ReportDue", report_due(project_id), subject=project_id, service="reporting")
    duplicates = testing.consumed("notifications", "remind_report_due", event.type, "duplicate")
    testing.publish_event(amqp_uri, event)
    testing.publish_event(amqp_uri, event)

    testing.wait_for(
        lambda: testing.consumed("notifications", "remind_report_due", event.type, "duplicate") == duplicates + 1
    )
    [reminder] = call(container, "reminders", project_id)
    with service.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(orm.notifications)).scalar() == 1
    assert reminder["recipient"] == OWNER and reminder["channel"] == "record"
    assert "2567" in reminder["subject"]


def test_a_redelivered_report_due_emails_the_registered_owner_and_mentor_once_each(service, amqp_uri, smtp, servers):
    container = service()
    owner = call(
        container,
        "register_recipient",
        {"name": OWNER, "email": "club@banrai.example", "roles": [{"scope": "L3363", "role": "owner"}]},
    )
    call(
        container,
        "register_recipient",
        {
            "name": "Ms. Mali",
            "email": "mali@example.org",
            "language": "en",
            "roles": [{"scope": "L3363", "role": "mentor"}],
        },
    )
    project_id = str(uuid.uuid4())
    event = testing.make_event("ReportDue", report_due(project_id), subject=project_id, service="reporting")
    for _ in range(3):
        testing.publish_event(amqp_uri, event)

    mails = smtp.wait_for(2)
    time.sleep(1.0)  # time for a wrong second copy to arrive
    assert len(smtp.received()) == 2
    to_owner = smtp.to("club@banrai.example")[0]
    assert to_owner["Subject"] == "แจ้งเตือน: รายงานผลการดำเนินงาน (ส.3) ครบกำหนดส่ง 8 มิถุนายน 2567"
    assert servers.text_of(to_owner).startswith(f"เรียน {OWNER}\n")
    to_mentor = smtp.to("mali@example.org")[0]
    assert to_mentor["Subject"] == "Reminder: final report (S.3) due 8 June 2024"
    assert "Please follow the project up with its owner." in servers.text_of(to_mentor)
    assert {mail["Message-ID"] for mail in mails} == {
        f"<{row['id']}@region12.kongtun.local>" for row in rows(service.engine, orm.deliveries)
    }
    [mine] = call(container, "recipient_notifications", owner["id"])
    assert mine["deliveries"][0]["status"] == "sent" and mine["deliveries"][0]["attempts"] == 1


def test_proposals_and_decisions_reach_officer_committee_and_proposer_by_preference(service, amqp_uri, smtp, servers):
    container = service()
    now = datetime.now(BANGKOK)
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    people = {
        "officer": {"name": "นางสาวสมศรี ใจดี", "email": "officer@banrai.example", "role": "officer"},
        "member": {"name": "Mr. Preecha", "email": "preecha@example.org", "role": "committee", "language": "en"},
        "sleeper": {"name": "นายหลับ ใหล", "email": "sleep@example.org", "role": "committee", "quiet_hours": quiet},
        "gone": {"name": "นายไม่รับ ข่าว", "email": "gone@example.org", "role": "committee"},
        "owner": {"name": OWNER, "email": "club@banrai.example", "role": "owner"},
    }
    ids = {}
    for key, person in people.items():
        role = person.pop("role")
        ids[key] = call(container, "register_recipient", {**person, "roles": [{"scope": "L3363", "role": role}]})["id"]
    call(container, "unsubscribe", ids["gone"])

    project_id = str(uuid.uuid4())
    testing.publish_event(amqp_uri, testing.make_event("ProjectSubmitted", submitted(project_id), subject=project_id))
    smtp.wait_for(2)
    officer_mail = smtp.to("officer@banrai.example")[0]
    assert (
        officer_mail["Subject"]
        == "โครงการเสนอใหม่ของกองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่: โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ"
    )
    assert "เมื่อวันที่ 8 มกราคม 2567 ขอรับงบประมาณ 25,000.00 บาท" in servers.text_of(officer_mail)
    assert smtp.to("preecha@example.org")[0]["Subject"].startswith("New proposal for ")

    # Quiet hours: held until they end; unsubscribed: recorded in the app, never sent.
    [held] = call(container, "recipient_notifications", ids["sleeper"])
    release = datetime.fromisoformat(held["deliveries"][0]["next_attempt_at"]).astimezone(BANGKOK)
    assert held["deliveries"][0]["status"] == "pending" and release.strftime("%H:%M") == quiet["end"]
    [unsent] = call(container, "recipient_notifications", ids["gone"])
    assert unsent["deliveries"] == [] and unsent["kind"] == "ProjectSubmitted"

    testing.publish_event(amqp_uri, testing.make_event("ProjectApproved", approved(project_id), subject=project_id))
    smtp.wait_for(3)
    [approval] = smtp.to("club@banrai.example")
    assert approval["Subject"] == "โครงการได้รับอนุมัติ: โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ"
    assert "(L3363-2567-0001) งบประมาณ 24,000.00 บาท" in servers.text_of(approval)
    assert not smtp.to("sleep@example.org") and not smtp.to("gone@example.org")


def test_webhooks_are_signed_retried_with_backoff_disabled_and_re_enabled_by_their_owner(service, amqp_uri, receiver):
    container = service()
    receiver.answer(500)
    subscription = call(
        container,
        "subscribe_webhook",
        {"owner": "ทีมระบบจังหวัดพัทลุง", "url": receiver.url, "types": ["ProjectSubmitted"], "fund_codes": ["L3363"]},
    )
    secret = subscription["secret"]
    first = str(uuid.uuid4())
    testing.publish_event(amqp_uri, testing.make_event("ProjectSubmitted", submitted(first), subject=first))
    tries = receiver.wait_for(4)
    testing.wait_for(lambda: call(container, "get_webhook", subscription["id"])["status"] == "disabled")

    assert len({hit["headers"][DELIVERY_HEADER] for hit in tries}) == 1  # one delivery, four attempts
    assert len({hit["body"] for hit in tries}) == 1
    for hit in tries:
        assert verify(secret, hit["headers"][SIGNATURE_HEADER], hit["body"].encode(), now=hit["at"])
        assert not verify("not-the-secret", hit["headers"][SIGNATURE_HEADER], hit["body"].encode(), now=hit["at"])
    body = json.loads(tries[0]["body"])
    assert body["type"] == "ProjectSubmitted" and body["data"]["project_id"] == first
    assert body["id"] == tries[0]["headers"][DELIVERY_HEADER]
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(tries, tries[1:], strict=False)]
    assert gaps[0] >= 0.3 * 0.9 and gaps[1] >= 0.6 * 0.9 and gaps[2] >= 1.2 * 0.9, gaps
    assert gaps[0] < gaps[1] < gaps[2]

    [log] = call(container, "webhook_deliveries", subscription["id"])
    assert log["status"] == "failed" and [entry["status_code"] for entry in log["log"]] == [500] * 4

    # While disabled, new events wait (suspended) and nothing is sent.
    second = str(uuid.uuid4())
    testing.publish_event(amqp_uri, testing.make_event("ProjectSubmitted", submitted(second), subject=second))
    testing.wait_for(lambda: len(call(container, "webhook_deliveries", subscription["id"])) == 2)
    time.sleep(0.5)
    assert len(receiver.received()) == 4
    assert call(container, "webhook_deliveries", subscription["id"])[1]["status"] == "suspended"

    with pytest.raises(InvalidInput):
        call(container, "enable_webhook", subscription["id"], {"secret": "guess"})
    receiver.answer(200)
    assert call(container, "enable_webhook", subscription["id"], {"secret": secret})["status"] == "active"
    resent = receiver.wait_for(6)[4:]
    assert {json.loads(hit["body"])["data"]["project_id"] for hit in resent} == {first, second}
    testing.wait_for(
        lambda: [d["status"] for d in call(container, "webhook_deliveries", subscription["id"])] == ["sent", "sent"]
    )


def test_a_crash_mid_send_is_retried_with_the_same_delivery_id_never_lost(service, amqp_uri, receiver):
    container = service(NOTIFICATIONS_LEASE_SECONDS=1)
    receiver.answer(200, delay=5)
    subscription = call(
        container, "subscribe_webhook", {"owner": "integrator", "url": receiver.url, "types": ["ReportDue"]}
    )
    project_id = str(uuid.uuid4())
    testing.publish_event(
        amqp_uri, testing.make_event("ReportDue", report_due(project_id), subject=project_id, service="reporting")
    )
    [in_flight] = receiver.wait_for(1)
    container.kill()  # dies between sending and recording: the receiver has it, the database does not know
    [claimed] = rows(service.engine, orm.deliveries)
    assert claimed["status"] == "sending" and claimed["sent_at"] is None

    receiver.answer(200)
    service(NOTIFICATIONS_LEASE_SECONDS=1)  # the restarted service takes it again once the lease runs out
    [_, again] = receiver.wait_for(2)
    assert again["headers"][DELIVERY_HEADER] == in_flight["headers"][DELIVERY_HEADER]
    assert again["body"] == in_flight["body"]
    testing.wait_for(lambda: rows(service.engine, orm.deliveries)[0]["status"] == "sent")
    [delivered] = rows(service.engine, orm.deliveries)
    assert delivered["attempts"] == 2 and delivered["subscription_id"] == subscription["id"]
    time.sleep(1.5)
    assert len(receiver.received()) == 2


def test_a_temporary_smtp_failure_is_retried_until_delivered(
    container_factory, amqp_uri, database_url, servers, tmp_path
):
    sink = servers.SmtpSink(tmp_path / "flaky", fail_first=2)
    try:
        url = testing.migrated(database_url, kongtun_notifications)
        for queue in QUEUES:
            testing.delete_handler_queues(amqp_uri, queue)
        config = testing.container_config(
            amqp_uri,
            url,
            NOTIFICATIONS_SMTP_PORT=sink.port,
            NOTIFICATIONS_SEND_INTERVAL_SECONDS=0.1,
            NOTIFICATIONS_RETRY_BASE_SECONDS=0.2,
        )
        container = container_factory(NotificationsService, config)
        container.start()
        person = call(
            container,
            "register_recipient",
            {"name": OWNER, "email": "club@banrai.example", "roles": [{"scope": "L3363", "role": "owner"}]},
        )
        project_id = str(uuid.uuid4())
        testing.publish_event(amqp_uri, testing.make_event("ProjectApproved", approved(project_id), subject=project_id))
        [mail] = sink.wait_for(1)
        assert mail["Subject"].startswith("โครงการได้รับอนุมัติ")
        testing.wait_for(
            lambda: call(container, "recipient_notifications", person["id"])[0]["deliveries"][0]["status"] == "sent"
        )
        assert call(container, "recipient_notifications", person["id"])[0]["deliveries"][0]["attempts"] == 3
    finally:
        sink.stop()


def test_meeting_rpc_validates_and_refuses_unknown_meetings(service):
    container = service()
    with pytest.raises(InvalidInput) as refused:
        call(container, "create_series", {"committee_code": "X", "committee_kind": "club", "first_date": "2024-13-01"})
    assert {"committee_kind", "first_date", "title", "place"} <= set(refused.value.errors)
    from kongtun_common.errors import NotFound

    with pytest.raises(NotFound):
        call(container, "get_meeting", str(uuid.uuid4()))
    series = call(
        container,
        "create_series",
        {
            "committee_code": "L3363",
            "committee_kind": "fund_committee",
            "title": "ประชุมคณะกรรมการกองทุน",
            "place": "เทศบาลตำบลบ้านไร่",
            "first_date": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
            "count": 2,
        },
    )
    assert [m["number"] for m in series["meetings"]] == [1, 2]
    assert call(container, "meeting_ics", series["meetings"][0]["id"]).startswith("BEGIN:VCALENDAR\r\n")
