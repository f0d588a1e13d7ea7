"""Fund-level duties (FundReportDue, FundReportOverdue from reporting) in a nameko container on the real broker,
SQLite and PostgreSQL, with a real SMTP server: the fund's officer and committee are told (its mentors too once
overdue), in their language, once per notice however often it arrives; quiet hours and unsubscribing hold."""

import time
import uuid
from datetime import datetime, timedelta

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import select

import kongtun_notifications
from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_common.thai import BANGKOK, thai_date
from kongtun_notifications import orm
from kongtun_notifications.service import NotificationsService

QUEUES = ["notifications.remind_fund_report_due", "notifications.remind_fund_report_overdue"]
FUND_NAME = "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่"
FUND = {
    "fund_code": "L3363",
    "fund_name": FUND_NAME,
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
    "region": 12,
}


@pytest.fixture
def service(container_factory, amqp_uri, database_url, smtp):
    for queue in QUEUES:
        testing.delete_handler_queues(amqp_uri, queue)
    url = testing.migrated(database_url, kongtun_notifications)
    engine = make_engine(url)
    config = testing.container_config(
        amqp_uri, url, NOTIFICATIONS_SMTP_PORT=smtp.port, NOTIFICATIONS_SEND_INTERVAL_SECONDS=0.1
    )
    container = container_factory(NotificationsService, config)
    container.start()
    container.engine = engine
    yield container
    engine.dispose()


def call(container, method, *args):
    with entrypoint_hook(container, method) as hook:
        return hook(*args)


def register(container, name: str, email: str, role: str, scope: str = "L3363", **more) -> str:
    person = {"name": name, "email": email, "roles": [{"scope": scope, "role": role}], **more}
    return call(container, "register_recipient", person)["id"]


def deliveries(container) -> list:
    with container.engine.connect() as connection:
        return connection.execute(select(orm.deliveries)).mappings().all()


def notice(duty: str = "quarterly_financial_report", **values) -> dict:
    return {
        "obligation_id": str(uuid.uuid4()),
        **FUND,
        "fiscal_year": 2567,
        "duty": duty,
        "quarter": 2 if duty == "quarterly_financial_report" else None,
        **values,
    }


def test_a_financial_report_falling_due_reaches_officer_and_committee_once_each_by_preference(
    service, amqp_uri, smtp, servers
):
    now = datetime.now(BANGKOK)
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    register(service, "นางสาวสมศรี ใจดี", "officer@banrai.example", "officer")
    register(service, "Mr. Preecha", "preecha@example.org", "committee", language="en")
    sleeper = register(service, "นายหลับ ใหล", "sleep@example.org", "committee", quiet_hours=quiet)
    gone = register(service, "นายไม่รับ ข่าว", "gone@example.org", "chair")
    call(service, "unsubscribe", gone)
    register(service, "นางมารีแย สาและ", "mentor@example.org", "mentor")  # not told until it is overdue
    register(service, "เจ้าหน้าที่กองทุนอื่น", "other@example.org", "officer", scope="L3364")

    due = now.date() + timedelta(days=7)
    data = notice(due_date=due.isoformat(), days_before_due=7)
    event = testing.make_event("FundReportDue", data, subject="L3363", service="reporting")
    for _ in range(3):
        testing.publish_event(amqp_uri, event)  # redelivered
    republished = testing.make_event("FundReportDue", data, subject="L3363", service="reporting")
    testing.publish_event(amqp_uri, republished)  # the same notice in a new event

    smtp.wait_for(2)
    time.sleep(1.5)  # time for a wrong copy to arrive
    assert len(smtp.received()) == 2
    [to_officer] = smtp.to("officer@banrai.example")
    assert to_officer["Subject"] == f"แจ้งเตือน: รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567 ครบกำหนด {thai_date(due)}"
    assert servers.text_of(to_officer).rstrip("\n") == (
        "เรียน นางสาวสมศรี ใจดี\n"
        f"รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567 ของ{FUND_NAME} มีกำหนดส่งภายในวันที่ {thai_date(due)} (อีก 7 วัน)\n"
        "กรุณาส่งรายงานผ่านระบบกองทุนก่อนวันครบกำหนด"
    )
    [to_member] = smtp.to("preecha@example.org")
    assert to_member["Subject"].startswith("Reminder: Financial report for quarter 2 of fiscal year 2567 due ")
    assert servers.text_of(to_member).startswith("Dear Mr. Preecha,\nThe financial report for quarter 2")

    # Quiet hours: held until they end; unsubscribed: recorded in the app, never sent; nobody else told.
    [held] = call(service, "recipient_notifications", sleeper)
    release = datetime.fromisoformat(held["deliveries"][0]["next_attempt_at"]).astimezone(BANGKOK)
    assert held["kind"] == "FundReportDue" and held["deliveries"][0]["status"] == "pending"
    assert release.strftime("%H:%M") == quiet["end"]
    [unsent] = call(service, "recipient_notifications", gone)
    assert unsent["deliveries"] == [] and unsent["subject"].startswith("แจ้งเตือน: รายงานการเงินไตรมาสที่ 2")
    assert len(deliveries(service)) == 3  # officer, member, sleeper


