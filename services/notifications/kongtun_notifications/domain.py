"""The notifications service's domain: who is told what, when, and in which words.

Plain Python, no framework.  People-facing text is Thai by default (English where the
recipient prefers it); Thai dates are in the Buddhist Era; meeting times are Asia/Bangkok.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from kongtun_common.errors import Conflict, InvalidInput
from kongtun_common.thai import BANGKOK, thai_date

LANGUAGES = ("th", "en")
CHANNELS = ("email",)  # a notification is always recorded (in-app); these are the extra channels
ROLES = ("owner", "officer", "committee", "mentor", "chair", "secretary", "member")
MEMBER_ROLES = ("chair", "secretary", "member", "committee")  # count towards a meeting's quorum
COMMITTEE_KINDS = ("district_committee", "fund_committee", "programme")
MEETING_STATUSES = ("scheduled", "cancelled", "held")
ATTENDANCE = ("present", "absent", "excused")

REPORT_NAMES = {
    "th": {
        "progress": "รายงานความก้าวหน้า (ส.1)",
        "mentor_follow_up": "รายงานการติดตามของพี่เลี้ยง (ส.2)",
        "final": "รายงานผลการดำเนินงาน (ส.3)",
        "financial": "รายงานการเงิน (ง.1)",
        "financial_closing": "รายงานสรุปการเงิน (ง.2)",
    },
    "en": {
        "progress": "progress report (S.1)",
        "mentor_follow_up": "mentor follow-up report (S.2)",
        "final": "final report (S.3)",
        "financial": "financial report (G.1)",
        "financial_closing": "closing financial summary (G.2)",
    },
}
REPORT_NAMES_TH = REPORT_NAMES["th"]

EN_MONTHS = tuple(calendar.month_name[1:])
COMMITTEE_NAMES_TH = {
    "district_committee": "คณะกรรมการพัฒนาคุณภาพชีวิตระดับอำเภอ (พชอ.)",
    "fund_committee": "คณะกรรมการกองทุน",
    "programme": "คณะทำงานแผนงาน",
}


# --- dates and times for people ------------------------------------------------------------------


def english_date(day: date) -> str:
    return f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}"


def local(moment: datetime) -> datetime:
    return moment.astimezone(BANGKOK)


def people_date(day: date, language: str) -> str:
    return thai_date(day) if language == "th" else english_date(day)


def people_datetime(moment: datetime, language: str) -> str:
    """``8 กันยายน 2566 เวลา 09.30 น.`` (Thai, B.E.) or ``8 September 2023 at 09:30`` (Bangkok time)."""
    at = local(moment)
    if language == "th":
        return f"{thai_date(at.date())} เวลา {at:%H.%M} น."
    return f"{english_date(at.date())} at {at:%H:%M} (Bangkok time)"


# --- recipients and their preferences ------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    scope: str  # a fund code (L3363) or a committee / programme code
    role: str


@dataclass(frozen=True)
class Recipient:
    id: str
    name: str
    email: str | None
    language: str = "th"
    channels: tuple[str, ...] = ("email",)
    quiet_hours: tuple[time, time] | None = None
    unsubscribed: bool = False
    roles: tuple[Role, ...] = ()

    def wants(self, channel: str) -> bool:
        if self.unsubscribed or channel not in self.channels:
            return False
        return bool(self.email) if channel == "email" else True


def parse_quiet_hours(value: dict | None) -> tuple[time, time] | None:
    if not value:
        return None
    try:
        start, end = time.fromisoformat(value["start"]), time.fromisoformat(value["end"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput({"quiet_hours": ["Give start and end as HH:MM, e.g. 21:00 and 07:00."]}) from None
    if start == end:
        raise InvalidInput({"quiet_hours": ["Start and end must differ."]})
    return start, end


def in_quiet_hours(moment: datetime, quiet: tuple[time, time]) -> bool:
    start, end = quiet
    now = local(moment).time()
    return start <= now < end if start < end else (now >= start or now < end)


def release_time(moment: datetime, quiet: tuple[time, time] | None) -> datetime:
    """When a message may go out: ``moment``, or the end of the recipient's quiet hours (Bangkok) if inside them."""
    if quiet is None or not in_quiet_hours(moment, quiet):
        return moment
    at = local(moment)
    release = datetime.combine(at.date(), quiet[1], tzinfo=BANGKOK)
    if release <= at:
        release += timedelta(days=1)
    return release.astimezone(UTC)


