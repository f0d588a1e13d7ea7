"""Notifications: reminders, the recipient directory, follow-up meetings, calendars and webhooks."""

from __future__ import annotations

import uuid
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from werkzeug.wrappers import Response

from kongtun_common.errors import NotFound

from ..http import json_response, read_json, read_query, route
from ..schemas import FUND_CODE, THAI_TEXT, example

TAG = "notifications"
BASE = "/api/v1/notifications"
HH_MM = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Must be a time HH:MM, e.g. 09:30.")
ROLES = ["owner", "officer", "committee", "mentor", "chair", "secretary", "member"]
WEBHOOK_TYPES = [
    "ReportDue",
    "ReportOverdue",
    "FundReportDue",
    "FundReportOverdue",
    "ProjectSubmitted",
    "ProjectApproved",
    "ProjectRevisionRequested",
    "ProjectRejected",
    "MeetingScheduled",
    "MeetingRescheduled",
    "MeetingCancelled",
    "MeetingMinutesRecorded",
]
CALENDAR = "text/calendar; charset=utf-8"


def id_of(value: str, resource: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(resource, value, field=field) from None


def calendar_response(text: str, filename: str) -> Response:
    return Response(text, content_type=CALENDAR, headers={"Content-Disposition": f'inline; filename="{filename}"'})


# --- reminders and notifications ------------------------------------------------------------------


class ReminderQuery(Schema):
    project_id = fields.UUID(load_default=None)
    recipient = fields.String(load_default=None, validate=validate.Length(max=300))


class DeliveryOut(Schema):
    id = fields.UUID()
    channel = fields.String(**example("email"))
    status = fields.String(**example("sent"))
    attempts = fields.Integer(**example(1))
    next_attempt_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class ReminderOut(Schema):
    id = fields.UUID()
    kind = fields.String(**example("ReportDue"))
    project_id = fields.UUID(allow_none=True)
    meeting_id = fields.UUID(allow_none=True)
    recipient = fields.String(**example("ชมรมผู้สูงอายุบ้านไร่"))
    recipient_id = fields.UUID(allow_none=True)
    role = fields.String(**example("owner"))
    channel = fields.String(**example("email"))
    language = fields.String(**example("th"))
    subject = fields.String(**example("แจ้งเตือน: รายงานผลการดำเนินงาน (ส.3) ครบกำหนดส่ง 8 มิถุนายน 2567"))
    body = fields.String()
    created_at = fields.DateTime()
    deliveries = fields.List(fields.Nested(DeliveryOut))


# --- recipients -----------------------------------------------------------------------------------


class RoleIn(Schema):
    scope = fields.String(
        required=True,
        validate=validate.Length(min=1, max=60),
        metadata={"description": "A fund code or a committee / programme code", "example": "L3363"},
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES), **example("mentor"))


class QuietHours(Schema):
    start = fields.String(required=True, validate=HH_MM, **example("21:00"))
    end = fields.String(required=True, validate=HH_MM, **example("07:00"))


class RecipientIn(Schema):
    name = fields.String(required=True, validate=THAI_TEXT, **example("นายชลิต เกตุแสง"))
    email = fields.Email(load_default=None, allow_none=True, **example("chalit@example.go.th"))
    language = fields.String(load_default="th", validate=validate.OneOf(["th", "en"]), **example("th"))
    channels = fields.List(fields.String(validate=validate.OneOf(["email"])), load_default=lambda: ["email"])
    quiet_hours = fields.Nested(QuietHours, load_default=None, allow_none=True)
    unsubscribed = fields.Boolean(load_default=False)
    roles = fields.List(fields.Nested(RoleIn), load_default=list, validate=validate.Length(max=50))


class RecipientOut(RecipientIn):
    id = fields.UUID()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RecipientQuery(Schema):
    scope = fields.String(load_default=None, validate=validate.Length(max=60))
    role = fields.String(load_default=None, validate=validate.OneOf(ROLES))


# --- meetings -------------------------------------------------------------------------------------


