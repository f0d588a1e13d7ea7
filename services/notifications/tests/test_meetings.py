"""Follow-up meetings on a real database with a real SMTP server: seed 004's district committee.

The use cases and the sender run with a clock the test sets (the meetings are in 2023-2024), on
SQLite and PostgreSQL; delivery goes over SMTP to an aiosmtpd process on loopback.
"""

import uuid
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

import kongtun_notifications
from kongtun_common import testing
from kongtun_notifications import orm, use_cases
from kongtun_notifications.delivery import Sender
from kongtun_notifications.domain import BANGKOK

CHAIR = {
    "name": "นางจริยา จันทร์ดำ",
    "email": "chair@srinagarindra.example",
    "roles": [{"scope": "DQLC-SNR", "role": "chair"}],
}
SECRETARY = {
    "name": "นายชลิต เกตุแสง",
    "email": "sec@srinagarindra.example",
    "roles": [{"scope": "DQLC-SNR", "role": "secretary"}],
}
MENTOR_EN = {
    "name": "Dr. Anan Mentor",
    "email": "mentor@example.org",
    "language": "en",
    "roles": [{"scope": "L3363", "role": "mentor"}],
}
SERIES = {
    "committee_code": "DQLC-SNR",
    "committee_kind": "district_committee",
    "title": "ประชุมติดตามประเมินผล พชอ.ศรีนครินทร์",
    "cadence_months": 3,
    "day_of_month": 8,
    "start_time": "09:30",
    "duration_minutes": 360,
    "place": "ห้องประชุมที่ว่าการอำเภอศรีนครินทร์",
    "first_date": date(2023, 9, 8),
    "first_number": 4,
    "fund_codes": ["L3363"],
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
    "reminder_days": [7, 1],
}


def bangkok(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BANGKOK).astimezone(UTC)


@pytest.fixture
def world(database_url, smtp, servers):
    url = testing.migrated(database_url, kongtun_notifications)
    db = servers.PlainDb(url, orm.metadata)
    sender = Sender.from_config(
        {
            "NOTIFICATIONS_SMTP_PORT": smtp.port,
            "NOTIFICATIONS_RETRY_BASE_SECONDS": 0.1,
            "NOTIFICATIONS_LEASE_SECONDS": 5,
        }
    )
    yield db, sender
    db.dispose()


def register(db, person, now):
    with db.unit_of_work() as uow:
        return use_cases.register_recipient(uow, {"language": "th", "channels": ["email"], **person}, now)


def send_all(db, sender, now):
    while sender.run_once(db, clock=lambda: now):
        pass


def overdue_report(project_title="โครงการอาหารปลอดภัย บ้านลำกะ", owner="อสม.บ้านลำกะ"):
    facts = testing.sample_project_facts(str(uuid.uuid4()))
    data = {
        "obligation_id": str(uuid.uuid4()),
        "project_id": facts["project_id"],
        "project_title": project_title,
        **{key: facts[key] for key in ("fund_code", "fund_name", "subdistrict", "district", "province", "region")},
        "report": "progress",
        "due_date": "2023-08-31",
        "days_overdue": 7,
        "owner": {"name": owner, "kind": "health_unit", "contact": "074-000-000"},
    }
    return testing.make_event("ReportOverdue", data, subject=data["project_id"], service="reporting")


