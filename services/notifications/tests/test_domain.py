"""The notifications domain without infrastructure: schedules, texts, quiet hours, backoff, calendars, signatures."""

from datetime import UTC, date, datetime, time

import icalendar
import pytest

from kongtun_notifications import domain
from kongtun_notifications.domain import MeetingView, Recipient, RetryPolicy
from kongtun_notifications.transports import sign, verify

SEED_004 = [date(2023, 9, 8), date(2023, 12, 8), date(2024, 3, 8), date(2024, 6, 8)]


def meeting(number=4, day=date(2023, 9, 8), **changes) -> MeetingView:
    starts = domain.meeting_start(day, time(9, 30))
    values = dict(
        id="m-1",
        number=number,
        title="ประชุมติดตามประเมินผล พชอ.ศรีนครินทร์",
        committee_kind="district_committee",
        starts_at=starts,
        ends_at=domain.meeting_start(day, time(15, 30)),
        place="ห้องประชุมที่ว่าการอำเภอศรีนครินทร์",
    )
    values.update(changes)
    return MeetingView(**values)


def test_a_quarterly_series_on_the_8th_gives_seed_004s_meetings():
    assert domain.series_dates(date(2023, 9, 8), 3, 8, 4) == SEED_004


def test_a_day_missing_from_a_month_falls_on_its_last_day():
    assert domain.series_dates(date(2024, 1, 31), 1, 31, 3) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]


def test_a_meeting_starts_at_bangkok_time():
    assert domain.meeting_start(date(2023, 9, 8), time(9, 30)) == datetime(2023, 9, 8, 2, 30, tzinfo=UTC)


def test_meeting_texts_are_thai_with_buddhist_era_dates_and_english_on_request():
    thai = domain.meeting_message("reminder", meeting(), "นางจริยา จันทร์ดำ", "th", days_before=7)
    assert thai.subject == "แจ้งเตือน: ประชุมประชุมติดตามประเมินผล พชอ.ศรีนครินทร์ ครั้งที่ 4 ในอีก 7 วัน"
    assert "เรียน นางจริยา จันทร์ดำ" in thai.body and "8 กันยายน 2566 เวลา 09.30 น." in thai.body
    english = domain.meeting_message("reminder", meeting(), "Dr. Somchai", "en", days_before=1)
    assert english.subject.endswith("follow-up meeting no. 4 tomorrow")
    assert "8 September 2023 at 09:30 (Bangkok time)" in english.body
    moved = domain.meeting_message(
        "rescheduled", meeting(reason="ตรงกับวันหยุด"), "ก", "th", previous_start=meeting(day=date(2023, 9, 1)).starts_at
    )
    assert "เดิมกำหนดวันที่ 1 กันยายน 2566 เวลา 09.30 น." in moved.body and "เหตุผล: ตรงกับวันหยุด" in moved.body


@pytest.mark.parametrize(
    ("bangkok", "quiet", "released"),
    [
        ("2024-03-07T22:15", ("21:00", "07:00"), "2024-03-08T07:00"),  # evening: next morning
        ("2024-03-08T05:00", ("21:00", "07:00"), "2024-03-08T07:00"),  # before dawn: this morning
        ("2024-03-08T12:00", ("21:00", "07:00"), "2024-03-08T12:00"),  # daytime: at once
        ("2024-03-08T12:30", ("12:00", "13:00"), "2024-03-08T13:00"),  # a lunch break
    ],
)
def test_quiet_hours_hold_a_message_until_they_end(bangkok, quiet, released):
    def at(text):
        return datetime.fromisoformat(text).replace(tzinfo=domain.BANGKOK)

    window = domain.parse_quiet_hours({"start": quiet[0], "end": quiet[1]})
    assert domain.release_time(at(bangkok).astimezone(UTC), window) == at(released)


def test_retries_back_off_exponentially_up_to_a_cap_and_a_last_attempt():
    policy = RetryPolicy(base_seconds=30, cap_seconds=300, max_attempts=5)
    assert [policy.delay(n) for n in range(1, 6)] == [30, 60, 120, 240, 300]
    assert not policy.exhausted(4) and policy.exhausted(5)