class SeriesIn(Schema):
    committee_code = fields.String(required=True, validate=validate.Length(min=1, max=60), **example("DQLC-SNR"))
    committee_kind = fields.String(
        required=True,
        validate=validate.OneOf(["district_committee", "fund_committee", "programme"]),
        **example("district_committee"),
    )
    title = fields.String(required=True, validate=THAI_TEXT, **example("ประชุมติดตามประเมินผล พชอ.ศรีนครินทร์"))
    cadence_months = fields.Integer(load_default=3, strict=True, validate=validate.Range(1, 12), **example(3))
    day_of_month = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 31), **example(8)
    )
    start_time = fields.String(load_default="09:30", validate=HH_MM, **example("09:30"))
    duration_minutes = fields.Integer(load_default=180, strict=True, validate=validate.Range(15, 1440), **example(360))
    place = fields.String(required=True, validate=THAI_TEXT, **example("ห้องประชุมที่ว่าการอำเภอศรีนครินทร์"))
    first_date = fields.Date(
        required=True,
        validate=validate.Range(date(2000, 1, 1), date(2200, 12, 31), error="Must be a date between 2000 and 2200."),
        **example("2023-09-08"),
    )
    first_number = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 10000), **example(4))
    count = fields.Integer(load_default=4, strict=True, validate=validate.Range(1, 24), **example(4))
    fund_codes = fields.List(fields.String(validate=FUND_CODE), load_default=list, **example(["L3363"]))
    district = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT, **example("ศรีนครินทร์"))
    province = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT, **example("พัทลุง"))
    reminder_days = fields.List(
        fields.Integer(strict=True, validate=validate.Range(0, 60)), load_default=lambda: [7, 1], **example([7, 1])
    )
    quorum = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 1000))


class SeriesQuery(Schema):
    committee_code = fields.String(load_default=None, validate=validate.Length(max=60))


class ExtendIn(Schema):
    count = fields.Integer(required=True, strict=True, validate=validate.Range(1, 24), **example(4))


class MeetingOut(Schema):
    id = fields.UUID()
    series_id = fields.UUID()
    committee_code = fields.String(**example("DQLC-SNR"))
    title = fields.String(**example("ประชุมติดตามประเมินผล พชอ.ศรีนครินทร์"))
    number = fields.Integer(**example(4))
    date = fields.Date(**example("2023-09-08"))
    start_time = fields.String(**example("09:30"))
    starts_at = fields.String(**example("2023-09-08T09:30:00+07:00"))
    ends_at = fields.String(**example("2023-09-08T15:30:00+07:00"))
    date_th = fields.String(**example("8 กันยายน 2566 เวลา 09.30 น."))
    place = fields.String(**example("ห้องประชุมที่ว่าการอำเภอศรีนครินทร์"))
    status = fields.String(**example("scheduled"))
    sequence = fields.Integer(**example(0))
    reason = fields.String()


class SeriesOut(SeriesIn):
    id = fields.UUID()
    meetings = fields.List(fields.Nested(MeetingOut))


class AgendaItemOut(Schema):
    number = fields.Integer(**example(3))
    kind = fields.String(**example("resolutions_follow_up"))
    title = fields.String(**example("ติดตามมติที่ประชุมครั้งก่อน"))
    items = fields.List(fields.String())


class InviteeOut(Schema):
    key = fields.String()
    name = fields.String(**example("นางจริยา จันทร์ดำ"))
    role = fields.String(**example("chair"))
    recipient_id = fields.UUID(allow_none=True)


class AttendanceOut(Schema):
    key = fields.String()
    name = fields.String()
    role = fields.String()
    status = fields.String(**example("present"))


class QuorumOut(Schema):
    members = fields.Integer(**example(14))
    members_present = fields.Integer(**example(9))
    required = fields.Integer(**example(7))
    attendees = fields.Integer(**example(27))
    met = fields.Boolean(**example(True))


class ResolutionOut(Schema):
    id = fields.UUID()
    meeting_number = fields.Integer()
    text = fields.String(**example("ทุกกองทุนต้องพัฒนาแผนงานในระบบเว็บกองทุนตำบล"))
    responsible = fields.String(**example("เลขา พชอ."))
    due_date = fields.Date(allow_none=True)
    status = fields.String(**example("open"))