def test_a_quarterly_series_schedules_meetings_4_to_7_and_their_reminders_reach_smtp_in_thai(world, smtp, servers):
    db, sender = world
    created = bangkok("2023-08-01T10:00")
    for person in (CHAIR, SECRETARY, MENTOR_EN):
        register(db, person, created)
    with db.unit_of_work() as uow:
        series = use_cases.create_series(uow, SERIES, created, count=4)
    meetings = series["meetings"]
    assert [(m["number"], m["date"], m["start_time"]) for m in meetings] == [
        (4, "2023-09-08", "09:30"),
        (5, "2023-12-08", "09:30"),
        (6, "2024-03-08", "09:30"),
        (7, "2024-06-08", "09:30"),
    ]
    assert meetings[0]["date_th"] == "8 กันยายน 2566 เวลา 09.30 น."

    send_all(db, sender, created)  # invitations: 4 meetings x 3 invitees, each with its .ics
    invitations = smtp.wait_for(12)
    assert {message["Subject"] for message in smtp.to(CHAIR["email"])} == {
        f"ขอเชิญประชุม{SERIES['title']} ครั้งที่ {n}" for n in (4, 5, 6, 7)
    }
    assert all(servers.calendar_of(message) for message in invitations)

    expected_days = ["8 กันยายน 2566", "8 ธันวาคม 2566", "8 มีนาคม 2567", "8 มิถุนายน 2567"]
    for meeting, thai_day in zip(meetings, expected_days, strict=True):
        starts = datetime.fromisoformat(meeting["starts_at"])
        before = len(smtp.received())
        send_all(db, sender, starts - timedelta(days=7) + timedelta(minutes=5))  # the 7-day reminder is due
        send_all(db, sender, starts - timedelta(days=7) + timedelta(minutes=6))  # nothing more
        arrived = smtp.wait_for(before + 3)[before:]
        assert len(smtp.received()) == before + 3
        [to_chair] = [message for message in arrived if message["To"].addresses[0].addr_spec == CHAIR["email"]]
        assert to_chair["Subject"] == f"แจ้งเตือน: ประชุม{SERIES['title']} ครั้งที่ {meeting['number']} ในอีก 7 วัน"
        assert servers.text_of(to_chair).startswith("เรียน นางจริยา จันทร์ดำ\n")
        assert f"ในวันที่ {thai_day} เวลา 09.30 น. ณ ห้องประชุมที่ว่าการอำเภอศรีนครินทร์" in servers.text_of(to_chair)
        [to_mentor] = [message for message in arrived if message["To"].addresses[0].addr_spec == MENTOR_EN["email"]]
        assert to_mentor["Subject"].startswith("Reminder: ") and "in 7 days" in to_mentor["Subject"]
        event = icalendar.Calendar.from_ical(servers.calendar_of(to_chair)).walk("VEVENT")[0]
        assert event["DTSTART"].dt == starts
        before = len(smtp.received())
        send_all(db, sender, starts - timedelta(days=1) + timedelta(minutes=5))  # the 1-day reminder
        tomorrow = smtp.wait_for(before + 3)[before:]
        assert all("พรุ่งนี้" in m["Subject"] or "tomorrow" in m["Subject"] for m in tomorrow)
        send_all(db, sender, starts + timedelta(hours=1))  # the meeting has begun: nothing else
    assert len(smtp.received()) == 12 + 4 * 6
    message_ids = [message["Message-ID"] for message in smtp.received()]
    assert len(set(message_ids)) == len(message_ids)


def test_reminders_already_overdue_are_superseded_and_a_started_meeting_gets_none(world, smtp):
    db, sender = world
    created = bangkok("2023-09-07T12:00")  # both the 7-day and the 1-day reminder of no. 4 are due
    register(db, CHAIR, created)
    with db.unit_of_work() as uow:
        use_cases.create_series(uow, {**SERIES, "place": "อำเภอ"}, created, count=1)
    send_all(db, sender, created)
    [invitation, reminder] = smtp.wait_for(2)
    assert invitation["Subject"].startswith("ขอเชิญประชุม")
    assert reminder["Subject"].endswith("ครั้งที่ 4 พรุ่งนี้")
    send_all(db, sender, created + timedelta(days=3))
    assert len(smtp.received()) == 2


def test_the_agenda_carries_late_reports_and_open_resolutions_and_their_owners_are_invited(world, smtp, servers):
    db, sender = world
    now = bangkok("2023-08-01T10:00")
    chair = register(db, CHAIR, now)
    register(db, SECRETARY, now)
    with db.unit_of_work() as uow:
        series = use_cases.create_series(uow, SERIES, now, count=3)
    late = overdue_report()
    with db.unit_of_work() as uow:
        use_cases.on_report_overdue(uow, late, now)
    no4, no5, no6 = (m["id"] for m in series["meetings"])

    with db.read() as session:
        meeting = use_cases.get_meeting(session, no4, now)
    agenda = {item["kind"]: item["items"] for item in meeting["agenda"]}
    assert "โครงการอาหารปลอดภัย บ้านลำกะ" in agenda["late_reports"][0] and "ล่าช้า 7 วัน" in agenda["late_reports"][0]
    assert agenda["next_steps"] == ["ประชุมครั้งที่ 5 วันที่ 8 ธันวาคม 2566 เวลา 09.30 น."]
    assert {(i["name"], i["role"]) for i in meeting["invitees"]} == {
        ("นางจริยา จันทร์ดำ", "chair"),
        ("นายชลิต เกตุแสง", "secretary"),
        ("อสม.บ้านลำกะ", "owner"),
    }

    with db.unit_of_work() as uow:
        attended = use_cases.record_attendance(
            uow,
            no4,
            [
                {"invitee_key": f"r:{chair['id']}", "status": "present"},
                {"name": "ผู้แทนสาธารณสุขอำเภอ", "role": "guest", "status": "present"},
            ],
        )
    assert attended["quorum"] == {"members": 2, "members_present": 1, "required": 1, "attendees": 2, "met": True}
    minutes = {
        "text": "ที่ประชุมรับทราบความก้าวหน้า",
        "resolutions": [
            {"text": "ทุกกองทุนต้องพัฒนาแผนงานในระบบเว็บกองทุนตำบล", "responsible": "เลขา พชอ."},
            {"text": "เร่งรัดการส่งรายงานที่ล่าช้า", "responsible": "พี่เลี้ยงจังหวัด"},
        ],
    }
    with db.unit_of_work() as uow:
        held = use_cases.record_minutes(uow, no4, minutes, now)
    assert held["status"] == "held" and len(held["resolutions"]) == 2

    with db.read() as session:
        follow_up = {i["kind"]: i["items"] for i in use_cases.get_meeting(session, no5, now)["agenda"]}
    assert follow_up["resolutions_follow_up"] == [
        "มติครั้งที่ 4: ทุกกองทุนต้องพัฒนาแผนงานในระบบเว็บกองทุนตำบล (ผู้รับผิดชอบ: เลขา พชอ.)",
        "มติครั้งที่ 4: เร่งรัดการส่งรายงานที่ล่าช้า (ผู้รับผิดชอบ: พี่เลี้ยงจังหวัด)",
    ]
    assert follow_up["previous_minutes"] == ["รายงานการประชุมครั้งที่ 4"]
    done = next(r["id"] for r in held["resolutions"] if r["text"].startswith("เร่งรัด"))
    with db.unit_of_work() as uow:
        use_cases.record_minutes(uow, no5, {"text": "ติดตามแล้ว", "resolved": [done]}, now)
    with db.read() as session:
        carried = {i["kind"]: i["items"] for i in use_cases.get_meeting(session, no6, now)["agenda"]}
    assert carried["resolutions_follow_up"] == [
        "มติครั้งที่ 4: ทุกกองทุนต้องพัฒนาแผนงานในระบบเว็บกองทุนตำบล (ผู้รับผิดชอบ: เลขา พชอ.)"
    ]
    with db.unit_of_work() as uow, pytest.raises(use_cases.Conflict):
        use_cases.record_minutes(uow, no4, minutes, now)


