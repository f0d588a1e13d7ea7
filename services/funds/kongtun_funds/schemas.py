"""Marshmallow schemas at the funds service's RPC boundary."""

from marshmallow import Schema, fields, validate

THAI_TEXT = validate.Length(min=1, max=300)


class RegisterFund(Schema):
    code = fields.String(
        required=True, validate=validate.Regexp(r"^L[0-9]{4}$", error="Must be L followed by four digits, e.g. L3363.")
    )
    name_th = fields.String(required=True, validate=THAI_TEXT)
    name_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    subdistrict = fields.String(required=True, validate=THAI_TEXT)
    district = fields.String(required=True, validate=THAI_TEXT)
    province = fields.String(required=True, validate=THAI_TEXT)
    region = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 13))


class FundOut(Schema):
    code = fields.String()
    name_th = fields.String()
    name_en = fields.String(allow_none=True)
    subdistrict = fields.String()
    district = fields.String()
    province = fields.String()
    region = fields.Integer()
    registered_at = fields.DateTime()