def test_a_recipient_gets_email_only_if_subscribed_with_an_address_and_the_channel():
    person = Recipient("r", "ก", "a@example.org")
    assert person.wants("email")
    assert not Recipient("r", "ก", None).wants("email")
    assert not Recipient("r", "ก", "a@example.org", channels=()).wants("email")
    assert not Recipient("r", "ก", "a@example.org", unsubscribed=True).wants("email")


def test_the_agenda_is_prefilled_with_open_resolutions_due_and_late_reports():
    late = domain.ReportNotice(
        "p", "โครงการอาหารปลอดภัย", "L3363", "กองทุน ก", "final", date(2023, 8, 31), "อสม.บ้านลำกะ", "overdue", 8
    )
    agenda = domain.prefilled_agenda(
        5, [domain.OpenResolution("r", 4, "ทุกกองทุนพัฒนาแผนงานในเว็บ", "เลขา พชอ.")], [], [late], None
    )
    by_kind = {item["kind"]: item for item in agenda}
    assert [item["number"] for item in agenda] == list(range(1, 8))
    assert by_kind["previous_minutes"]["items"] == ["รายงานการประชุมครั้งที่ 4"]
    assert by_kind["resolutions_follow_up"]["items"] == ["มติครั้งที่ 4: ทุกกองทุนพัฒนาแผนงานในเว็บ (ผู้รับผิดชอบ: เลขา พชอ.)"]
    assert "ล่าช้า 8 วัน" in by_kind["late_reports"]["items"][0]


def test_quorum_is_half_the_members_unless_the_series_sets_it():
    assert domain.quorum(members=14, members_present=7, attendees=27).met
    assert not domain.quorum(members=14, members_present=6, attendees=27).met
    assert not domain.quorum(members=14, members_present=9, attendees=27, required=10).met


def test_of_the_reminders_due_together_only_the_closest_is_sent():
    assert domain.reminders_to_send([7, 1]) == (1, [7])
    assert domain.reminders_to_send([]) == (None, [])


def test_a_calendar_with_thai_text_parses_and_folds_lines_without_splitting_characters():
    event = domain.ical_event(meeting(), "kongtun.local", datetime(2023, 8, 1, tzinfo=UTC), description="วาระ " * 40)
    text = domain.ical_calendar([event], method="REQUEST")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    parsed = icalendar.Calendar.from_ical(text)
    [vevent] = parsed.walk("VEVENT")
    assert vevent["DTSTART"].dt == datetime(2023, 9, 8, 9, 30, tzinfo=domain.BANGKOK)
    assert str(vevent["SUMMARY"]) == "ประชุมติดตามประเมินผล พชอ.ศรีนครินทร์ ครั้งที่ 4"
    assert str(vevent["DESCRIPTION"]) == "วาระ " * 40
    assert str(parsed["METHOD"]) == "REQUEST"


def test_a_webhook_signature_covers_the_timestamp_and_body():
    body = b'{"type": "ReportDue"}'
    header = sign("s3cret", 1_700_000_000, body)
    assert verify("s3cret", header, body, now=1_700_000_010)
    assert not verify("s3cret", header, body + b" ", now=1_700_000_010)
    assert not verify("other", header, body, now=1_700_000_010)
    assert not verify("s3cret", header, body, now=1_700_000_000 + 301)  # a replay


# --- fund-level duties --------------------------------------------------------------------------

FUND = {
    "obligation_id": "00000000-0000-0000-0000-000000000001",
    "fund_code": "L3363",
    "fund_name": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
    "region": 12,
    "fiscal_year": 2567,
}
Q2 = {**FUND, "duty": "quarterly_financial_report", "quarter": 2, "due_date": "2024-04-30"}
PLAN = {**FUND, "duty": "annual_plan", "quarter": None, "due_date": "2023-12-31"}


