"""Marshmallow schemas at the funds service's RPC boundary (and for each row of an import)."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kongtun_common.fields import Baht

from .domain import DISTRICT_COMMITTEE_ROLES, LAO_KINDS, MENTOR_LEVELS, PERSON_ROLES, PROGRAMME_KINDS

THAI_TEXT = validate.Length(min=1, max=300)
FUND_CODE = validate.Regexp(r"^L[0-9]{4}$", error="Must be L followed by four digits, e.g. L3363.")
FISCAL_YEAR = validate.Range(2500, 2700, error="Must be a fiscal year in the Buddhist Era, e.g. 2567.")
ISSUE_CODE = validate.Regexp(r"^[a-z][a-z0-9_]{0,59}$", error="Must be a lower-case code, e.g. physical_activity.")


class LaoIn(Schema):
    name_th = fields.String(required=True, validate=THAI_TEXT)
    kind = fields.String(required=True, validate=validate.OneOf(list(LAO_KINDS)))
    province = fields.String(load_default=None, validate=THAI_TEXT)
    district = fields.String(load_default=None, validate=THAI_TEXT)
    subdistrict = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)


class RegisterFund(Schema):
    code = fields.String(required=True, validate=FUND_CODE)
    name_th = fields.String(required=True, validate=THAI_TEXT)
    name_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    subdistrict = fields.String(required=True, validate=THAI_TEXT)
    district = fields.String(required=True, validate=THAI_TEXT)
    province = fields.String(required=True, validate=THAI_TEXT)
    region = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 13))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    lao = fields.Nested(LaoIn, load_default=None, allow_none=True)


class FundOut(Schema):
    code = fields.String()
    name_th = fields.String()
    name_en = fields.String(allow_none=True)
    subdistrict = fields.String()
    district = fields.String()
    province = fields.String()
    region = fields.Integer()
    registered_at = fields.DateTime()


class Page(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class PlaceFilters(Page):
    region = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 13))
    province = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)
    district = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)


class FundYearIn(Schema):
    registered_population = fields.Integer(required=True, strict=True, validate=validate.Range(0, 10_000_000))
    own_income = Baht(required=True)


class PersonIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(PERSON_ROLES))
    name = fields.String(required=True, validate=THAI_TEXT)
    position = fields.String(load_default="", validate=validate.Length(max=300))
    organisation = fields.String(load_default="", validate=validate.Length(max=300))
    phone = fields.String(load_default="", validate=validate.Length(max=50))
    term_start = fields.Date(load_default=None, allow_none=True)
    term_end = fields.Date(load_default=None, allow_none=True)


class MentorIn(Schema):
    name = fields.String(required=True, validate=THAI_TEXT)
    level = fields.String(required=True, validate=validate.OneOf(MENTOR_LEVELS))
    province = fields.String(required=True, validate=THAI_TEXT)
    organisation = fields.String(load_default="", validate=validate.Length(max=300))
    phone = fields.String(load_default="", validate=validate.Length(max=50))
    fund_codes = fields.List(fields.String(validate=FUND_CODE), load_default=list)


class MentorFilters(Page):
    province = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)
    fund_code = fields.String(load_default=None, allow_none=True, validate=FUND_CODE)
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(MENTOR_LEVELS))


class CommitteeMemberIn(Schema):
    name = fields.String(required=True, validate=THAI_TEXT)
    role = fields.String(load_default="member", validate=validate.OneOf(DISTRICT_COMMITTEE_ROLES))
    position = fields.String(load_default="", validate=validate.Length(max=300))
    organisation = fields.String(load_default="", validate=validate.Length(max=300))


class DistrictCommitteeIn(Schema):
    name_th = fields.String(required=True, validate=THAI_TEXT)
    province = fields.String(required=True, validate=THAI_TEXT)
    district = fields.String(required=True, validate=THAI_TEXT)
    members = fields.List(fields.Nested(CommitteeMemberIn), required=True, validate=validate.Length(min=1, max=200))


class IssueIn(Schema):
    code = fields.String(required=True, validate=ISSUE_CODE)
    name_th = fields.String(required=True, validate=THAI_TEXT)
    name_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))


class TaxonomyIn(Schema):
    code = fields.String(required=True, validate=ISSUE_CODE)
    name_th = fields.String(required=True, validate=THAI_TEXT)
    source = fields.String(load_default="", validate=validate.Length(max=300))
    issues = fields.List(fields.Nested(IssueIn), required=True, validate=validate.Length(min=1, max=100))

    @validates_schema
    def distinct_issues(self, data, **kwargs):
        codes = [issue["code"] for issue in data.get("issues", [])]
        if len(codes) != len(set(codes)):
            raise ValidationError("Each issue code appears once.", "issues")


class ProgrammeIn(Schema):
    name_th = fields.String(required=True, validate=THAI_TEXT)
    kind = fields.String(required=True, validate=validate.OneOf(PROGRAMME_KINDS))
    taxonomy_code = fields.String(required=True, validate=ISSUE_CODE)
    province = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)
    district = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)
    partners = fields.List(fields.String(validate=THAI_TEXT), load_default=list)
    hub = fields.Nested(LaoIn, load_default=None, allow_none=True)
    members = fields.List(fields.Nested(LaoIn), load_default=list, validate=validate.Length(max=500))

    @validates_schema
    def hub_for_network(self, data, **kwargs):
        if data.get("kind") == "network_hub" and not data.get("hub"):
            raise ValidationError("A network hub programme names its hub local government.", "hub")


class ProgrammeFilters(Page):
    province = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PROGRAMME_KINDS))


class AgreementIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    signed_on = fields.Date(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=500))
    parties = fields.List(fields.String(validate=THAI_TEXT), required=True, validate=validate.Length(min=1, max=500))
    fund_codes = fields.List(
        fields.String(validate=FUND_CODE), required=True, validate=validate.Length(min=1, max=1000)
    )


class IndicatorIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=500))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=100))
    baseline = fields.Raw(required=True)
    target = fields.Raw(required=True)


class PlanIn(Schema):
    fund_code = fields.String(required=True, validate=FUND_CODE)
    programme_id = fields.UUID(required=True)
    issue = fields.String(required=True, validate=validate.Length(min=1, max=60))
    fiscal_year = fields.Integer(required=True, strict=True, validate=FISCAL_YEAR)
    situation = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    objectives = fields.List(
        fields.String(validate=validate.Length(min=1, max=1000)), required=True, validate=validate.Length(min=1)
    )
    indicators = fields.List(fields.Nested(IndicatorIn), required=True, validate=validate.Length(min=1, max=50))


class PlanApprovalIn(Schema):
    approved_on = fields.Date(required=True)
    approved_by = fields.String(required=True, validate=THAI_TEXT)
    meeting_ref = fields.String(load_default="", validate=validate.Length(max=200))


class PlanFilters(PlaceFilters):
    fund_code = fields.String(load_default=None, allow_none=True, validate=FUND_CODE)
    fiscal_year = fields.Integer(load_default=None, allow_none=True, validate=FISCAL_YEAR)
    programme_id = fields.UUID(load_default=None, allow_none=True)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["draft", "approved"]))
    late = fields.Boolean(load_default=None, allow_none=True)


class EntryIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["income", "refund", "disbursement"]))
    code = fields.Integer(required=True, strict=True)
    amount = Baht(required=True)
    fiscal_year = fields.Integer(required=True, strict=True, validate=FISCAL_YEAR)
    entry_date = fields.Date(load_default=None, allow_none=True)
    description = fields.String(load_default="", validate=validate.Length(max=500))
    project_id = fields.UUID(load_default=None, allow_none=True)
    commitment_id = fields.UUID(load_default=None, allow_none=True)
    citizen_group = fields.Boolean(load_default=False)


class EntryFilters(Page):
    fiscal_year = fields.Integer(load_default=None, allow_none=True, validate=FISCAL_YEAR)
    kind = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(["income", "refund", "disbursement", "commitment", "release"]),
    )


class FinancialReportIn(Schema):
    fiscal_year = fields.Integer(required=True, strict=True, validate=FISCAL_YEAR)
    quarter = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(1, 4, error="Must be a quarter of the fiscal year: 1 (October-December) to 4."),
    )
    submitted_by = fields.String(required=True, validate=THAI_TEXT)


class FinancialReportFilters(Page):
    fiscal_year = fields.Integer(load_default=None, allow_none=True, validate=FISCAL_YEAR)


class BracketIn(Schema):
    up_to = Baht(required=True, allow_none=True)
    min_percent = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100))


PERCENT = {"strict": True, "validate": validate.Range(0, 100)}


class RuleSetIn(Schema):
    per_capita_rate = Baht(required=True)
    matching_brackets = fields.List(fields.Nested(BracketIn), required=True, validate=validate.Length(min=1, max=10))
    administration_cap_percent = fields.Integer(required=True, **PERCENT)
    type3_floor_percent = fields.Integer(required=True, **PERCENT)
    citizen_groups_min_percent = fields.Integer(required=True, **PERCENT)
    idle_balance_max_percent = fields.Integer(required=True, **PERCENT)
    pace_q2_percent = fields.Integer(required=True, **PERCENT)
    pace_q3_percent = fields.Integer(required=True, **PERCENT)
    pace_q4_percent = fields.Integer(required=True, **PERCENT)
    changed_by = fields.String(load_default="", validate=validate.Length(max=300))


class GeographyRow(Schema):
    """One line of a geography CSV: a province, a district or a subdistrict (the finer columns blank)."""

    region = fields.Integer(required=True, validate=validate.Range(1, 13))
    province_th = fields.String(required=True, validate=THAI_TEXT)
    province_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    district_th = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)
    district_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    subdistrict_th = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)
    subdistrict_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))

    @validates_schema
    def nested(self, data, **kwargs):
        if data.get("subdistrict_th") and not data.get("district_th"):
            raise ValidationError("A subdistrict needs its district.", "district_th")


class FundRow(Schema):
    """One line of a funds CSV."""

    code = fields.String(required=True, validate=FUND_CODE)
    name_th = fields.String(required=True, validate=THAI_TEXT)
    name_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    lao_name_th = fields.String(required=True, validate=THAI_TEXT)
    lao_kind = fields.String(required=True, validate=validate.OneOf(list(LAO_KINDS)))
    subdistrict = fields.String(required=True, validate=THAI_TEXT)
    district = fields.String(required=True, validate=THAI_TEXT)
    province = fields.String(required=True, validate=THAI_TEXT)
    region = fields.Integer(required=True, validate=validate.Range(1, 13))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    note = fields.String(load_default=None, allow_none=True)
