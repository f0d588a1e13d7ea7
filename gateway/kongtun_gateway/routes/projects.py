"""Projects: proposals, the committee's decisions, running projects, reports, mentoring."""

from __future__ import annotations

import re
import uuid

from marshmallow import Schema, fields, validate

from kongtun_common.errors import InvalidInput, NotFound
from kongtun_common.fields import Baht

from ..http import json_response, read_json, read_query, route
from ..schemas import FUND_CODE, OWNER_KINDS, REPORTS, THAI_TEXT, example

TAG = "projects"
EXPENSE_GROUPS = ["fees", "wages", "operating_costs", "materials", "utilities", "other"]
VALUE_DIMENSIONS = [
    "knowledge_innovation",
    "behaviour_change",
    "supportive_environment",
    "public_policy",
    "community_process",
    "spiritual_health",
]
ACTION_ERRORS = (400, 404, 409, 415, 422, 503)


def project_id_of(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound("project", value, field="project_id") from None


class OwnerIn(Schema):
    name = fields.String(required=True, validate=THAI_TEXT, **example("ชมรมผู้สูงอายุบ้านไร่"))
    kind = fields.String(required=True, validate=validate.OneOf(OWNER_KINDS), **example("citizen_group"))
    contact = fields.String(load_default="", validate=validate.Length(max=200), **example("081-234-5678"))
    members = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 100000), **example(25)
    )


class IndicatorTargetIn(Schema):
    indicator_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    target = fields.Decimal(required=True, as_string=True, allow_nan=False, **example("80"))
    name = fields.String(load_default="", validate=validate.Length(max=300), **example("ร้อยละผู้สูงอายุที่ออกกำลังกายสม่ำเสมอ"))
    unit = fields.String(load_default="", validate=validate.Length(max=60), **example("ร้อยละ"))


class ActivityIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=500), **example("เต้นแอโรบิกทุกเย็น"))
    start_date = fields.Date(required=True, **example("2024-01-15"))
    end_date = fields.Date(required=True, **example("2024-05-31"))
    description = fields.String(load_default="", validate=validate.Length(max=2000))


class BudgetLineIn(Schema):
    group = fields.String(required=True, validate=validate.OneOf(EXPENSE_GROUPS), **example("wages"))
    description = fields.String(load_default="", validate=validate.Length(max=500), **example("ค่าตอบแทนวิทยากร"))
    amount = Baht(required=True, **example("12000.00"))


class LocationIn(Schema):
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90), **example(7.6167))
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(-180, 180), **example(100.0833))


class DocumentIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=500), **example("แบบเสนอโครงการ"))
    reference = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1000),
        **example("https://example.org/files/L3363-2567-0001.pdf"),
    )


class ProposalIn(Schema):
    title = fields.String(
        required=True, validate=validate.Length(min=1, max=500), **example("โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ")
    )
    fiscal_year = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(2500, 2700, error="Must be a fiscal year in the Buddhist Era, e.g. 2567."),
        **example(2567),
    )
    issue = fields.String(allow_none=True, validate=validate.Length(max=60), **example("physical_activity"))
    spending_type = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5), **example(2))
    owner = fields.Nested(OwnerIn, required=True)
    requested_amount = Baht(required=True, **example("25000.00"))
    start_date = fields.Date(required=True, **example("2024-01-08"))
    end_date = fields.Date(required=True, **example("2024-06-08"))
    plan_id = fields.String(allow_none=True, validate=validate.Length(max=36))
    indicator_targets = fields.List(fields.Nested(IndicatorTargetIn))
    activities = fields.List(fields.Nested(ActivityIn))
    budget_lines = fields.List(fields.Nested(BudgetLineIn))
    location = fields.Nested(LocationIn, allow_none=True)
    documents = fields.List(fields.Nested(DocumentIn))


class ProjectIn(ProposalIn):
    fund_code = fields.String(required=True, validate=FUND_CODE, **example("L3363"))
    entered_by = fields.String(load_default="", validate=validate.Length(max=200), **example("นางสาวสมศรี ใจดี"))
    entered_by_role = fields.String(
        load_default="proposer", validate=validate.OneOf(["proposer", "fund_officer"]), **example("fund_officer")
    )


class ProjectEditIn(ProposalIn):
    """Send only what changes (top-level fields); optionally the version read, or If-Match."""

    version = fields.Integer(allow_none=True, strict=True, **example(3))

    def __init__(self, **kwargs):
        super().__init__(partial=tuple(ProposalIn._declared_fields), **kwargs)


