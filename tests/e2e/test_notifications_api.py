"""Notifications over HTTP with the five real processes, a real SMTP server and a real webhook receiver:
recipients, a follow-up meeting series, its invitations and reminders by email, calendars, webhooks."""

import importlib.util
import json
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from kongtun_common import testing
from kongtun_common.stack import Stack
from kongtun_common.thai import BANGKOK, thai_date

from .conftest import Api, free_port

ROOT = Path(__file__).resolve().parents[2]
BASE = "/api/v1/notifications"


def _servers():
    name = "kongtun_notifications_test_servers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "services/notifications/tests/servers.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


servers = _servers()
from kongtun_notifications.transports import SIGNATURE_HEADER, verify  # noqa: E402


@pytest.fixture(scope="module")
def mail(tmp_path_factory):
    sink = servers.SmtpSink(tmp_path_factory.mktemp("mail"))
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def hooks(tmp_path_factory):
    receiver = servers.WebhookReceiver(tmp_path_factory.mktemp("hooks"))
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, mail):
    """The five processes, the notifications service sending to this module's SMTP server."""
    var = tmp_path_factory.mktemp("var")
    ports = {name: free_port() for name in ("gateway", "funds", "projects", "notifications", "reporting")}
    with testing.fresh_vhost() as amqp_uri:
        env = {
            "KONGTUN_AMQP_URI": amqp_uri,
            "KONGTUN_VAR_DIR": str(var),
            "KONGTUN_REGION": "12",
            "KONGTUN_GATEWAY_PORT": str(ports["gateway"]),
            "KONGTUN_OUTBOX_POLL_SECONDS": "0.2",
            "KONGTUN_EVENT_RETRY_DELAYS_MS": "100,200",
            "KONGTUN_NOTIFICATIONS_SMTP_PORT": str(mail.port),
            "KONGTUN_NOTIFICATIONS_SEND_INTERVAL_SECONDS": "0.2",
            **{f"KONGTUN_{name.upper()}_METRICS_PORT": str(port) for name, port in ports.items() if name != "gateway"},
        }
        running = Stack(env, log_dir=var)
        try:
            running.start_all(timeout=60)
            running.amqp_uri = amqp_uri
            running.api = Api(f"http://127.0.0.1:{ports['gateway']}")
            yield running
        finally:
            running.stop_all()


@pytest.fixture(scope="module")
def api(stack):
    return stack.api


def created(response):
    assert response.status_code == 201, response.text
    return response.json()