def test_an_overdue_annual_plan_also_reaches_the_funds_mentors_once(service, amqp_uri, smtp, servers):
    register(service, "นางสาวสมศรี ใจดี", "officer@banrai.example", "officer")
    register(service, "นายมะ", "chair@banrai.example", "chair")
    register(service, "นางมารีแย สาและ", "mentor@example.org", "mentor")
    register(service, "Ms. Mali", "mali@example.org", "mentor", language="en")
    register(service, "พี่เลี้ยงกองทุนอื่น", "elsewhere@example.org", "mentor", scope="L3364")

    data = notice("annual_plan", due_date="2023-12-31", days_overdue=7)
    event = testing.make_event("FundReportOverdue", data, subject="L3363", service="reporting")
    for _ in range(2):
        testing.publish_event(amqp_uri, event)
    later = testing.make_event("FundReportOverdue", {**data, "days_overdue": 30}, subject="L3363", service="reporting")

    smtp.wait_for(4)
    time.sleep(1.5)
    assert len(smtp.received()) == 4
    [to_officer] = smtp.to("officer@banrai.example")
    assert to_officer["Subject"] == "แจ้งเตือน: แผนงานประจำปีงบประมาณ 2567 เลยกำหนด 7 วัน (กำหนด 31 ธันวาคม 2566)"
    assert servers.text_of(to_officer).rstrip("\n") == (
        "เรียน นางสาวสมศรี ใจดี\n"
        f"แผนงานประจำปีงบประมาณ 2567 ของ{FUND_NAME} คณะกรรมการกองทุนควรอนุมัติภายใน 31 ธันวาคม 2566 "
        "ขณะนี้ล่าช้ามาแล้ว 7 วัน\n"
        "กรุณาเสนอแผนงานให้คณะกรรมการกองทุนพิจารณาอนุมัติโดยเร็ว"
    )
    assert servers.text_of(smtp.to("chair@banrai.example")[0]).rstrip("\n").endswith("พิจารณาอนุมัติโดยเร็ว")
    [to_mentor] = smtp.to("mentor@example.org")
    assert servers.text_of(to_mentor).rstrip("\n").endswith("\nกรุณาติดตามและให้คำแนะนำกองทุนในการจัดทำแผนงาน")
    [to_mali] = smtp.to("mali@example.org")
    assert to_mali["Subject"] == "Overdue: Annual plan for fiscal year 2567 was due 31 December 2023 (7 days late)"
    assert not smtp.to("elsewhere@example.org")

    testing.publish_event(amqp_uri, later)  # the next overdue step is a new notice
    smtp.wait_for(8)
    assert len(smtp.to("mentor@example.org")) == 2
