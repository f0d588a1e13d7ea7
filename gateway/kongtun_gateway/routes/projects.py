"""Projects: proposals through approval."""

from __future__ import annotations

import uuid

from marshmallow import Schema, fields, validate

from kongtun_common.errors import NotFound
from kongtun_common.fields import Baht

from ..http import json_response, read_json, route
from ..schemas import FUND_CODE, OWNER_KINDS, THAI_TEXT, example

TAG = "projects"


def project_id_of(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound("project", value, field="project_id") from None


class OwnerIn(Schema):
    name = fields.String(required=True, validate=THAI_TEXT, **example("ชมรมผู้สูงอายุบ้านไร่"))
    kind = fields.String(required=True, validate=validate.OneOf(OWNER_KINDS), **example("citizen_group"))
    contact = fields.String(load_default="", validate=validate.Length(max=200), **example("081-234-5678"))


class ProjectIn(Schema):
    fund_code = fields.String(required=True, validate=FUND_CODE, **example("L3363"))
    title = fields.String(
        required=True, validate=validate.Length(min=1, max=500), **example("โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ")
    )
    fiscal_year = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(2500, 2700, error="Must be a fiscal year in the Buddhist Era, e.g. 2567."),
        **example(2567),
    )
    issue = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=60), **example("physical_activity")
    )
    spending_type = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5), **example(2))
    owner = fields.Nested(OwnerIn, required=True)
    requested_amount = Baht(required=True, **example("25000.00"))
    start_date = fields.Date(required=True, **example("2024-01-08"))
    end_date = fields.Date(required=True, **example("2024-06-08"))
    entered_by = fields.String(load_default="", validate=validate.Length(max=200), **example("เจ้าหน้าที่กองทุน"))


class TransitionOut(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    by = fields.String()
    at = fields.DateTime()
    reason = fields.String()


class ProjectOut(Schema):
    id = fields.UUID()
    fund_code = fields.String(**example("L3363"))
    fund_name = fields.String(**example("กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่"))
    region = fields.Integer()
    province = fields.String()
    district = fields.String()
    subdistrict = fields.String()
    title = fields.String(**example("โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ"))
    fiscal_year = fields.Integer()
    issue = fields.String(allow_none=True)
    spending_type = fields.Integer()
    owner = fields.Nested(OwnerIn)
    requested_amount = fields.String(**example("25000.00"))
    approved_amount = fields.String(allow_none=True, **example("24000.00"))
    approved_by = fields.String(allow_none=True)
    meeting_ref = fields.String(allow_none=True)
    start_date = fields.Date()
    end_date = fields.Date()
    entered_by = fields.String()
    status = fields.String(**example("approved"))
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    history = fields.List(fields.Nested(TransitionOut))


class ActorIn(Schema):
    by = fields.String(load_default="", validate=validate.Length(max=200), **example("นางสาวสมศรี ใจดี"))


class ApprovalIn(Schema):
    approved_amount = Baht(required=True, **example("24000.00"))
    approved_by = fields.String(required=True, validate=THAI_TEXT, **example("คณะกรรมการกองทุน"))
    meeting_ref = fields.String(load_default="", validate=validate.Length(max=200), **example("ครั้งที่ 2/2567"))
    by = fields.String(load_default="", validate=validate.Length(max=200), **example("ประธานกรรมการกองทุน"))


class ProjectsRoutes:
    @route(
        "POST",
        "/api/v1/projects",
        "Create a draft project",
        TAG,
        body=ProjectIn,
        response=ProjectOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def create_project(self, request):
        project = self.projects.create_draft(read_json(request, ProjectIn))
        return json_response(project, 201, {"Location": f"/api/v1/projects/{project['id']}"})

    @route(
        "GET",
        "/api/v1/projects/<project_id>",
        "Get a project with its history",
        TAG,
        response=ProjectOut,
        errors=(404, 503),
    )
    def get_project(self, request, project_id):
        return json_response(self.projects.get_project(project_id_of(project_id)))

    @route(
        "POST",
        "/api/v1/projects/<project_id>/submit",
        "Submit a project (ProjectSubmitted)",
        TAG,
        body=ActorIn,
        response=ProjectOut,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def submit_project(self, request, project_id):
        project_id = project_id_of(project_id)
        actor = read_json(request, ActorIn) if request.get_data() else {}
        return json_response(self.projects.submit(project_id, actor))

    @route(
        "POST",
        "/api/v1/projects/<project_id>/approve",
        "Approve a project (ProjectApproved)",
        TAG,
        body=ApprovalIn,
        response=ProjectOut,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def approve_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.approve(project_id, read_json(request, ApprovalIn)))
