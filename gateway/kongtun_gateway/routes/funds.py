"""Funds: the fund registry."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..http import json_response, read_json, route
from ..schemas import FUND_CODE, THAI_TEXT, example

TAG = "funds"


class FundIn(Schema):
    code = fields.String(required=True, validate=FUND_CODE, **example("L3363"))
    name_th = fields.String(required=True, validate=THAI_TEXT, **example("กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่"))
    name_en = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=300),
        **example("Ban Rai Subdistrict Municipality Health Security Fund"),
    )
    subdistrict = fields.String(required=True, validate=THAI_TEXT, **example("บ้านไร่"))
    district = fields.String(required=True, validate=THAI_TEXT, **example("ศรีนครินทร์"))
    province = fields.String(required=True, validate=THAI_TEXT, **example("พัทลุง"))
    region = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 13), **example(12)
    )


class FundOut(FundIn):
    registered_at = fields.DateTime(**example("2024-03-08T09:00:00+00:00"))


class FundsRoutes:
    @route(
        "POST",
        "/api/v1/funds",
        "Register a fund",
        TAG,
        body=FundIn,
        response=FundOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def register_fund(self, request):
        fund = self.funds.register_fund(read_json(request, FundIn))
        return json_response(fund, 201, {"Location": f"/api/v1/funds/{fund['code']}"})

    @route("GET", "/api/v1/funds/<code>", "Get a fund", TAG, response=FundOut, errors=(404, 503))
    def get_fund(self, request, code):
        return json_response(self.funds.get_fund(code))