# --- delivery policy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: base, 2·base, 4·base ... capped; ``max_attempts`` sends in all."""

    base_seconds: float = 30.0
    cap_seconds: float = 6 * 3600.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> float:
        return min(self.base_seconds * 2 ** max(attempts - 1, 0), self.cap_seconds)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


# --- messages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


@dataclass(frozen=True)
class Reminder:
    """A report reminder as the foundation slice recorded it (kept for its callers)."""

    id: str
    event_id: str
    project_id: str
    recipient_name: str
    recipient_role: str
    channel: str
    subject: str
    body: str
    language: str = "th"


def _days_text(days: int, language: str) -> str:
    if language == "th":
        return "ครบกำหนดวันนี้" if days <= 0 else f"อีก {days} วัน"
    return "due today" if days <= 0 else f"in {days} day{'s' if days != 1 else ''}"


def report_due_message(data: dict, today: date, name: str, language: str = "th", role: str = "owner") -> Message:
    report = REPORT_NAMES[language].get(data["report"], data["report"])
    due_date = date.fromisoformat(data["due_date"])
    due = people_date(due_date, language)
    when = _days_text((due_date - today).days, language)
    if language == "en":
        ask = (
            "Please submit the report in the fund system before the due date."
            if role == "owner"
            else "Please follow the project up with its owner."
        )
        return Message(
            f"Reminder: {report} due {due}",
            f'Dear {name},\nThe project "{data["project_title"]}" of {data["fund_name"]} '
            f"must submit its {report} by {due} ({when}).\n{ask}",
        )
    ask = "กรุณาส่งรายงานผ่านระบบกองทุนก่อนวันครบกำหนด" if role == "owner" else "กรุณาติดตามโครงการกับผู้รับผิดชอบโครงการ"
    return Message(
        f"แจ้งเตือน: {report} ครบกำหนดส่ง {due}",
        f"เรียน {name}\n"
        f'โครงการ "{data["project_title"]}" ของ{data["fund_name"]} '
        f"มีกำหนดส่ง{report} ภายในวันที่ {due} ({when})\n{ask}",
    )


def report_due_reminder(reminder_id: str, event_id: str, data: dict, today: date) -> Reminder:
    """The reminder a project's owner gets when a report falls due (``today`` in Asia/Bangkok)."""
    message = report_due_message(data, today, data["owner"]["name"])
    return Reminder(
        id=reminder_id,
        event_id=event_id,
        project_id=data["project_id"],
        recipient_name=data["owner"]["name"],
        recipient_role="owner",
        channel="record",
        subject=message.subject,
        body=message.body,
    )


def report_overdue_message(data: dict, name: str, language: str = "th", role: str = "owner") -> Message:
    report = REPORT_NAMES[language].get(data["report"], data["report"])
    due = people_date(date.fromisoformat(data["due_date"]), language)
    days = data["days_overdue"]
    if language == "en":
        return Message(
            f"Overdue: {report} was due {due} ({days} days late)",
            f'Dear {name},\nThe {report} of the project "{data["project_title"]}" of {data["fund_name"]} '
            f"was due on {due} and is {days} days late.\n"
            + ("Please submit it in the fund system now." if role == "owner" else "Please follow it up."),
        )
    return Message(
        f"แจ้งเตือน: {report} เลยกำหนดส่ง {days} วัน (กำหนด {due})",
        f"เรียน {name}\n"
        f'{report}ของโครงการ "{data["project_title"]}" ของ{data["fund_name"]} '
        f"ครบกำหนดส่งเมื่อวันที่ {due} และล่าช้ามาแล้ว {days} วัน\n"
        + ("กรุณาส่งรายงานผ่านระบบกองทุนโดยเร็ว" if role == "owner" else "กรุณาติดตามการส่งรายงาน"),
    )


# --- fund-level duties (FundReportDue, FundReportOverdue) -------------------------------------------

FUND_PEOPLE = ("officer", "committee", "chair")  # told of a fund's duties; its mentors too once overdue


