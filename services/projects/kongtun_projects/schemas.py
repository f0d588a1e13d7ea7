"""Marshmallow schemas at the projects service's RPC boundary."""

from decimal import Decimal, InvalidOperation

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kongtun_common.fields import Baht

from .domain import VALUE_DIMENSIONS, ExpenseGroup, OwnerKind, ReportKind

OWNER_KINDS = [kind.value for kind in OwnerKind]
EXPENSE_GROUPS = [group.value for group in ExpenseGroup]
REPORT_KINDS = [kind.value for kind in ReportKind]
TEXT = validate.Length(min=1, max=500)
ACTOR = validate.Length(max=200)


def _decimal_text(value) -> None:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError("Must be a number.") from None
    if not number.is_finite():
        raise ValidationError("Must be a number.")


class OwnerIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    kind = fields.String(required=True, validate=validate.OneOf(OWNER_KINDS))
    contact = fields.String(load_default="", validate=validate.Length(max=200))
    members = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 100000))


class IndicatorTargetIn(Schema):
    indicator_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    target = fields.Raw(required=True, validate=_decimal_text)
    name = fields.String(load_default="", validate=validate.Length(max=300))
    unit = fields.String(load_default="", validate=validate.Length(max=60))


class ActivityIn(Schema):
    name = fields.String(required=True, validate=TEXT)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    description = fields.String(load_default="", validate=validate.Length(max=2000))

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["end_date"] < data["start_date"]:
            raise ValidationError("Must not be before start_date.", "end_date")


class BudgetLineIn(Schema):
    group = fields.String(required=True, validate=validate.OneOf(EXPENSE_GROUPS))
    description = fields.String(load_default="", validate=validate.Length(max=500))
    amount = Baht(required=True)


class LocationIn(Schema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90), allow_nan=False)
    lon = fields.Float(required=True, validate=validate.Range(-180, 180), allow_nan=False)


class DocumentIn(Schema):
    title = fields.String(required=True, validate=TEXT)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class ProposalFields(Schema):
    """The proposal's content: required to create a draft, optional when editing one."""

    title = fields.String(required=True, validate=TEXT)
    fiscal_year = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(2500, 2700, error="Must be a fiscal year in the Buddhist Era, e.g. 2567."),
    )
    issue = fields.String(allow_none=True, validate=validate.Length(max=60))
    spending_type = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    owner = fields.Nested(OwnerIn, required=True)
    requested_amount = Baht(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    plan_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    indicator_targets = fields.List(
        fields.Nested(IndicatorTargetIn), load_default=list, validate=validate.Length(max=50)
    )
    activities = fields.List(fields.Nested(ActivityIn), load_default=list, validate=validate.Length(max=100))
    budget_lines = fields.List(fields.Nested(BudgetLineIn), load_default=list, validate=validate.Length(max=100))
    location = fields.Nested(LocationIn, load_default=None, allow_none=True)
    documents = fields.List(fields.Nested(DocumentIn), load_default=list, validate=validate.Length(max=50))


class DraftIn(ProposalFields):
    fund_code = fields.String(
        required=True, validate=validate.Regexp(r"^L[0-9]{4}$", error="Must be a fund code like L3363.")
    )
    entered_by = fields.String(load_default="", validate=ACTOR)
    entered_by_role = fields.String(load_default="proposer", validate=validate.OneOf(["proposer", "fund_officer"]))


class EditIn(ProposalFields):
    """An edit sends only what changes; what it sends is complete (an owner has a name and a kind)."""

    version = fields.Integer(allow_none=True, strict=True)

    def __init__(self, **kwargs):
        super().__init__(partial=tuple(ProposalFields._declared_fields), **kwargs)


class ActorIn(Schema):
    by = fields.String(load_default="", validate=ACTOR)


class ReasonIn(ActorIn):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class OptionalReasonIn(ActorIn):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class RejectionIn(ReasonIn):
    meeting_ref = fields.String(load_default="", validate=validate.Length(max=200))


class ApprovalIn(ActorIn):
    approved_amount = Baht(required=True)
    approved_by = fields.String(required=True, validate=validate.Length(min=1, max=300))
    meeting_ref = fields.String(load_default="", validate=validate.Length(max=200))
    periods = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 12))


class MentorIn(Schema):
    mentor = fields.String(required=True, validate=validate.Length(min=1, max=300))


