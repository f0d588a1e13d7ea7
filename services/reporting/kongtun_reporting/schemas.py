"""Marshmallow schemas at the reporting service's RPC boundary."""

from marshmallow import Schema, fields, validate

from kongtun_common.fields import Baht


class SummaryFilters(Schema):
    region = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 13))
    province = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    district = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    fiscal_year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(2500, 2700))


class SummaryOut(Schema):
    funds = fields.Integer()
    projects = fields.Integer()
    projects_by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    requested_amount = Baht()
    approved_amount = Baht()
