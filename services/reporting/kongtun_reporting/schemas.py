"""Marshmallow schemas at the reporting service's RPC boundary."""

from marshmallow import Schema, fields, validate

from kongtun_common.fields import Baht

from .domain import FUND_DUTIES, GROUP_BY, STATUS_AFTER
from .use_cases import OBLIGATION_KINDS, OBLIGATION_STATES

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
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(OBLIGATION_KINDS))
    duty = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(FUND_DUTIES))
    fiscal_year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(2500, 2700))
    region = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 13))


ROLLUPS = ("subdistrict", "district", "province", "region")


class FundMoneyFilters(Schema):
    fund_code = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^L[0-9]{4}$"))
    subdistrict = _text()
    district = _text()
    province = _text()
    region = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 13))
    fiscal_year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(2500, 2700))
    group_by = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ROLLUPS))
    flagged = fields.Boolean(load_default=None, allow_none=True)
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class PaceFilters(FundMoneyFilters):
    class Meta:
        exclude = ("flagged",)

    as_of = fields.Date(load_default=None, allow_none=True)
    behind = fields.Boolean(load_default=None, allow_none=True)


class MentorFilters(FundMoneyFilters):
    class Meta:
        exclude = ("flagged", "fiscal_year")

    without_mentor = fields.Boolean(load_default=None, allow_none=True)


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