class MeetingDetailOut(MeetingOut):
    agenda = fields.List(fields.Nested(AgendaItemOut))
    minutes = fields.String(allow_none=True)
    invitees = fields.List(fields.Nested(InviteeOut))
    attendance = fields.List(fields.Nested(AttendanceOut))
    quorum = fields.Nested(QuorumOut)
    resolutions = fields.List(fields.Nested(ResolutionOut))


class RescheduleIn(Schema):
    date = fields.Date(required=True, **example("2023-09-15"))
    start_time = fields.String(load_default=None, allow_none=True, validate=HH_MM, **example("13:30"))
    place = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)
    reason = fields.String(load_default="", validate=validate.Length(max=1000), **example("ตรงกับการประชุมระดับจังหวัด"))


class CancelIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000), **example("งดประชุมเนื่องจากน้ำท่วม"))


class AttendeeIn(Schema):
    invitee_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=400))
    name = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT, **example("ผู้แทนสาธารณสุขอำเภอ"))
    role = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=30), **example("guest"))
    status = fields.String(
        required=True, validate=validate.OneOf(["present", "absent", "excused"]), **example("present")
    )

    @validates_schema
    def _named(self, data, **kwargs):
        if not data.get("invitee_key") and not data.get("name"):
            raise ValidationError("Give an invitee_key from the invitees, or a name for a guest.", "name")


class AttendanceIn(Schema):
    attendees = fields.List(fields.Nested(AttendeeIn), required=True, validate=validate.Length(min=1, max=500))


class ResolutionIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000), **example("เร่งรัดการส่งรายงานที่ล่าช้า"))
    responsible = fields.String(load_default="", validate=validate.Length(max=300), **example("พี่เลี้ยงจังหวัด"))
    due_date = fields.Date(load_default=None, allow_none=True)


class MinutesIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=100_000), **example("ที่ประชุมรับทราบ"))
    resolutions = fields.List(fields.Nested(ResolutionIn), load_default=list)
    resolved = fields.List(fields.UUID(), load_default=list)


# --- webhooks -------------------------------------------------------------------------------------


class SubscriptionIn(Schema):
    owner = fields.String(required=True, validate=THAI_TEXT, **example("ทีมระบบข้อมูล สสจ.พัทลุง"))
    url = fields.Url(
        required=True, schemes={"http", "https"}, require_tld=False, **example("https://example.org/hooks")
    )
    types = fields.List(
        fields.String(validate=validate.OneOf(WEBHOOK_TYPES)),
        required=True,
        validate=validate.Length(min=1),
        **example(["ReportOverdue", "MeetingScheduled"]),
    )
    fund_codes = fields.List(fields.String(validate=FUND_CODE), load_default=list, **example(["L3363"]))


class SubscriptionOut(Schema):
    id = fields.UUID()
    owner = fields.String()
    url = fields.String()
    types = fields.List(fields.String())
    fund_codes = fields.List(fields.String())
    status = fields.String(**example("active"))
    disabled_reason = fields.String(allow_none=True)
    disabled_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    secret = fields.String(metadata={"description": "HMAC-SHA256 signing secret; shown only when created"})


class EnableIn(Schema):
    secret = fields.String(required=True, validate=validate.Length(min=1, max=128))


class AttemptOut(Schema):
    attempt = fields.Integer()
    at = fields.DateTime()
    outcome = fields.String(**example("failed"))
    status_code = fields.Integer(allow_none=True, **example(500))
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()


class WebhookDeliveryOut(Schema):
    id = fields.UUID()
    event_type = fields.String(**example("ReportOverdue"))
    status = fields.String(**example("sent"))
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    log = fields.List(fields.Nested(AttemptOut))