class TransitionOut(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    by = fields.String()
    at = fields.DateTime()
    reason = fields.String()


class ReportDueOut(Schema):
    report = fields.String(validate=validate.OneOf(REPORTS))
    period = fields.Integer()
    due_date = fields.Date()


class ReportOut(Schema):
    kind = fields.String(validate=validate.OneOf(REPORTS))
    period = fields.Integer()
    submitted_by = fields.String()
    submitted_at = fields.DateTime()
    content = fields.Dict()


class CommentOut(Schema):
    revision = fields.Integer()
    author = fields.String()
    role = fields.String()
    text = fields.String(**example("ระบุกลุ่มเป้าหมายให้ชัดเจน"))
    at = fields.DateTime()


class ProjectOut(Schema):
    id = fields.UUID()
    version = fields.Integer()
    code = fields.String(allow_none=True, **example("L3363-2567-0001"))
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
    plan_id = fields.String(allow_none=True)
    indicator_targets = fields.List(fields.Nested(IndicatorTargetIn))
    activities = fields.List(fields.Nested(ActivityIn))
    budget_lines = fields.List(fields.Nested(BudgetLineIn))
    location = fields.Nested(LocationIn, allow_none=True)
    documents = fields.List(fields.Nested(DocumentIn))
    requested_amount = fields.String(**example("25000.00"))
    approved_amount = fields.String(allow_none=True, **example("24000.00"))
    approved_by = fields.String(allow_none=True)
    meeting_ref = fields.String(allow_none=True)
    budget_status = fields.String(validate=validate.OneOf(["none", "pending", "committed", "refused"]))
    budget_note = fields.String()
    mentor = fields.String(allow_none=True)
    start_date = fields.Date()
    end_date = fields.Date()
    entered_by = fields.String()
    entered_by_role = fields.String()
    status = fields.String(**example("approved"))
    revision = fields.Integer()
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    reports_due = fields.List(fields.Nested(ReportDueOut))
    reports = fields.List(fields.Nested(ReportOut))
    comments = fields.List(fields.Nested(CommentOut))
    history = fields.List(fields.Nested(TransitionOut))
    checks = fields.List(fields.String(), metadata={"description": "Spending-type rules, reported at submission"})


class ProjectSummaryOut(Schema):
    id = fields.UUID()
    code = fields.String(allow_none=True)
    title = fields.String()
    status = fields.String()
    fund_code = fields.String()
    fund_name = fields.String()
    district = fields.String()
    province = fields.String()
    region = fields.Integer()
    fiscal_year = fields.Integer()
    issue = fields.String(allow_none=True)
    spending_type = fields.Integer()
    owner_name = fields.String()
    owner_kind = fields.String()
    requested_amount = fields.String()
    approved_amount = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class ProjectPageOut(Schema):
    items = fields.List(fields.Nested(ProjectSummaryOut))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer(**example(108))


class ProjectQuery(Schema):
    fund_code = fields.String(load_default=None, validate=FUND_CODE)
    district = fields.String(load_default=None, validate=validate.Length(max=300), **example("ศรีนครินทร์"))
    province = fields.String(load_default=None, validate=validate.Length(max=300), **example("พัทลุง"))
    region = fields.Integer(load_default=None, validate=validate.Range(1, 13))
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(
            [
                "draft",
                "submitted",
                "revision_requested",
                "approved",
                "rejected",
                "cancelled",
                "running",
                "completed",
                "terminated",
                "suspended",
            ]
        ),
    )
    issue = fields.String(load_default=None, validate=validate.Length(max=60))
    fiscal_year = fields.Integer(load_default=None, validate=validate.Range(2500, 2700))
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=200), **example("ออกกำลังกาย"))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class ActorIn(Schema):
    by = fields.String(load_default="", validate=validate.Length(max=200), **example("นางสาวสมศรี ใจดี"))


class ReasonIn(ActorIn):
    reason = fields.String(
        required=True, validate=validate.Length(min=1, max=2000), **example("ขอให้ระบุตัวชี้วัดให้สอดคล้องกับแผนงาน")
    )


class OptionalReasonIn(ActorIn):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class RejectionIn(ReasonIn):
    meeting_ref = fields.String(load_default="", validate=validate.Length(max=200), **example("ครั้งที่ 2/2567"))