def fund_duty_name(data: dict, language: str = "th") -> str:
    """``รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567`` / ``แผนงานประจำปีงบประมาณ 2567`` (or English)."""
    year = data["fiscal_year"]
    if data["duty"] == "quarterly_financial_report":
        if language == "en":
            return f"financial report for quarter {data['quarter']} of fiscal year {year}"
        return f"รายงานการเงินไตรมาสที่ {data['quarter']} ปีงบประมาณ {year}"
    return f"annual plan for fiscal year {year}" if language == "en" else f"แผนงานประจำปีงบประมาณ {year}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def fund_report_due_message(data: dict, today: date, name: str, language: str = "th") -> Message:
    """A fund's officer and committee: a duty of the fund falls due (``today`` in Asia/Bangkok)."""
    duty = fund_duty_name(data, language)
    due_date = date.fromisoformat(data["due_date"])
    due = people_date(due_date, language)
    when = _days_text((due_date - today).days, language)
    plan = data["duty"] == "annual_plan"
    if language == "en":
        if plan:
            text = (
                f"The fund committee of {data['fund_name']} should approve the {duty} by {due} ({when}).\n"
                "Please put the plans to the committee for approval before the due date."
            )
        else:
            text = (
                f"The {duty} of {data['fund_name']} is due by {due} ({when}).\n"
                "Please send it in the fund system before the due date."
            )
        return Message(f"Reminder: {_capital(duty)} due {due}", f"Dear {name},\n{text}")
    if plan:
        days = (due_date - today).days
        when = "ครบกำหนดวันนี้" if days <= 0 else f"ครบกำหนดในอีก {days} วัน"
        text = (
            f"{duty} ของ{data['fund_name']} (คณะกรรมการกองทุนควรอนุมัติภายใน {due}) {when}\n"
            "กรุณาเสนอแผนงานให้คณะกรรมการกองทุนพิจารณาอนุมัติก่อนวันครบกำหนด"
        )
    else:
        text = f"{duty} ของ{data['fund_name']} มีกำหนดส่งภายในวันที่ {due} ({when})\nกรุณาส่งรายงานผ่านระบบกองทุนก่อนวันครบกำหนด"
    return Message(f"แจ้งเตือน: {duty} ครบกำหนด {due}", f"เรียน {name}\n{text}")


def fund_report_overdue_message(data: dict, name: str, language: str = "th", role: str = "officer") -> Message:
    """A fund's duty is past due: its officer and committee are asked to act, its mentors to follow it up."""
    duty = fund_duty_name(data, language)
    due = people_date(date.fromisoformat(data["due_date"]), language)
    days = data["days_overdue"]
    plan = data["duty"] == "annual_plan"
    mentor = role == "mentor"
    if language == "en":
        late = f"{days} day{'s' if days != 1 else ''} late"
        if plan:
            fact = f"The fund committee of {data['fund_name']} should have approved the {duty} by {due}; it is {late}."
            ask = "Please put the plans to the committee for approval now."
        else:
            fact = f"The {duty} of {data['fund_name']} was due on {due} and is {late}."
            ask = "Please send it in the fund system now."
        ask = "Please follow it up with the fund." if mentor else ask
        return Message(f"Overdue: {_capital(duty)} was due {due} ({late})", f"Dear {name},\n{fact}\n{ask}")
    if plan:
        fact = f"{duty} ของ{data['fund_name']} คณะกรรมการกองทุนควรอนุมัติภายใน {due} ขณะนี้ล่าช้ามาแล้ว {days} วัน"
        ask = "กรุณาเสนอแผนงานให้คณะกรรมการกองทุนพิจารณาอนุมัติโดยเร็ว"
        follow = "กรุณาติดตามและให้คำแนะนำกองทุนในการจัดทำแผนงาน"
    else:
        fact = f"{duty} ของ{data['fund_name']} ครบกำหนดส่งเมื่อวันที่ {due} และล่าช้ามาแล้ว {days} วัน"
        ask = "กรุณาส่งรายงานผ่านระบบกองทุนโดยเร็ว"
        follow = "กรุณาติดตามและให้คำแนะนำกองทุนในการส่งรายงาน"
    return Message(
        f"แจ้งเตือน: {duty} เลยกำหนด {days} วัน (กำหนด {due})",
        f"เรียน {name}\n{fact}\n{follow if mentor else ask}",
    )


def _baht(satang: int) -> str:
    whole, fraction = divmod(satang, 100)
    return f"{whole:,}.{fraction:02d}"