def test_a_series_invites_and_reminds_by_email_serves_calendars_and_tells_webhooks(api, mail, hooks):
    chair = created(
        api.post(
            f"{BASE}/recipients",
            {"name": "นางจริยา จันทร์ดำ", "email": "chair@snr.example", "roles": [{"scope": "DQLC-SNR", "role": "chair"}]},
        )
    )
    created(
        api.post(
            f"{BASE}/recipients",
            {
                "name": "Dr. Anan",
                "email": "anan@example.org",
                "language": "en",
                "roles": [{"scope": "L3363", "role": "mentor"}],
            },
        )
    )
    subscription = created(
        api.post(
            f"{BASE}/webhooks",
            {"owner": "สสจ.พัทลุง", "url": hooks.url, "types": ["MeetingScheduled", "MeetingCancelled"]},
        )
    )
    first_day = (datetime.now(BANGKOK) + timedelta(days=6)).date()  # its 7-day reminder is due at once
    series = created(
        api.post(
            f"{BASE}/meeting-series",
            {
                "committee_code": "DQLC-SNR",
                "committee_kind": "district_committee",
                "title": "ประชุมติดตามประเมินผล พชอ.ศรีนครินทร์",
                "place": "ห้องประชุมที่ว่าการอำเภอศรีนครินทร์",
                "first_date": first_day.isoformat(),
                "first_number": 4,
                "count": 2,
                "fund_codes": ["L3363"],
                "district": "ศรีนครินทร์",
                "province": "พัทลุง",
            },
        )
    )
    first, second = series["meetings"]
    assert first["number"] == 4 and first["date"] == first_day.isoformat() and second["number"] == 5

    mails = mail.wait_for(6, timeout=20)  # 2 invitations + 1 reminder, to each of 2 invitees
    subjects = sorted(message["Subject"] for message in mail.to("chair@snr.example"))
    assert subjects == [
        "ขอเชิญประชุมประชุมติดตามประเมินผล พชอ.ศรีนครินทร์ ครั้งที่ 4",
        "ขอเชิญประชุมประชุมติดตามประเมินผล พชอ.ศรีนครินทร์ ครั้งที่ 5",
        "แจ้งเตือน: ประชุมประชุมติดตามประเมินผล พชอ.ศรีนครินทร์ ครั้งที่ 4 ในอีก 6 วัน",
    ]
    reminder = next(m for m in mail.to("chair@snr.example") if m["Subject"].startswith("แจ้งเตือน"))
    assert f"ในวันที่ {thai_date(first_day)} เวลา 09.30 น." in servers.text_of(reminder)
    assert all(m["Subject"].startswith(("Invitation: ", "Reminder: ")) for m in mail.to("anan@example.org"))
    assert len(mails) == 6

    meeting = api.get(f"{BASE}/meetings/{first['id']}").json()
    assert [item["kind"] for item in meeting["agenda"]][:3] == [
        "announcements",
        "previous_minutes",
        "resolutions_follow_up",
    ]
    assert {invitee["name"] for invitee in meeting["invitees"]} == {"นางจริยา จันทร์ดำ", "Dr. Anan"}

    ics = api.get(f"{BASE}/meetings/{first['id']}/invitation.ics")
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    [event] = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert event["DTSTART"].dt == datetime.fromisoformat(first["starts_at"])
    assert "วาระที่ 3 ติดตามมติที่ประชุมครั้งก่อน" in str(event["DESCRIPTION"])

    cancelled = api.post(f"{BASE}/meetings/{second['id']}/cancel", {"reason": "งดประชุมเนื่องจากน้ำท่วม"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.post(f"{BASE}/meetings/{second['id']}/cancel", {"reason": "ซ้ำ"})
    assert again.status_code == 409 and again.json()["current_state"] == "cancelled"
    mail.wait_for(8)
    assert any(m["Subject"].startswith("ยกเลิกการประชุม") for m in mail.to("chair@snr.example"))

    feed = api.get(f"{BASE}/committees/DQLC-SNR/calendar.ics")
    statuses = sorted(str(e["STATUS"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT"))
    assert statuses == ["CANCELLED", "CONFIRMED"]

    arrived = hooks.wait_for(3)
    kinds = sorted(json.loads(hit["body"])["type"] for hit in arrived)
    assert kinds == ["MeetingCancelled", "MeetingScheduled", "MeetingScheduled"]
    assert all(
        verify(subscription["secret"], hit["headers"][SIGNATURE_HEADER], hit["body"].encode(), now=hit["at"])
        for hit in arrived
    )
    log = api.get(f"{BASE}/webhooks/{subscription['id']}/deliveries").json()["items"]
    assert [entry["status"] for entry in log] == ["sent"] * 3

    told = api.get(f"{BASE}/recipients/{chair['id']}/notifications").json()["items"]
    assert len(told) == 4 and all(item["deliveries"][0]["status"] == "sent" for item in told)


def test_a_project_submitted_on_the_bus_reaches_the_fund_officer_by_email(stack, api, mail):
    """ProjectSubmitted is published as the projects service does (its submit rules are another area's)."""
    officer = created(
        api.post(
            f"{BASE}/recipients",
            {
                "name": "นางสาวสมศรี ใจดี",
                "email": "officer@banrai.example",
                "roles": [{"scope": "L3363", "role": "officer"}],
            },
        )
    )
    project_id = str(uuid.uuid4())
    data = {
        **testing.sample_project_facts(project_id),
        "submitted_at": "2024-01-08T03:00:00+00:00",
        "submitted_by": "เจ้าหน้าที่กองทุน",
    }
    event = testing.make_event("ProjectSubmitted", data, subject=project_id, service="projects")
    testing.publish_event(stack.amqp_uri, event)
    testing.publish_event(stack.amqp_uri, event)  # redelivered: still one message
    testing.wait_for(lambda: mail.to("officer@banrai.example"), timeout=20)
    [message] = mail.to("officer@banrai.example")
    assert message["Subject"] == f"โครงการเสนอใหม่ของ{data['fund_name']}: {data['title']}"
    [item] = api.get(f"{BASE}/recipients/{officer['id']}/notifications").json()["items"]
    assert item["project_id"] == project_id and item["kind"] == "ProjectSubmitted"
    assert len(mail.to("officer@banrai.example")) == 1


def test_an_overdue_fund_duty_on_the_bus_reaches_officer_and_mentor_by_email_and_webhook(stack, api, mail, hooks):
    """FundReportOverdue is published as the reporting service does; the same notice twice is one email each."""
    people = {"officer": "fund.officer@khuan.example", "mentor": "fund.mentor@khuan.example"}
    for role, email in people.items():
        created(
            api.post(
                f"{BASE}/recipients",
                {"name": f"ผู้รับ {role}", "email": email, "roles": [{"scope": "L3364", "role": role}]},
            )
        )
    subscription = created(
        api.post(
            f"{BASE}/webhooks",
            {"owner": "สสจ.พัทลุง", "url": hooks.url, "types": ["FundReportOverdue"], "fund_codes": ["L3364"]},
        )
    )
    data = {
        "obligation_id": str(uuid.uuid4()),
        "fund_code": "L3364",
        "fund_name": "กองทุนหลักประกันสุขภาพเทศบาลตำบลควนขนุน",
        "subdistrict": "ควนขนุน",
        "district": "ควนขนุน",
        "province": "พัทลุง",
        "region": 12,
        "fiscal_year": 2567,
        "duty": "quarterly_financial_report",
        "quarter": 2,
        "due_date": "2024-04-30",
        "days_overdue": 7,
    }
    for _ in range(2):  # the same notice twice, as two events
        event = testing.make_event("FundReportOverdue", data, subject="L3364", service="reporting")
        testing.publish_event(stack.amqp_uri, event)
    testing.wait_for(lambda: all(mail.to(email) for email in people.values()), timeout=20)
    [to_officer] = mail.to(people["officer"])
    assert to_officer["Subject"] == (
        "แจ้งเตือน: รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567 เลยกำหนด 7 วัน (กำหนด 30 เมษายน 2567)"
    )
    assert (
        servers.text_of(mail.to(people["mentor"])[0]).rstrip("\n").endswith("กรุณาติดตามและให้คำแนะนำกองทุนในการส่งรายงาน")
    )
    testing.wait_for(lambda: [hit for hit in hooks.received() if '"FundReportOverdue"' in hit["body"]], timeout=20)
    hits = [hit for hit in hooks.received() if '"FundReportOverdue"' in hit["body"]]
    assert len(hits) == 1 and json.loads(hits[0]["body"])["data"]["obligation_id"] == data["obligation_id"]
    assert verify(
        subscription["secret"], hits[0]["headers"][SIGNATURE_HEADER], hits[0]["body"].encode(), now=hits[0]["at"]
    )
    assert all(len(mail.to(email)) == 1 for email in people.values())


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", f"{BASE}/recipients", {"name": "ก", "channels": ["email"]}, 422, "email"),
        ("POST", f"{BASE}/recipients", {"name": "ก", "email": "a@b.example", "language": "fr"}, 422, "language"),
        (
            "POST",
            f"{BASE}/recipients",
            {"name": "ก", "email": "x@y.example", "quiet_hours": {"start": "25:00", "end": "07:00"}},
            422,
            "quiet_hours.start",
        ),
        ("POST", f"{BASE}/meeting-series", {"committee_code": "X", "committee_kind": "club"}, 422, "committee_kind"),
        ("POST", f"{BASE}/webhooks", {"owner": "x", "url": "ftp://x", "types": ["ReportDue"]}, 422, "url"),
        ("POST", f"{BASE}/webhooks", {"owner": "x", "url": "http://127.0.0.1/x", "types": ["Nope"]}, 422, "types.0"),
        ("GET", f"{BASE}/meetings/{uuid.uuid4()}", None, 404, "meeting_id"),
        ("GET", f"{BASE}/meetings/not-an-id/invitation.ics", None, 404, "meeting_id"),
        ("GET", f"{BASE}/committees/NOPE/calendar.ics", None, 404, "committee_code"),
        ("POST", f"{BASE}/webhooks/{uuid.uuid4()}/enable", {"secret": "x"}, 404, "subscription_id"),
        ("GET", f"{BASE}/recipients/{uuid.uuid4()}/notifications", None, 404, "recipient_id"),
    ],
)
def test_bad_requests_get_a_problem_naming_the_field(api, method, path, body, status, field):
    response = api.http.request(method, api.base + path, json=body, timeout=15)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