class NotificationsRoutes:
    @route(
        "GET",
        f"{BASE}/reminders",
        "Reminders sent to people",
        TAG,
        query=ReminderQuery,
        response=ReminderOut,
        many=True,
        errors=(422, 503),
    )
    def reminders(self, request):
        query = read_query(request, ReminderQuery)
        project_id = str(query["project_id"]) if query["project_id"] else None
        return json_response({"items": self.notifications.reminders(project_id, query["recipient"])})

    # recipients

    @route(
        "POST",
        f"{BASE}/recipients",
        "Register a recipient (role per fund or committee, preferences)",
        TAG,
        body=RecipientIn,
        response=RecipientOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def register_recipient(self, request):
        recipient = self.notifications.register_recipient(read_json(request, RecipientIn))
        return json_response(recipient, 201, {"Location": f"{BASE}/recipients/{recipient['id']}"})

    @route(
        "GET",
        f"{BASE}/recipients",
        "Recipients, by scope and role",
        TAG,
        query=RecipientQuery,
        response=RecipientOut,
        many=True,
        errors=(422, 503),
    )
    def list_recipients(self, request):
        query = read_query(request, RecipientQuery)
        return json_response({"items": self.notifications.list_recipients(query["scope"], query["role"])})

    @route("GET", f"{BASE}/recipients/<recipient_id>", "A recipient", TAG, response=RecipientOut, errors=(404, 503))
    def get_recipient(self, request, recipient_id):
        return json_response(self.notifications.get_recipient(id_of(recipient_id, "recipient", "recipient_id")))

    @route(
        "PUT",
        f"{BASE}/recipients/<recipient_id>",
        "Replace a recipient's details and preferences",
        TAG,
        body=RecipientIn,
        response=RecipientOut,
        errors=(400, 404, 415, 422, 503),
    )
    def update_recipient(self, request, recipient_id):
        recipient_id = id_of(recipient_id, "recipient", "recipient_id")
        return json_response(self.notifications.update_recipient(recipient_id, read_json(request, RecipientIn)))

    @route(
        "POST",
        f"{BASE}/recipients/<recipient_id>/unsubscribe",
        "Unsubscribe a recipient from every message",
        TAG,
        response=RecipientOut,
        errors=(404, 503),
    )
    def unsubscribe(self, request, recipient_id):
        return json_response(self.notifications.unsubscribe(id_of(recipient_id, "recipient", "recipient_id")))

    @route(
        "GET",
        f"{BASE}/recipients/<recipient_id>/notifications",
        "What a recipient was told, with delivery states",
        TAG,
        response=ReminderOut,
        many=True,
        errors=(404, 503),
    )
    def recipient_notifications(self, request, recipient_id):
        recipient_id = id_of(recipient_id, "recipient", "recipient_id")
        return json_response({"items": self.notifications.recipient_notifications(recipient_id)})

    # meeting series and meetings

    @route(
        "POST",
        f"{BASE}/meeting-series",
        "Schedule a follow-up meeting series and its first meetings",
        TAG,
        body=SeriesIn,
        response=SeriesOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def create_series(self, request):
        series = self.notifications.create_series(read_json(request, SeriesIn))
        return json_response(series, 201, {"Location": f"{BASE}/meeting-series/{series['id']}"})

    @route(
        "GET",
        f"{BASE}/meeting-series",
        "Meeting series, by committee",
        TAG,
        query=SeriesQuery,
        response=SeriesOut,
        many=True,
        errors=(422, 503),
    )
    def list_series(self, request):
        query = read_query(request, SeriesQuery)
        return json_response({"items": self.notifications.list_series(query["committee_code"])})

    @route(
        "GET",
        f"{BASE}/meeting-series/<series_id>",
        "A meeting series with its meetings",
        TAG,
        response=SeriesOut,
        errors=(404, 503),
    )
    def get_series(self, request, series_id):
        return json_response(self.notifications.get_series(id_of(series_id, "meeting series", "series_id")))

    @route(
        "POST",
        f"{BASE}/meeting-series/<series_id>/meetings",
        "Schedule the series' next meetings",
        TAG,
        body=ExtendIn,
        response=MeetingOut,
        many=True,
        status=201,
        errors=(400, 404, 415, 422, 503),
    )
    def extend_series(self, request, series_id):
        series_id = id_of(series_id, "meeting series", "series_id")
        return json_response({"items": self.notifications.extend_series(series_id, read_json(request, ExtendIn))}, 201)

    @route(
        "GET",
        f"{BASE}/meetings/<meeting_id>",
        "A meeting: agenda, invitees, attendance, quorum, minutes",
        TAG,
        response=MeetingDetailOut,
        errors=(404, 503),
    )
    def get_meeting(self, request, meeting_id):
        return json_response(self.notifications.get_meeting(id_of(meeting_id, "meeting", "meeting_id")))

    @route(
        "POST",
        f"{BASE}/meetings/<meeting_id>/reschedule",
        "Move a meeting (invitees are told)",
        TAG,
        body=RescheduleIn,
        response=MeetingOut,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def reschedule_meeting(self, request, meeting_id):
        meeting_id = id_of(meeting_id, "meeting", "meeting_id")
        return json_response(self.notifications.reschedule_meeting(meeting_id, read_json(request, RescheduleIn)))

    @route(
        "POST",
        f"{BASE}/meetings/<meeting_id>/cancel",
        "Cancel a meeting (invitees are told)",
        TAG,
        body=CancelIn,
        response=MeetingOut,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def cancel_meeting(self, request, meeting_id):
        meeting_id = id_of(meeting_id, "meeting", "meeting_id")
        return json_response(self.notifications.cancel_meeting(meeting_id, read_json(request, CancelIn)))

    @route(
        "PUT",
        f"{BASE}/meetings/<meeting_id>/attendance",
        "Record who attended (quorum shown)",
        TAG,
        body=AttendanceIn,
        response=MeetingDetailOut,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def record_attendance(self, request, meeting_id):
        meeting_id = id_of(meeting_id, "meeting", "meeting_id")
        return json_response(self.notifications.record_attendance(meeting_id, read_json(request, AttendanceIn)))

    @route(
        "POST",
        f"{BASE}/meetings/<meeting_id>/minutes",
        "Record the minutes and resolutions",
        TAG,
        body=MinutesIn,
        response=MeetingDetailOut,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def record_minutes(self, request, meeting_id):
        meeting_id = id_of(meeting_id, "meeting", "meeting_id")
        return json_response(self.notifications.record_minutes(meeting_id, read_json(request, MinutesIn)))

    @route(
        "GET",
        f"{BASE}/meetings/<meeting_id>/invitation.ics",
        "A meeting as an iCalendar file (RFC 5545)",
        TAG,
        media_type="text/calendar",
        errors=(404, 503),
    )
    def meeting_ics(self, request, meeting_id):
        meeting_id = id_of(meeting_id, "meeting", "meeting_id")
        return calendar_response(self.notifications.meeting_ics(meeting_id), f"meeting-{meeting_id}.ics")

    @route(
        "GET",
        f"{BASE}/committees/<committee_code>/calendar.ics",
        "A committee's meetings as a calendar feed",
        TAG,
        media_type="text/calendar",
        errors=(404, 503),
    )
    def committee_calendar(self, request, committee_code):
        return calendar_response(self.notifications.committee_calendar(committee_code), f"{committee_code}.ics")

    # webhooks

    @route(
        "POST",
        f"{BASE}/webhooks",
        "Subscribe a webhook (signed with HMAC-SHA256)",
        TAG,
        body=SubscriptionIn,
        response=SubscriptionOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def subscribe_webhook(self, request):
        subscription = self.notifications.subscribe_webhook(read_json(request, SubscriptionIn))
        return json_response(subscription, 201, {"Location": f"{BASE}/webhooks/{subscription['id']}"})

    @route(
        "GET",
        f"{BASE}/webhooks/<subscription_id>",
        "A webhook subscription",
        TAG,
        response=SubscriptionOut,
        errors=(404, 503),
    )
    def get_webhook(self, request, subscription_id):
        return json_response(self.notifications.get_webhook(id_of(subscription_id, "webhook", "subscription_id")))

    @route(
        "POST",
        f"{BASE}/webhooks/<subscription_id>/enable",
        "Re-enable a disabled webhook (its owner: the secret)",
        TAG,
        body=EnableIn,
        response=SubscriptionOut,
        errors=(400, 404, 415, 422, 503),
    )
    def enable_webhook(self, request, subscription_id):
        subscription_id = id_of(subscription_id, "webhook", "subscription_id")
        return json_response(self.notifications.enable_webhook(subscription_id, read_json(request, EnableIn)))

    @route(
        "GET",
        f"{BASE}/webhooks/<subscription_id>/deliveries",
        "A webhook's delivery log",
        TAG,
        response=WebhookDeliveryOut,
        many=True,
        errors=(404, 503),
    )
    def webhook_deliveries(self, request, subscription_id):
        subscription_id = id_of(subscription_id, "webhook", "subscription_id")
        return json_response({"items": self.notifications.webhook_deliveries(subscription_id)})
