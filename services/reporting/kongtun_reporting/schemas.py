"""Marshmallow schemas at the reporting service's RPC boundary."""

from marshmallow import Schema, fields, validate

from kongtun_common.fields import Baht

from .domain import GROUP_BY, STATUS_AFTER
from .use_cases import OBLIGATION_STATES

STATUSES = sorted(set(STATUS_AFTER.values()))
REPORTS = ("progress", "mentor_follow_up", "final", "financial", "financial_closing")


def _text(**kwargs):
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300), **kwargs)


class SummaryFilters(Schema):
    region = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 13))
    province = _text()
    district = _text()
    subdistrict = _text()
    fund_code = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^L[0-9]{4}$"))
    issue = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    spending_type = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 5))
    owner_kind = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=30))
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    fiscal_year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(2500, 2700))
    group_by = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(GROUP_BY))


class CoverageQuery(Schema):
    fiscal_year = fields.Integer(required=True, validate=validate.Range(2500, 2700))
    programme_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    issues = fields.List(
        fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,59}$")), load_default=None, allow_none=True
    )


class ObligationFilters(Schema):
    state = fields.String(load_default="all", validate=validate.OneOf(OBLIGATION_STATES))
    fund_code = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^L[0-9]{4}$"))
    province = _text()
    district = _text()
    report = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(REPORTS))
    limit = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 10000))


class GroupOut(Schema):
    key = fields.Raw(allow_none=True)
    projects = fields.Integer()
    requested_amount = Baht()
    approved_amount = Baht()


class SummaryOut(Schema):
    funds = fields.Integer()
    projects = fields.Integer()
    projects_by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    requested_amount = Baht()
    approved_amount = Baht()
    group_by = fields.String()
    groups = fields.List(fields.Nested(GroupOut))