def project_submitted_message(data: dict, name: str, language: str = "th") -> Message:
    day = people_date(date.fromisoformat(data["submitted_at"][:10]), language)
    amount = _baht(data["requested_amount_satang"])
    if language == "en":
        return Message(
            f"New proposal for {data['fund_name']}: {data['title']}",
            f'Dear {name},\n{data["owner"]["name"]} submitted the proposal "{data["title"]}" '
            f"on {day}, requesting {amount} baht (fiscal year {data['fiscal_year']}).\n"
            "Please review it for the committee's next meeting.",
        )
    return Message(
        f"โครงการเสนอใหม่ของ{data['fund_name']}: {data['title']}",
        f'เรียน {name}\n{data["owner"]["name"]} เสนอโครงการ "{data["title"]}" เมื่อวันที่ {day} '
        f"ขอรับงบประมาณ {amount} บาท (ปีงบประมาณ {data['fiscal_year']})\n"
        "กรุณาพิจารณาเพื่อเสนอคณะกรรมการกองทุนในการประชุมครั้งถัดไป",
    )


def project_decision_message(kind: str, data: dict, name: str, language: str = "th") -> Message:
    title, fund = data["title"], data["fund_name"]
    if kind == "ProjectApproved":
        amount = _baht(data["approved_amount_satang"])
        code = data.get("project_code") or ""
        if language == "en":
            return Message(
                f"Approved: {title}",
                f'Dear {name},\nThe committee of {fund} approved your project "{title}" ({code}) with {amount} baht.',
            )
        return Message(
            f"โครงการได้รับอนุมัติ: {title}",
            f'เรียน {name}\nคณะกรรมการ{fund}อนุมัติโครงการ "{title}" ({code}) งบประมาณ {amount} บาท',
        )
    reason = data.get("reason", "")
    if kind == "ProjectRevisionRequested":
        if language == "en":
            return Message(
                f"Please revise: {title}", f'Dear {name},\nPlease revise your proposal "{title}".\nReason: {reason}'
            )
        return Message(
            f"ขอให้ปรับปรุงโครงการ: {title}",
            f'เรียน {name}\nขอให้ปรับปรุงข้อเสนอโครงการ "{title}" ของ{fund}\nเหตุผล: {reason}',
        )
    if language == "en":
        return Message(
            f"Not approved: {title}",
            f'Dear {name},\nThe committee of {fund} did not approve "{title}".\nReason: {reason}',
        )
    return Message(
        f"โครงการไม่ได้รับอนุมัติ: {title}",
        f'เรียน {name}\nคณะกรรมการ{fund}ไม่อนุมัติโครงการ "{title}"\nเหตุผล: {reason}',
    )


# --- follow-up meetings ----------------------------------------------------------------------------


def add_months(day: date, months: int, day_of_month: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day_of_month, last))


def series_dates(first_date: date, cadence_months: int, day_of_month: int, count: int) -> list[date]:
    """Quarterly on the 8th from 2023-09-08 → 2023-09-08, 2023-12-08, 2024-03-08, 2024-06-08 (day clamped)."""
    if cadence_months < 1:
        raise InvalidInput({"cadence_months": ["Must be at least 1."]})
    return [add_months(first_date, cadence_months * index, day_of_month) for index in range(count)]


def meeting_start(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=BANGKOK).astimezone(UTC)


@dataclass(frozen=True)
class MeetingView:
    """What a message about a meeting needs to say."""

    id: str
    number: int
    title: str
    committee_kind: str
    starts_at: datetime
    ends_at: datetime
    place: str
    status: str = "scheduled"
    sequence: int = 0
    reason: str = ""


def meeting_name(meeting: MeetingView, language: str) -> str:
    if language == "en":
        return f"{meeting.title} — follow-up meeting no. {meeting.number}"
    return f"{meeting.title} ครั้งที่ {meeting.number}"


