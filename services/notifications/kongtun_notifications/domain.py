"""The notifications service's domain: what a reminder says, in Thai by default.

Plain Python, no framework.  Dates are shown in the Buddhist Era.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kongtun_common.thai import thai_date

REPORT_NAMES_TH = {
    "progress": "รายงานความก้าวหน้า (ส.1)",
    "mentor_follow_up": "รายงานการติดตามของพี่เลี้ยง (ส.2)",
    "final": "รายงานผลการดำเนินงาน (ส.3)",
    "financial": "รายงานการเงิน (ง.1)",
    "financial_closing": "รายงานสรุปการเงิน (ง.2)",
}


@dataclass(frozen=True)
class Reminder:
    id: str
    event_id: str
    project_id: str
    recipient_name: str
    recipient_role: str
    channel: str
    subject: str
    body: str
    language: str = "th"


def report_due_reminder(reminder_id: str, event_id: str, data: dict, today: date) -> Reminder:
    """The reminder a project's owner gets when a report falls due (``today`` in Asia/Bangkok)."""
    report = REPORT_NAMES_TH.get(data["report"], data["report"])
    due_date = date.fromisoformat(data["due_date"])
    due = thai_date(due_date)
    days = (due_date - today).days
    when = "ครบกำหนดวันนี้" if days <= 0 else f"อีก {days} วัน"
    return Reminder(
        id=reminder_id,
        event_id=event_id,
        project_id=data["project_id"],
        recipient_name=data["owner"]["name"],
        recipient_role="owner",
        channel="record",
        subject=f"แจ้งเตือน: {report} ครบกำหนดส่ง {due}",
        body=(
            f"เรียน {data['owner']['name']}\n"
            f'โครงการ "{data["project_title"]}" ของ{data["fund_name"]} '
            f"มีกำหนดส่ง{report} ภายในวันที่ {due} ({when})\n"
            "กรุณาส่งรายงานผ่านระบบกองทุนก่อนวันครบกำหนด"
        ),
    )