class ApprovalIn(ActorIn):
    approved_amount = Baht(required=True, **example("24000.00"))
    approved_by = fields.String(required=True, validate=THAI_TEXT, **example("คณะกรรมการกองทุน"))
    meeting_ref = fields.String(load_default="", validate=validate.Length(max=200), **example("ครั้งที่ 2/2567"))
    periods = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 12), **example(2))


class MentorIn(Schema):
    mentor = fields.String(required=True, validate=THAI_TEXT, **example("นายสมชาย พี่เลี้ยงดี"))


class CommentIn(Schema):
    author = fields.String(required=True, validate=validate.Length(min=1, max=200), **example("นายสมชาย พี่เลี้ยงดี"))
    role = fields.String(load_default="mentor", validate=validate.OneOf(["mentor", "committee", "fund_officer"]))
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000), **example("ระบุกลุ่มเป้าหมายให้ชัดเจน"))


class AssessmentIn(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5), **example(4))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class IndicatorActualIn(Schema):
    indicator_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    actual = fields.Decimal(required=True, as_string=True, allow_nan=False, **example("85"))


class SpendingIn(Schema):
    group = fields.String(required=True, validate=validate.OneOf(EXPENSE_GROUPS))
    amount = Baht(required=True, **example("11850.00"))


class ReportContentIn(Schema):
    activities_done = fields.List(fields.String(validate=validate.Length(min=1, max=500)), load_default=list)
    participants = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(0, 10**7), **example(120)
    )
    outputs = fields.String(load_default="", validate=validate.Length(max=5000))
    indicator_actuals = fields.List(fields.Nested(IndicatorActualIn), load_default=list)
    spending = fields.List(fields.Nested(SpendingIn), load_default=list)
    refund = Baht(load_default=None, allow_none=True, **example("150.00"))
    value_assessment = fields.Dict(
        keys=fields.String(validate=validate.OneOf(VALUE_DIMENSIONS)),
        values=fields.Nested(AssessmentIn),
        load_default=None,
        allow_none=True,
        metadata={"description": "Final report (ส.3): all six dimensions, scored 1-5"},
    )
    notes = fields.String(load_default="", validate=validate.Length(max=5000))


class ReportIn(Schema):
    report = fields.String(required=True, validate=validate.OneOf(REPORTS), **example("final"))
    period = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 12), **example(1))
    by = fields.String(load_default="", validate=validate.Length(max=200), **example("ชมรมผู้สูงอายุบ้านไร่"))
    content = fields.Nested(ReportContentIn, required=True)


def _body(request, schema) -> dict:
    """The body if one was sent (these actions may be posted empty)."""
    return read_json(request, schema) if request.get_data() else {}


def _caller(request) -> str:
    """Whose idempotency keys these are: the token, or the person logged in."""
    principal = request.principal
    return principal.token_id or principal.subject  # an API token's id, or "user:<name>"


def _action(verb: str, summary: str, body=ActorIn):
    """A lifecycle action: POST /api/v1/projects/{id}/<verb>."""
    return route(
        "POST",
        f"/api/v1/projects/<project_id>/{verb}",
        summary,
        TAG,
        body=body,
        response=ProjectOut,
        errors=ACTION_ERRORS,
    )


IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "A key of your choice (1-200 visible ASCII characters, e.g. a UUID), unique per project you mean to create. "
        "Sending the same request again with the same key (after a timeout or a 503) answers the project created "
        "the first time (header `Idempotency-Replayed: true`) instead of creating a second one; the same key with "
        "a different body is refused (422). Keys are kept per caller."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "example": "8e0f6a52-2f4b-4d8e-9c61-0b5b0f3c7a10"},
}