def meeting_message(
    kind: str,
    meeting: MeetingView,
    name: str,
    language: str = "th",
    days_before: int = 0,
    previous_start: datetime | None = None,
) -> Message:
    """Invitation, reminder (``days_before``), rescheduling or cancelling notice, Thai or English."""
    title = meeting_name(meeting, language)
    when = people_datetime(meeting.starts_at, language)
    if language == "en":
        lines = {
            "invitation": (f"Invitation: {title}", f"You are invited to {title} on {when} at {meeting.place}."),
            "reminder": (
                f"Reminder: {title} {_when_en(days_before)}",
                f"{title} takes place on {when} at {meeting.place}.",
            ),
            "rescheduled": (
                f"Rescheduled: {title}",
                f"{title}, planned for {people_datetime(previous_start, language) if previous_start else '-'}, "
                f"is moved to {when} at {meeting.place}." + (f"\nReason: {meeting.reason}" if meeting.reason else ""),
            ),
            "cancelled": (
                f"Cancelled: {title}",
                f"{title} on {when} is cancelled." + (f"\nReason: {meeting.reason}" if meeting.reason else ""),
            ),
        }
        subject, text = lines[kind]
        return Message(subject, f"Dear {name},\n{text}\nThe calendar invitation is attached.")
    lines = {
        "invitation": (f"ขอเชิญประชุม{title}", f"ขอเชิญเข้าร่วมประชุม{title} ในวันที่ {when} ณ {meeting.place}"),
        "reminder": (
            f"แจ้งเตือน: ประชุม{title} {_when_th(days_before)}",
            f"ขอเรียนเตือนการประชุม{title} ในวันที่ {when} ณ {meeting.place}",
        ),
        "rescheduled": (
            f"เลื่อนการประชุม{title}",
            f"การประชุม{title} "
            + (f"เดิมกำหนดวันที่ {people_datetime(previous_start, language)} " if previous_start else "")
            + f"เลื่อนเป็นวันที่ {when} ณ {meeting.place}"
            + (f"\nเหตุผล: {meeting.reason}" if meeting.reason else ""),
        ),
        "cancelled": (
            f"ยกเลิกการประชุม{title}",
            f"ขอแจ้งยกเลิกการประชุม{title} ในวันที่ {when}" + (f"\nเหตุผล: {meeting.reason}" if meeting.reason else ""),
        ),
    }
    subject, text = lines[kind]
    return Message(subject, f"เรียน {name}\n{text}\nแนบไฟล์นัดหมายปฏิทินมาพร้อมนี้")


def _when_th(days: int) -> str:
    return {0: "วันนี้", 1: "พรุ่งนี้"}.get(days, f"ในอีก {days} วัน")