def test_a_quarterly_financial_report_falling_due_in_thai_and_english():
    message = domain.fund_report_due_message({**Q2, "days_before_due": 7}, date(2024, 4, 23), "นางสาวสมศรี ใจดี")
    assert message.subject == "แจ้งเตือน: รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567 ครบกำหนด 30 เมษายน 2567"
    assert message.body == (
        "เรียน นางสาวสมศรี ใจดี\n"
        "รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567 ของกองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่ "
        "มีกำหนดส่งภายในวันที่ 30 เมษายน 2567 (อีก 7 วัน)\n"
        "กรุณาส่งรายงานผ่านระบบกองทุนก่อนวันครบกำหนด"
    )
    english = domain.fund_report_due_message({**Q2, "days_before_due": 1}, date(2024, 4, 29), "Mr. Preecha", "en")
    assert english.subject == "Reminder: Financial report for quarter 2 of fiscal year 2567 due 30 April 2024"
    assert english.body == (
        "Dear Mr. Preecha,\n"
        "The financial report for quarter 2 of fiscal year 2567 of กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่ "
        "is due by 30 April 2024 (in 1 day).\nPlease send it in the fund system before the due date."
    )


def test_the_annual_plan_falling_due_names_the_committees_deadline():
    message = domain.fund_report_due_message({**PLAN, "days_before_due": 0}, date(2023, 12, 31), "นายมะ")
    assert message.subject == "แจ้งเตือน: แผนงานประจำปีงบประมาณ 2567 ครบกำหนด 31 ธันวาคม 2566"
    assert message.body == (
        "เรียน นายมะ\n"
        "แผนงานประจำปีงบประมาณ 2567 ของกองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่ "
        "(คณะกรรมการกองทุนควรอนุมัติภายใน 31 ธันวาคม 2566) ครบกำหนดวันนี้\n"
        "กรุณาเสนอแผนงานให้คณะกรรมการกองทุนพิจารณาอนุมัติก่อนวันครบกำหนด"
    )
    ahead = domain.fund_report_due_message({**PLAN, "days_before_due": 30}, date(2023, 12, 1), "Ms. Mali", "en")
    assert ahead.subject == "Reminder: Annual plan for fiscal year 2567 due 31 December 2023"
    assert "should approve the annual plan for fiscal year 2567 by 31 December 2023 (in 30 days)" in ahead.body


def test_an_overdue_duty_asks_the_fund_to_act_and_its_mentor_to_follow_up():
    overdue = {**Q2, "days_overdue": 7}
    officer = domain.fund_report_overdue_message(overdue, "นางสาวสมศรี ใจดี")
    assert officer.subject == "แจ้งเตือน: รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567 เลยกำหนด 7 วัน (กำหนด 30 เมษายน 2567)"
    assert officer.body == (
        "เรียน นางสาวสมศรี ใจดี\n"
        "รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567 ของกองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่ "
        "ครบกำหนดส่งเมื่อวันที่ 30 เมษายน 2567 และล่าช้ามาแล้ว 7 วัน\n"
        "กรุณาส่งรายงานผ่านระบบกองทุนโดยเร็ว"
    )
    mentor = domain.fund_report_overdue_message(overdue, "นางมารีแย", role="mentor")
    assert mentor.body.endswith("\nกรุณาติดตามและให้คำแนะนำกองทุนในการส่งรายงาน")
    plan = domain.fund_report_overdue_message({**PLAN, "days_overdue": 1}, "Ms. Mali", "en", "mentor")
    assert plan.subject == "Overdue: Annual plan for fiscal year 2567 was due 31 December 2023 (1 day late)"
    assert plan.body == (
        "Dear Ms. Mali,\nThe fund committee of กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่ should have approved the "
        "annual plan for fiscal year 2567 by 31 December 2023; it is 1 day late.\nPlease follow it up with the fund."
    )
    thai_plan = domain.fund_report_overdue_message({**PLAN, "days_overdue": 30}, "นายมะ", role="committee")
    assert thai_plan.body == (
        "เรียน นายมะ\n"
        "แผนงานประจำปีงบประมาณ 2567 ของกองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่ "
        "คณะกรรมการกองทุนควรอนุมัติภายใน 31 ธันวาคม 2566 ขณะนี้ล่าช้ามาแล้ว 30 วัน\n"
        "กรุณาเสนอแผนงานให้คณะกรรมการกองทุนพิจารณาอนุมัติโดยเร็ว"
    )
