"""Marshmallow schemas at the projects service's RPC boundary."""

from marshmallow import Schema, fields, validate

from kongtun_common.fields import Baht

from .domain import OwnerKind

OWNER_KINDS = [kind.value for kind in OwnerKind]


class OwnerIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    kind = fields.String(required=True, validate=validate.OneOf(OWNER_KINDS))
    contact = fields.String(load_default="", validate=validate.Length(max=200))


class DraftIn(Schema):
    fund_code = fields.String(
        required=True, validate=validate.Regexp(r"^L[0-9]{4}$", error="Must be a fund code like L3363.")
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    fiscal_year = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(2500, 2700, error="Must be a fiscal year in the Buddhist Era, e.g. 2567."),
    )
    issue = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    spending_type = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    owner = fields.Nested(OwnerIn, required=True)
    requested_amount = Baht(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    entered_by = fields.String(load_default="", validate=validate.Length(max=200))


class ApprovalIn(Schema):
    approved_amount = Baht(required=True)
    approved_by = fields.String(required=True, validate=validate.Length(min=1, max=300))
    meeting_ref = fields.String(load_default="", validate=validate.Length(max=200))
    by = fields.String(load_default="", validate=validate.Length(max=200))


class ActorIn(Schema):
    by = fields.String(load_default="", validate=validate.Length(max=200))


class OwnerOut(Schema):
    name = fields.String()
    kind = fields.String()
    contact = fields.String()


class TransitionOut(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    by = fields.String()
    at = fields.DateTime()
    reason = fields.String()


class ProjectOut(Schema):
    id = fields.String()
    code = fields.String(allow_none=True)
    fund_code = fields.Function(lambda project: project.fund.code)
    fund_name = fields.Function(lambda project: project.fund.name)
    region = fields.Function(lambda project: project.fund.region)
    province = fields.Function(lambda project: project.fund.province)
    district = fields.Function(lambda project: project.fund.district)
    subdistrict = fields.Function(lambda project: project.fund.subdistrict)
    title = fields.String()
    fiscal_year = fields.Integer()
    issue = fields.String(allow_none=True)
    spending_type = fields.Integer()
    owner = fields.Nested(OwnerOut)
    requested_amount = Baht()
    approved_amount = Baht(allow_none=True)
    approved_by = fields.String(allow_none=True)
    meeting_ref = fields.String(allow_none=True)
    start_date = fields.Date()
    end_date = fields.Date()
    entered_by = fields.String()
    status = fields.String()
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    history = fields.List(fields.Nested(TransitionOut))