class ProjectsRoutes:
    @route(
        "POST",
        "/api/v1/projects",
        "Create a draft project",
        TAG,
        body=ProjectIn,
        response=ProjectOut,
        status=201,
        errors=(400, 413, 415, 422, 503),
        headers=(IDEMPOTENCY_HEADER,),
    )
    def create_project(self, request):
        payload = read_json(request, ProjectIn)
        key = request.headers.get("Idempotency-Key")
        headers = {}
        if key is None:
            project = self.projects.create_draft(payload)
        else:
            if not IDEMPOTENCY_KEY.fullmatch(key):
                raise InvalidInput({"Idempotency-Key": ["Must be 1-200 visible ASCII characters, e.g. a UUID."]})
            created = self.projects.create_draft_once(f"{_caller(request)}/{key}", payload)
            project = created["project"]
            if created["replayed"]:
                headers["Idempotency-Replayed"] = "true"
        headers.update({"Location": f"/api/v1/projects/{project['id']}", "ETag": f'"{project["version"]}"'})
        return json_response(project, 201, headers)

    @route(
        "GET",
        "/api/v1/projects",
        "List and search projects (filters, Thai text, pages)",
        TAG,
        query=ProjectQuery,
        response=ProjectPageOut,
        errors=(422, 503),
    )
    def list_projects(self, request):
        query = read_query(request, ProjectQuery)
        return json_response(self.projects.list_projects(query))

    @route(
        "GET",
        "/api/v1/projects/<project_id>",
        "Get a project with its history, reports and comments",
        TAG,
        response=ProjectOut,
        errors=(404, 503),
    )
    def get_project(self, request, project_id):
        project = self.projects.get_project(project_id_of(project_id))
        return json_response(project, headers={"ETag": f'"{project["version"]}"'})

    @route(
        "PATCH",
        "/api/v1/projects/<project_id>",
        "Edit a draft (or a proposal sent back for revision)",
        TAG,
        body=ProjectEditIn,
        response=ProjectOut,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def edit_project(self, request, project_id):
        project_id = project_id_of(project_id)
        changes = read_json(request, ProjectEditIn)
        if_match = request.headers.get("If-Match", "").strip('"')
        if if_match:
            if not if_match.isdigit():
                raise InvalidInput({"If-Match": ['Must be the ETag of the project, e.g. "3".']})
            changes["version"] = int(if_match)
        project = self.projects.edit_draft(project_id, changes)
        return json_response(project, headers={"ETag": f'"{project["version"]}"'})

    @_action("submit", "Submit for consideration (ProjectSubmitted)")
    def submit_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.submit(project_id, _body(request, ActorIn)))

    @_action("request-revision", "Request a revision (ProjectRevisionRequested)", ReasonIn)
    def request_revision(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.request_revision(project_id, read_json(request, ReasonIn)))

    @_action("approve", "Approve (ProjectApproved; the fund then commits the budget)", ApprovalIn)
    def approve_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.approve(project_id, read_json(request, ApprovalIn)))

    @_action("reject", "Reject (ProjectRejected)", RejectionIn)
    def reject_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.reject(project_id, read_json(request, RejectionIn)))

    @_action("cancel", "Cancel (ProjectCancelled)", ReasonIn)
    def cancel_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.cancel(project_id, read_json(request, ReasonIn)))

    @_action("start", "Start running (ProjectStarted; needs the budget committed)")
    def start_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.start(project_id, _body(request, ActorIn)))

    @_action("suspend", "Suspend (ProjectSuspended)", ReasonIn)
    def suspend_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.suspend(project_id, read_json(request, ReasonIn)))

    @_action("resume", "Resume (ProjectResumed)", OptionalReasonIn)
    def resume_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.resume(project_id, _body(request, OptionalReasonIn)))

    @_action("terminate", "Terminate (ProjectTerminated)", ReasonIn)
    def terminate_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.terminate(project_id, read_json(request, ReasonIn)))

    @_action("complete", "Complete (ProjectCompleted; needs the final and closing reports)")
    def complete_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.complete(project_id, _body(request, ActorIn)))

    @route(
        "POST",
        "/api/v1/projects/<project_id>/reports",
        "Submit a report (ReportSubmitted); it is then locked",
        TAG,
        body=ReportIn,
        response=ProjectOut,
        status=201,
        errors=ACTION_ERRORS,
    )
    def submit_report(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.submit_report(project_id, read_json(request, ReportIn)), 201)

    @route(
        "PUT",
        "/api/v1/projects/<project_id>/mentor",
        "Assign the project's mentor",
        TAG,
        body=MentorIn,
        response=ProjectOut,
        errors=ACTION_ERRORS,
    )
    def assign_project_mentor(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.assign_mentor(project_id, read_json(request, MentorIn)))

    @route(
        "POST",
        "/api/v1/projects/<project_id>/comments",
        "Add a review comment to the current revision",
        TAG,
        body=CommentIn,
        response=ProjectOut,
        status=201,
        errors=ACTION_ERRORS,
    )
    def add_comment(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.comment(project_id, read_json(request, CommentIn)), 201)
