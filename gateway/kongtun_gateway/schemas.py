"""The public API's schemas (marshmallow), with Thai examples for the OpenAPI document."""

from marshmallow import Schema, fields, validate

from kongtun_common.fields import Baht

FUND_CODE = validate.Regexp(r"^L[0-9]{4}$", error="Must be a fund code: L followed by four digits, e.g. L3363.")
THAI_TEXT = validate.Length(min=1, max=300)
OWNER_KINDS = ["health_unit", "lao_division", "state_agency", "non_health_agency", "citizen_group", "fund_secretariat"]
REPORTS = ["progress", "mentor_follow_up", "final", "financial", "financial_closing"]


def example(value):
    return {"metadata": {"example": value}}


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
    due_date = fields.Date()
    notices_sent = fields.List(fields.Integer(), **example([14]))


class ReminderQuery(Schema):
    project_id = fields.UUID(load_default=None)
    recipient = fields.String(load_default=None, validate=validate.Length(max=300))


class ReminderOut(Schema):
    id = fields.UUID()
    project_id = fields.UUID()
    recipient = fields.String(**example("ชมรมผู้สูงอายุบ้านไร่"))
    role = fields.String(**example("owner"))
    channel = fields.String(**example("record"))
    language = fields.String(**example("th"))
    subject = fields.String(**example("แจ้งเตือน: รายงานผลการดำเนินงาน (ส.3) ครบกำหนดส่ง 8 มิถุนายน 2567"))
    body = fields.String()
    created_at = fields.DateTime()


class HealthOut(Schema):
    status = fields.String(**example("ok"))
    service = fields.String(**example("gateway"))
    checks = fields.Dict(keys=fields.String(), values=fields.String())
