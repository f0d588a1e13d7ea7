"""Reporting: summaries and report obligations."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..http import json_response, read_query, route
from ..schemas import REPORTS, example

TAG = "reporting"


class SummaryQuery(Schema):
    region = fields.Integer(load_default=None, validate=validate.Range(1, 13))
    province = fields.String(load_default=None, validate=validate.Length(max=300))
    district = fields.String(load_default=None, validate=validate.Length(max=300))
    fiscal_year = fields.Integer(load_default=None, validate=validate.Range(2500, 2700))


class SummaryOut(Schema):
    funds = fields.Integer(**example(14))
    projects = fields.Integer(**example(108))
    projects_by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), **example({"approved": 108}))
    requested_amount = fields.String(**example("2091567.00"))
    approved_amount = fields.String(**example("2091567.00"))


class ObligationQuery(Schema):
    project_id = fields.UUID(load_default=None)


class ObligationOut(Schema):
    id = fields.UUID()
    project_id = fields.UUID()
    project_title = fields.String()
    fund_code = fields.String()
    report = fields.String(validate=validate.OneOf(REPORTS), **example("final"))
    period = fields.Integer(**example(1))
    due_date = fields.Date()
    notices_sent = fields.List(fields.Integer(), **example([14]))
    fulfilled_at = fields.DateTime(allow_none=True)


class ReportingRoutes:
    @route(
        "GET",
        "/api/v1/reporting/summary",
        "Projects and budget summary",
        TAG,
        query=SummaryQuery,
        response=SummaryOut,
        errors=(422, 503),
    )
    def summary(self, request):
        filters = read_query(request, SummaryQuery)
        return json_response(self.reporting.summary(filters))

    @route(
        "GET",
        "/api/v1/reporting/obligations",
        "Report obligations",
        TAG,
        query=ObligationQuery,
        response=ObligationOut,
        many=True,
        errors=(422, 503),
    )
    def obligations(self, request):
        query = read_query(request, ObligationQuery)
        project_id = str(query["project_id"]) if query["project_id"] else None
        return json_response({"items": self.reporting.obligations(project_id)})
