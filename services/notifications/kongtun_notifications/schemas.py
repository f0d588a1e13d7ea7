"""Marshmallow schemas at the notifications service's RPC boundary."""

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .domain import ATTENDANCE, CHANNELS, COMMITTEE_KINDS, LANGUAGES, ROLES
from .use_cases import WEBHOOK_TYPES

FUND_CODE = validate.Regexp(r"^L[0-9]{4}$", error="Must be a fund code like L3363.")
HH_MM = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Must be a time HH:MM, e.g. 09:30.")
TEXT = validate.Length(min=1, max=300)


class RoleIn(Schema):
    scope = fields.String(required=True, validate=validate.Length(min=1, max=60))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class QuietHoursIn(Schema):
    start = fields.String(required=True, validate=HH_MM)
    end = fields.String(required=True, validate=HH_MM)


class RecipientIn(Schema):
    name = fields.String(required=True, validate=TEXT)
    email = fields.Email(load_default=None, allow_none=True)
    language = fields.String(load_default="th", validate=validate.OneOf(LANGUAGES))
    channels = fields.List(fields.String(validate=validate.OneOf(CHANNELS)), load_default=lambda: ["email"])
    quiet_hours = fields.Nested(QuietHoursIn, load_default=None, allow_none=True)
    unsubscribed = fields.Boolean(load_default=False)
    roles = fields.List(fields.Nested(RoleIn), load_default=list, validate=validate.Length(max=50))


class SeriesIn(Schema):
    committee_code = fields.String(required=True, validate=validate.Length(min=1, max=60))
    committee_kind = fields.String(required=True, validate=validate.OneOf(COMMITTEE_KINDS))
    title = fields.String(required=True, validate=TEXT)
    cadence_months = fields.Integer(load_default=3, strict=True, validate=validate.Range(1, 12))
    day_of_month = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 31))
    start_time = fields.String(load_default="09:30", validate=HH_MM)
    duration_minutes = fields.Integer(load_default=180, strict=True, validate=validate.Range(15, 24 * 60))
    place = fields.String(required=True, validate=TEXT)
    first_date = fields.Date(required=True, validate=validate.Range(date(2000, 1, 1), date(2200, 12, 31)))
    first_number = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 10000))
    count = fields.Integer(load_default=4, strict=True, validate=validate.Range(1, 24))
    fund_codes = fields.List(fields.String(validate=FUND_CODE), load_default=list, validate=validate.Length(max=500))
    district = fields.String(load_default=None, allow_none=True, validate=TEXT)
    province = fields.String(load_default=None, allow_none=True, validate=TEXT)
    reminder_days = fields.List(
        fields.Integer(strict=True, validate=validate.Range(0, 60)),
        load_default=lambda: [7, 1],
        validate=validate.Length(max=5),
    )
    quorum = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 1000))


class ExtendIn(Schema):
    count = fields.Integer(required=True, strict=True, validate=validate.Range(1, 24))


class RescheduleIn(Schema):
    date = fields.Date(required=True)
    start_time = fields.String(load_default=None, allow_none=True, validate=HH_MM)
    place = fields.String(load_default=None, allow_none=True, validate=TEXT)
    reason = fields.String(load_default="", validate=validate.Length(max=1000))


class CancelIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class AttendeeIn(Schema):
    invitee_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=400))
    name = fields.String(load_default=None, allow_none=True, validate=TEXT)
    role = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=30))
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE))

    @validates_schema
    def _named(self, data, **kwargs):
        if not data.get("invitee_key") and not data.get("name"):
            raise ValidationError("Give an invitee_key from the invitees, or a name for a guest.", "name")


class AttendanceIn(Schema):
    attendees = fields.List(fields.Nested(AttendeeIn), required=True, validate=validate.Length(min=1, max=500))


class ResolutionIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    responsible = fields.String(load_default="", validate=validate.Length(max=300))
    due_date = fields.Date(load_default=None, allow_none=True)


class MinutesIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    resolutions = fields.List(fields.Nested(ResolutionIn), load_default=list, validate=validate.Length(max=200))
    resolved = fields.List(fields.String(validate=validate.Length(max=36)), load_default=list)


class SubscriptionIn(Schema):
    owner = fields.String(required=True, validate=TEXT)
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    types = fields.List(
        fields.String(validate=validate.OneOf(WEBHOOK_TYPES)), required=True, validate=validate.Length(min=1)
    )
    fund_codes = fields.List(fields.String(validate=FUND_CODE), load_default=list, validate=validate.Length(max=500))


class EnableIn(Schema):
    secret = fields.String(required=True, validate=validate.Length(min=1, max=128))