def test_rescheduling_and_cancelling_notify_invitees_with_updated_calendar_entries(world, smtp, servers):
    db, sender = world
    now = bangkok("2023-08-01T10:00")
    register(db, CHAIR, now)
    with db.unit_of_work() as uow:
        series = use_cases.create_series(uow, SERIES, now, count=3)
    send_all(db, sender, now)
    smtp.wait_for(3)
    no4, no5, _ = (m["id"] for m in series["meetings"])

    with db.unit_of_work() as uow:
        moved = use_cases.reschedule(uow, no4, {"date": date(2023, 9, 15), "reason": "ตรงกับการประชุมจังหวัด"}, now)
    assert moved["date"] == "2023-09-15" and moved["sequence"] == 1
    with db.unit_of_work() as uow:
        use_cases.cancel(uow, no5, "งดประชุมเนื่องจากน้ำท่วม", now)
    send_all(db, sender, now)
    [rescheduled, cancelled] = smtp.wait_for(5)[3:]
    assert rescheduled["Subject"] == f"เลื่อนการประชุม{SERIES['title']} ครั้งที่ 4"
    assert "เดิมกำหนดวันที่ 8 กันยายน 2566 เวลา 09.30 น. เลื่อนเป็นวันที่ 15 กันยายน 2566" in servers.text_of(rescheduled)
    event = icalendar.Calendar.from_ical(servers.calendar_of(rescheduled)).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 1 and event["DTSTART"].dt.date() == date(2023, 9, 15)
    assert cancelled["Subject"] == f"ยกเลิกการประชุม{SERIES['title']} ครั้งที่ 5"
    calendar = icalendar.Calendar.from_ical(servers.calendar_of(cancelled))
    assert str(calendar["METHOD"]) == "CANCEL" and str(calendar.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"

    # The old 7-day reminder (due 2023-09-01) is gone; the new one is due 2023-09-08; none for no. 5.
    send_all(db, sender, bangkok("2023-09-02T10:00"))
    assert len(smtp.received()) == 5
    send_all(db, sender, bangkok("2023-09-08T10:00"))
    assert smtp.wait_for(6)[5]["Subject"].endswith("ครั้งที่ 4 ในอีก 7 วัน")
    send_all(db, sender, bangkok("2023-12-07T10:00"))
    assert len(smtp.received()) == 6
    with db.unit_of_work() as uow, pytest.raises(use_cases.Conflict):
        use_cases.reschedule(uow, no5, {"date": date(2024, 1, 8)}, now)

    with db.read() as session:
        feed = icalendar.Calendar.from_ical(use_cases.committee_feed(session, "DQLC-SNR", now))
    events = {str(e["UID"]): e for e in feed.walk("VEVENT")}
    assert len(events) == 3
    assert [str(e["STATUS"]) for e in sorted(events.values(), key=lambda e: e["DTSTART"].dt)] == [
        "CONFIRMED",
        "CANCELLED",
        "CONFIRMED",
    ]