def _when_en(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def reminders_to_send(due_days: list[int]) -> tuple[int | None, list[int]]:
    """Of a meeting's reminders now due, send only the closest one (e.g. 1 day); the others are superseded."""
    if not due_days:
        return None, []
    closest = min(due_days)
    return closest, [days for days in due_days if days != closest]


@dataclass(frozen=True)
class ReportNotice:
    project_id: str
    project_title: str
    fund_code: str
    fund_name: str
    report: str
    due_date: date
    owner_name: str
    status: str  # due | overdue
    days_overdue: int = 0


@dataclass(frozen=True)
class OpenResolution:
    id: str
    meeting_number: int
    text: str
    responsible: str


AGENDA_TITLES = {
    "announcements": "เรื่องที่ประธานแจ้งให้ที่ประชุมทราบ",
    "previous_minutes": "รับรองรายงานการประชุมครั้งก่อน",
    "resolutions_follow_up": "ติดตามมติที่ประชุมครั้งก่อน",
    "project_progress": "รายงานความก้าวหน้าโครงการ",
    "late_reports": "โครงการที่ส่งรายงานล่าช้า",
    "plans": "แผนการดำเนินงานช่วงต่อไป",
    "next_steps": "ขั้นตอนต่อไปและนัดหมายการประชุมครั้งถัดไป",
}


def prefilled_agenda(
    number: int,
    open_resolutions: list[OpenResolution],
    due_reports: list[ReportNotice],
    late_reports: list[ReportNotice],
    next_meeting: datetime | None,
) -> list[dict]:
    """The agenda (วาระ) of a follow-up meeting, prefilled from what the system knows, in Thai."""

    def report_line(notice: ReportNotice) -> str:
        name = REPORT_NAMES_TH.get(notice.report, notice.report)
        late = f" ล่าช้า {notice.days_overdue} วัน" if notice.status == "overdue" else ""
        return (
            f"{notice.project_title} ({notice.fund_name}) — {name} กำหนดส่ง {thai_date(notice.due_date)}{late}"
            f" — ผู้รับผิดชอบ {notice.owner_name}"
        )

    items = {
        "announcements": [],
        "previous_minutes": [f"รายงานการประชุมครั้งที่ {number - 1}"] if number > 1 else [],
        "resolutions_follow_up": [
            f"มติครั้งที่ {resolution.meeting_number}: {resolution.text}"
            + (f" (ผู้รับผิดชอบ: {resolution.responsible})" if resolution.responsible else "")
            for resolution in open_resolutions
        ],
        "project_progress": [report_line(notice) for notice in due_reports],
        "late_reports": [report_line(notice) for notice in late_reports],
        "plans": [],
        "next_steps": [f"ประชุมครั้งที่ {number + 1} วันที่ {people_datetime(next_meeting, 'th')}"] if next_meeting else [],
    }
    return [
        {"number": index, "kind": kind, "title": AGENDA_TITLES[kind], "items": items[kind]}
        for index, kind in enumerate(AGENDA_TITLES, start=1)
    ]


@dataclass(frozen=True)
class Invitee:
    key: str  # "r:<recipient id>" or "owner:<fund code>:<name>"
    name: str
    role: str
    recipient: Recipient | None = None
    contact: str = ""

    @property
    def language(self) -> str:
        return self.recipient.language if self.recipient else "th"


@dataclass
class Quorum:
    members: int
    members_present: int
    required: int
    attendees: int
    met: bool = field(init=False)

    def __post_init__(self):
        self.met = self.members > 0 and self.members_present >= self.required


def quorum(members: int, members_present: int, attendees: int, required: int | None = None) -> Quorum:
    """At least half of the members (ไม่น้อยกว่ากึ่งหนึ่ง) unless the series sets a number."""
    needed = required if required is not None else max(1, math.ceil(members / 2))
    return Quorum(members, members_present, needed, attendees)


def check_can_change(status: str, action: str) -> None:
    if status != "scheduled":
        raise Conflict(f"A {status} meeting cannot be {action}.", status)


# --- iCalendar (RFC 5545) --------------------------------------------------------------------------

PRODID = "-//Kongtun//Follow-up meetings//TH"
VTIMEZONE_BANGKOK = [
    "BEGIN:VTIMEZONE",
    "TZID:Asia/Bangkok",
    "BEGIN:STANDARD",
    "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0700",
    "TZOFFSETTO:+0700",
    "TZNAME:ICT",
    "END:STANDARD",
    "END:VTIMEZONE",
]


def ical_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def ical_fold(line: str) -> str:
    """Fold at 75 octets without splitting a UTF-8 character (RFC 5545 §3.1)."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local_stamp(moment: datetime) -> str:
    return local(moment).strftime("%Y%m%dT%H%M%S")


def ical_event(
    meeting: MeetingView,
    domain: str,
    stamp: datetime,
    description: str = "",
    attendees: list[tuple[str, str]] = (),
    organizer: str = "",
) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:meeting-{meeting.id}@{domain}",
        f"DTSTAMP:{_utc_stamp(stamp)}",
        f"DTSTART;TZID=Asia/Bangkok:{_local_stamp(meeting.starts_at)}",
        f"DTEND;TZID=Asia/Bangkok:{_local_stamp(meeting.ends_at)}",
        f"SEQUENCE:{meeting.sequence}",
        f"SUMMARY:{ical_escape(meeting_name(meeting, 'th'))}",
        f"LOCATION:{ical_escape(meeting.place)}",
        f"STATUS:{'CANCELLED' if meeting.status == 'cancelled' else 'CONFIRMED'}",
    ]
    if description:
        lines.append(f"DESCRIPTION:{ical_escape(description)}")
    if organizer:
        lines.append(f"ORGANIZER:mailto:{organizer}")
    for name, email in attendees:
        lines.append(f'ATTENDEE;CN="{name.replace(chr(34), "")}";ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{email}')
    lines.append("END:VEVENT")
    return lines


def ical_calendar(events: list[list[str]], method: str = "PUBLISH", name: str = "") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", f"METHOD:{method}"]
    if name:
        lines += [f"X-WR-CALNAME:{ical_escape(name)}", "X-WR-TIMEZONE:Asia/Bangkok"]
    lines += VTIMEZONE_BANGKOK
    for event in events:
        lines += event
    lines.append("END:VCALENDAR")
    return "\r\n".join(ical_fold(line) for line in lines) + "\r\n"


def agenda_text(agenda: list[dict]) -> str:
    parts = []
    for item in agenda:
        parts.append(f"วาระที่ {item['number']} {item['title']}")
        parts += [f"  - {line}" for line in item["items"]]
    return "\n".join(parts)