class CommentIn(Schema):
    author = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default="mentor", validate=validate.OneOf(["mentor", "committee", "fund_officer"]))
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class AssessmentIn(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class IndicatorActualIn(Schema):
    indicator_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    actual = fields.Raw(required=True, validate=_decimal_text)


class SpendingIn(Schema):
    group = fields.String(required=True, validate=validate.OneOf(EXPENSE_GROUPS))
    amount = Baht(required=True)


class ReportContentIn(Schema):
    activities_done = fields.List(fields.String(validate=TEXT), load_default=list)
    participants = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(0, 10**7))
    outputs = fields.String(load_default="", validate=validate.Length(max=5000))
    indicator_actuals = fields.List(fields.Nested(IndicatorActualIn), load_default=list)
    spending = fields.List(fields.Nested(SpendingIn), load_default=list)
    refund = Baht(load_default=None, allow_none=True)
    value_assessment = fields.Dict(
        keys=fields.String(validate=validate.OneOf(VALUE_DIMENSIONS)),
        values=fields.Nested(AssessmentIn),
        load_default=None,
        allow_none=True,
    )
    notes = fields.String(load_default="", validate=validate.Length(max=5000))


class ReportIn(Schema):
    report = fields.String(required=True, validate=validate.OneOf(REPORT_KINDS))
    period = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 12))
    by = fields.String(load_default="", validate=ACTOR)
    content = fields.Nested(ReportContentIn, required=True)


class ListIn(Schema):
    fund_code = fields.String(load_default=None, validate=validate.Length(max=5))
    district = fields.String(load_default=None, validate=validate.Length(max=300))
    province = fields.String(load_default=None, validate=validate.Length(max=300))
    region = fields.Integer(load_default=None, validate=validate.Range(1, 13))
    status = fields.String(load_default=None, validate=validate.Length(max=30))
    issue = fields.String(load_default=None, validate=validate.Length(max=60))
    fiscal_year = fields.Integer(load_default=None, validate=validate.Range(2500, 2700))
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))


# --- out ------------------------------------------------------------------


class OwnerOut(Schema):
    name = fields.String()
    kind = fields.String()
    contact = fields.String()
    members = fields.Integer(allow_none=True)


class TransitionOut(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    by = fields.String()
    at = fields.DateTime()
    reason = fields.String()


class IndicatorTargetOut(Schema):
    indicator_id = fields.String()
    target = fields.String()
    name = fields.String()
    unit = fields.String()


class ActivityOut(Schema):
    name = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    description = fields.String()


class BudgetLineOut(Schema):
    group = fields.String()
    description = fields.String()
    amount = Baht()


class ReportDueOut(Schema):
    report = fields.String()
    period = fields.Integer()
    due_date = fields.Date()


class ReportOut(Schema):
    kind = fields.String()
    period = fields.Integer()
    submitted_by = fields.String()
    submitted_at = fields.DateTime()
    content = fields.Dict()


class CommentOut(Schema):
    revision = fields.Integer()
    author = fields.String()
    role = fields.String()
    text = fields.String()
    at = fields.DateTime()


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
    plan_id = fields.String(allow_none=True)
    indicator_targets = fields.List(fields.Nested(IndicatorTargetOut))
    activities = fields.List(fields.Nested(ActivityOut))
    budget_lines = fields.List(fields.Nested(BudgetLineOut))
    location = fields.Function(
        lambda project: {"lat": project.location.lat, "lon": project.location.lon} if project.location else None
    )
    documents = fields.Function(
        lambda project: [{"title": d.title, "reference": d.reference} for d in project.documents]
    )
    requested_amount = Baht()
    approved_amount = Baht(allow_none=True)
    approved_by = fields.String(allow_none=True)
    meeting_ref = fields.String(allow_none=True)
    budget_status = fields.String()
    budget_note = fields.String()
    mentor = fields.String(allow_none=True)
    start_date = fields.Date()
    end_date = fields.Date()
    entered_by = fields.String()
    entered_by_role = fields.String()
    status = fields.String()
    revision = fields.Integer()
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    reports_due = fields.List(fields.Nested(ReportDueOut))
    reports = fields.List(fields.Nested(ReportOut))
    comments = fields.List(fields.Nested(CommentOut))
    history = fields.List(fields.Nested(TransitionOut))


class ProjectSummaryOut(Schema):
    id = fields.String()
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
    requested_amount = Baht()
    approved_amount = Baht(allow_none=True)
    updated_at = fields.DateTime()
