"""Funds: the registry and geography, people, programmes and agreements, plans, the budget ledger and its rules."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from kongtun_common.errors import InvalidInput
from kongtun_common.fields import Baht

from ..http import json_response, read_json, read_query, route
from ..schemas import FUND_CODE, THAI_TEXT, example

TAG = "funds"
LAO_KINDS = ["sao", "subdistrict_municipality", "town_municipality", "city_municipality", "pao"]
PROGRAMME_KINDS = ["district_integration", "provincial_virtual_fund", "provincial_integration", "network_hub", "other"]
FISCAL_YEAR = validate.Range(2500, 2700, error="Must be a fiscal year in the Buddhist Era, e.g. 2567.")
UUID_TEXT = validate.Regexp(r"^[0-9a-fA-F-]{36}$", error="Must be an id (UUID).")
MONEY = "Baht with satang precision, as text"


def fiscal_year_of(value: str, field: str = "fiscal_year") -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise InvalidInput({field: ["Must be a fiscal year in the Buddhist Era, e.g. 2567."]}) from None
    if not 2500 <= year <= 2700:
        raise InvalidInput({field: ["Must be a fiscal year in the Buddhist Era, e.g. 2567."]})
    return year


# ------------------------------------------------------------------ schemas


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100_000), **example(1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500), **example(50))


class PlaceQuery(PageQuery):
    region = fields.Integer(load_default=None, validate=validate.Range(1, 13), **example(12))
    province = fields.String(load_default=None, validate=THAI_TEXT, **example("ปัตตานี"))
    district = fields.String(load_default=None, validate=THAI_TEXT, **example("หนองจิก"))


def paged(item: type[Schema], name: str) -> type[Schema]:
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item)),
            "page": fields.Integer(**example(1)),
            "per_page": fields.Integer(**example(50)),
            "total": fields.Integer(**example(32)),
        },
    )


class LaoIn(Schema):
    name_th = fields.String(required=True, validate=THAI_TEXT, **example("องค์การบริหารส่วนตำบลเกาะเปาะ"))
    kind = fields.String(required=True, validate=validate.OneOf(LAO_KINDS), **example("sao"))
    province = fields.String(load_default=None, validate=THAI_TEXT, **example("ปัตตานี"))
    district = fields.String(load_default=None, validate=THAI_TEXT, **example("หนองจิก"))
    subdistrict = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT, **example("เกาะเปาะ"))


class LaoOut(LaoIn):
    id = fields.String(**example("6f1c9a1e-0c7b-5d0e-9a57-3c8f3b1f2a10"))
    kind_th = fields.String(**example("อบต."))


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
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    lao = fields.Nested(LaoIn, load_default=None, allow_none=True)


class FundOut(Schema):
    code = fields.String(**example("L3363"))
    name_th = fields.String(**example("กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่"))
    name_en = fields.String(allow_none=True)
    subdistrict = fields.String(**example("บ้านไร่"))
    district = fields.String(**example("ศรีนครินทร์"))
    province = fields.String(**example("พัทลุง"))
    region = fields.Integer(**example(12))
    registered_at = fields.DateTime(**example("2024-03-08T09:00:00+00:00"))


class ProgrammeRef(Schema):
    id = fields.String()
    name_th = fields.String(**example("โครงการบูรณาการกลไกสร้างเสริมสุขภาวะระดับตำบลและอำเภอ จังหวัดปัตตานี"))
    joined_on = fields.Date(**example("2022-11-17"))


class FundDetailsOut(FundOut):
    address = fields.String(allow_none=True)
    local_government = fields.Nested(LaoOut, allow_none=True)
    programmes = fields.List(fields.Nested(ProgrammeRef))


class FundYearIn(Schema):
    registered_population = fields.Integer(
        required=True, strict=True, validate=validate.Range(0, 10_000_000), **example(5230)
    )
    own_income = Baht(required=True, metadata={"example": "4500000.00", "description": MONEY})


class FundYearOut(Schema):
    fund_code = fields.String(**example("L3363"))
    fiscal_year = fields.Integer(**example(2567))
    registered_population = fields.Integer(**example(5230))
    own_income = fields.String(**example("4500000.00"))
    per_capita_rate = fields.String(**example("45.00"))
    nhso_allocation = fields.String(**example("235350.00"))
    matching_percent = fields.Integer(**example(30))
    matching_required = fields.String(**example("70605.00"))
    nhso_received = fields.String(**example("235350.00"))
    matching_received = fields.String(**example("70605.00"))
    matching_shortfall = fields.String(**example("0.00"))


class PlaceOut(Schema):
    fund_code = fields.String(**example("L3363"))
    fund_name = fields.String(**example("กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่"))
    subdistrict = fields.String()
    district = fields.String()
    province = fields.String()
    region = fields.Integer()


class BalanceOut(PlaceOut):
    fiscal_year = fields.Integer(**example(2567))
    carried = fields.String(**example("120000.00"))
    income = fields.String(**example("305955.00"))
    committed = fields.String(**example("24000.00"))
    spent = fields.String(**example("50000.00"))
    available = fields.String(**example("351955.00"))
    income_by_code = fields.Dict(keys=fields.String(), values=fields.String(), **example({"40100": "235350.00"}))
    used_by_spending_type = fields.Dict(keys=fields.String(), values=fields.String(), **example({"2": "74000.00"}))
    citizen_groups = fields.String(**example("24000.00"))


class RuleCheckOut(Schema):
    code = fields.String(**example("administration_cap"))
    flagged = fields.Boolean(**example(False))
    actual_percent = fields.String(allow_none=True, **example("8.20"))
    threshold_percent = fields.Integer(**example(15))
    message = fields.String(**example("ประเภทที่ 4 ไม่เกินร้อยละ 15 ของรายรับ"))


class ChecksOut(BalanceOut):
    as_of = fields.Date()
    checks = fields.List(fields.Nested(RuleCheckOut))
    flags = fields.List(fields.String(), **example(["idle_balance"]))


class YearQuery(Schema):
    fiscal_year = fields.Integer(required=True, validate=FISCAL_YEAR, **example(2567))


class ChecksQuery(YearQuery):
    as_of = fields.Date(load_default=None, **example("2024-03-31"))


class LedgerEntryIn(Schema):
    kind = fields.String(
        required=True, validate=validate.OneOf(["income", "refund", "disbursement"]), **example("income")
    )
    code = fields.Integer(
        required=True,
        strict=True,
        metadata={"example": 40100, "description": "Income 40100-40400, refund 40500, spending 50100-50500"},
    )
    amount = Baht(required=True, metadata={"example": "235350.00", "description": MONEY})
    fiscal_year = fields.Integer(required=True, strict=True, validate=FISCAL_YEAR, **example(2567))
    entry_date = fields.Date(load_default=None, allow_none=True, **example("2023-10-15"))
    description = fields.String(load_default="", validate=validate.Length(max=500), **example("เงินโอนจาก สปสช."))
    project_id = fields.String(load_default=None, allow_none=True, validate=UUID_TEXT)
    commitment_id = fields.String(load_default=None, allow_none=True, validate=UUID_TEXT)
    citizen_group = fields.Boolean(load_default=False, metadata={"description": "A payment to a citizen group"})


class LedgerEntryOut(Schema):
    id = fields.String()
    fund_code = fields.String(**example("L3363"))
    fiscal_year = fields.Integer(**example(2567))
    kind = fields.String(**example("income"))
    code = fields.Integer(**example(40100))
    amount = fields.String(**example("235350.00"))
    entry_date = fields.Date()
    description = fields.String()
    project_id = fields.String(allow_none=True)
    commitment_id = fields.String(allow_none=True)


class RecordedEntryOut(LedgerEntryOut):
    balances = fields.Nested(BalanceOut)


class EntryQuery(PageQuery):
    fiscal_year = fields.Integer(load_default=None, validate=FISCAL_YEAR)
    kind = fields.String(
        load_default=None, validate=validate.OneOf(["income", "refund", "disbursement", "commitment", "release"])
    )


class CommitmentOut(Schema):
    id = fields.String()
    project_id = fields.String()
    project_code = fields.String(**example("L3363-2567-0001"))
    fund_code = fields.String()
    fiscal_year = fields.Integer()
    spending_type = fields.Integer()
    owner_kind = fields.String(**example("citizen_group"))
    amount = fields.String(**example("24000.00"))
    outstanding = fields.String(**example("24000.00"))
    status = fields.String(**example("open"))
    committed_at = fields.DateTime()
    released_at = fields.DateTime(allow_none=True)
    release_reason = fields.String(allow_none=True)


class FinancialReportIn(Schema):
    fiscal_year = fields.Integer(required=True, strict=True, validate=FISCAL_YEAR, **example(2567))
    quarter = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(1, 4, error="Must be a quarter of the fiscal year: 1 (October-December) to 4."),
        metadata={"example": 2, "description": "1 = October-December, 2 = January-March ... 4 = July-September"},
    )
    submitted_by = fields.String(required=True, validate=THAI_TEXT, **example("นางสาวสมศรี ใจดี"))


class FinancialReportOut(PlaceOut):
    id = fields.String()
    fiscal_year = fields.Integer(**example(2567))
    quarter = fields.Integer(**example(2))
    title_th = fields.String(**example("รายงานการเงินไตรมาสที่ 2 ปีงบประมาณ 2567"))
    period_start = fields.Date(**example("2024-01-01"))
    period_end = fields.Date(**example("2024-03-31"))
    carried = fields.String(metadata={"example": "7499.50", "description": "Balance carried from earlier years"})
    income = fields.String(metadata={"example": "305955.01", "description": "From the start of the fiscal year"})
    spending = fields.String(metadata={"example": "12000.01", "description": "From the start of the fiscal year"})
    balance = fields.String(metadata={"example": "301454.50", "description": "carried + income - spending"})
    submitted_by = fields.String(**example("นางสาวสมศรี ใจดี"))
    submitted_at = fields.DateTime()
    locked = fields.Boolean(**example(True))


class FinancialReportQuery(PageQuery):
    fiscal_year = fields.Integer(load_default=None, validate=FISCAL_YEAR, **example(2567))


class FundPersonIn(Schema):
    role = fields.String(
        required=True, validate=validate.OneOf(["committee_member", "officer"]), **example("committee_member")
    )
    name = fields.String(required=True, validate=THAI_TEXT, **example("นายสมชาย ใจดี"))
    position = fields.String(load_default="", validate=validate.Length(max=300), **example("ประธานกรรมการ"))
    organisation = fields.String(load_default="", validate=validate.Length(max=300), **example("เทศบาลตำบลบ้านไร่"))
    phone = fields.String(load_default="", validate=validate.Length(max=50), **example("081-234-5678"))
    term_start = fields.Date(load_default=None, allow_none=True, **example("2022-01-01"))
    term_end = fields.Date(load_default=None, allow_none=True, **example("2025-12-31"))


class FundPersonOut(FundPersonIn):
    id = fields.String()
    fund_code = fields.String()
    term_expired = fields.Boolean(**example(False))


class PeopleOut(Schema):
    fund_code = fields.String(**example("L3363"))
    officer = fields.Nested(FundPersonOut, allow_none=True)
    committee = fields.List(fields.Nested(FundPersonOut))
    expired_terms = fields.Integer(**example(0))


class MentorRecordIn(Schema):
    name = fields.String(required=True, validate=THAI_TEXT, **example("นางสาวสมศรี รักษ์ถิ่น"))
    level = fields.String(required=True, validate=validate.OneOf(["provincial", "fund"]), **example("provincial"))
    province = fields.String(required=True, validate=THAI_TEXT, **example("พัทลุง"))
    organisation = fields.String(load_default="", validate=validate.Length(max=300), **example("สสจ.พัทลุง"))
    phone = fields.String(load_default="", validate=validate.Length(max=50))
    fund_codes = fields.List(fields.String(validate=FUND_CODE), load_default=list, **example(["L3363"]))


class MentorRecordOut(MentorRecordIn):
    id = fields.String()


class MentorQuery(PageQuery):
    province = fields.String(load_default=None, validate=THAI_TEXT)
    fund_code = fields.String(load_default=None, validate=FUND_CODE)
    level = fields.String(load_default=None, validate=validate.OneOf(["provincial", "fund"]))


class AssignmentIn(Schema):
    fund_code = fields.String(required=True, validate=FUND_CODE, **example("L3363"))


class CommitteeMemberIn(Schema):
    name = fields.String(required=True, validate=THAI_TEXT, **example("นายชลิต เกตุแสง"))
    role = fields.String(
        load_default="member", validate=validate.OneOf(["chair", "member", "secretary"]), **example("secretary")
    )
    position = fields.String(load_default="", validate=validate.Length(max=300), **example("สาธารณสุขอำเภอศรีนครินทร์"))
    organisation = fields.String(load_default="", validate=validate.Length(max=300))


class DistrictCommitteeIn(Schema):
    name_th = fields.String(required=True, validate=THAI_TEXT, **example("พชอ.ศรีนครินทร์"))
    province = fields.String(required=True, validate=THAI_TEXT, **example("พัทลุง"))
    district = fields.String(required=True, validate=THAI_TEXT, **example("ศรีนครินทร์"))
    members = fields.List(fields.Nested(CommitteeMemberIn), required=True, validate=validate.Length(min=1, max=200))


class DistrictCommitteeOut(DistrictCommitteeIn):
    id = fields.String()
    region = fields.Integer(**example(12))
    secretary = fields.Nested(CommitteeMemberIn, allow_none=True)


class IssueIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=60), **example("physical_activity"))
    name_th = fields.String(required=True, validate=THAI_TEXT, **example("การเพิ่มกิจกรรมทางกาย"))
    name_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))


class TaxonomyIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=60), **example("district_9"))
    name_th = fields.String(required=True, validate=THAI_TEXT, **example("9 ประเด็น"))
    source = fields.String(load_default="", validate=validate.Length(max=300), **example("seed 000"))
    issues = fields.List(fields.Nested(IssueIn), required=True, validate=validate.Length(min=1, max=100))


class ProgrammeIn(Schema):
    name_th = fields.String(
        required=True, validate=THAI_TEXT, **example("โครงการบูรณาการกลไกสร้างเสริมสุขภาวะระดับตำบลและอำเภอ จังหวัดปัตตานี")
    )
    kind = fields.String(required=True, validate=validate.OneOf(PROGRAMME_KINDS), **example("district_integration"))
    taxonomy_code = fields.String(required=True, validate=validate.Length(min=1, max=60), **example("district_9"))
    province = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT, **example("ปัตตานี"))
    district = fields.String(load_default=None, allow_none=True, validate=THAI_TEXT)
    partners = fields.List(fields.String(validate=THAI_TEXT), load_default=list, **example(["สสส.", "สปสช. เขต 12"]))
    hub = fields.Nested(LaoIn, load_default=None, allow_none=True)
    members = fields.List(fields.Nested(LaoIn), load_default=list)


class FundJoined(Schema):
    fund_code = fields.String()
    agreement_id = fields.String()
    joined_on = fields.Date()


class ProgrammeOut(ProgrammeIn):
    id = fields.String()
    taxonomy = fields.Nested(TaxonomyIn)
    hub = fields.Nested(LaoOut, allow_none=True)
    members = fields.List(fields.Nested(LaoOut))
    funds = fields.List(fields.Nested(FundJoined))
    created_at = fields.DateTime()


class ProgrammeQuery(PageQuery):
    province = fields.String(load_default=None, validate=THAI_TEXT)
    kind = fields.String(load_default=None, validate=validate.OneOf(PROGRAMME_KINDS))


class AgreementIn(Schema):
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        **example("บันทึกข้อตกลงความร่วมมือโครงการบูรณาการกลไกสร้างเสริมสุขภาวะระดับตำบลและอำเภอ"),
    )
    signed_on = fields.Date(required=True, **example("2022-11-17"))
    place = fields.String(required=True, validate=validate.Length(min=1, max=500), **example("โรงแรมเซาท์เทิร์นวิว ปัตตานี"))
    parties = fields.List(
        fields.String(validate=THAI_TEXT), required=True, validate=validate.Length(min=1), **example(["สสส.", "พชอ."])
    )
    fund_codes = fields.List(
        fields.String(validate=FUND_CODE), required=True, validate=validate.Length(min=1), **example(["L9101"])
    )


class AgreementOut(AgreementIn):
    id = fields.String()
    programme_id = fields.String()
    recorded_at = fields.DateTime()
    newly_joined = fields.List(fields.String())


class PlanIndicatorIn(Schema):
    name = fields.String(
        required=True, validate=validate.Length(min=1, max=500), **example("ร้อยละผู้สูงอายุที่ออกกำลังกายสม่ำเสมอ")
    )
    unit = fields.String(required=True, validate=validate.Length(min=1, max=100), **example("ร้อยละ"))
    baseline = fields.Decimal(required=True, as_string=True, allow_nan=False, **example("30"))
    target = fields.Decimal(required=True, as_string=True, allow_nan=False, **example("50"))


class PlanIndicatorOut(PlanIndicatorIn):
    id = fields.String()
    baseline = fields.String(**example("30"))
    target = fields.String(**example("50"))


class FundPlanIn(Schema):
    fund_code = fields.String(required=True, validate=FUND_CODE, **example("L9101"))
    programme_id = fields.String(required=True, validate=UUID_TEXT)
    issue = fields.String(required=True, validate=validate.Length(min=1, max=60), **example("physical_activity"))
    fiscal_year = fields.Integer(required=True, strict=True, validate=FISCAL_YEAR, **example(2567))
    situation = fields.String(
        required=True, validate=validate.Length(min=1, max=10000), **example("ผู้สูงอายุออกกำลังกายสม่ำเสมอร้อยละ 30")
    )
    objectives = fields.List(
        fields.String(validate=validate.Length(min=1, max=1000)),
        required=True,
        validate=validate.Length(min=1),
        **example(["เพิ่มการออกกำลังกายของผู้สูงอายุ"]),
    )
    indicators = fields.List(fields.Nested(PlanIndicatorIn), required=True, validate=validate.Length(min=1, max=50))


class FundPlanOut(Schema):
    id = fields.String()
    fund_code = fields.String(**example("L9101"))
    programme_id = fields.String()
    issue = fields.String(**example("physical_activity"))
    fiscal_year = fields.Integer(**example(2567))
    situation = fields.String()
    objectives = fields.List(fields.String())
    indicators = fields.List(fields.Nested(PlanIndicatorOut))
    status = fields.String(**example("approved"))
    approved_on = fields.Date(allow_none=True, **example("2023-12-08"))
    approved_by = fields.String(allow_none=True, **example("คณะกรรมการกองทุน"))
    meeting_ref = fields.String(allow_none=True, **example("ครั้งที่ 1/2567"))
    approval_deadline = fields.Date(**example("2023-12-31"))
    late = fields.Boolean(**example(False))


class PlanApprovalIn(Schema):
    approved_on = fields.Date(required=True, **example("2023-12-08"))
    approved_by = fields.String(required=True, validate=THAI_TEXT, **example("คณะกรรมการกองทุน"))
    meeting_ref = fields.String(load_default="", validate=validate.Length(max=200), **example("ครั้งที่ 1/2567"))


class PlanQuery(PlaceQuery):
    fund_code = fields.String(load_default=None, validate=FUND_CODE)
    fiscal_year = fields.Integer(load_default=None, validate=FISCAL_YEAR)
    programme_id = fields.String(load_default=None, validate=UUID_TEXT)
    status = fields.String(load_default=None, validate=validate.OneOf(["draft", "approved"]))
    late = fields.Boolean(load_default=None)


class ImportIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["geography", "funds"]), **example("funds"))
    filename = fields.String(
        load_default="upload.csv", validate=validate.Length(min=1, max=200), **example("funds_pattani.csv")
    )
    content = fields.String(
        required=True,
        validate=validate.Length(min=1),
        metadata={
            "description": "The CSV text (UTF-8, a header line first)",
            "example": "code,name_th,lao_name_th,lao_kind,subdistrict,district,province,region\n"
            "L9103,กองทุนหลักประกันสุขภาพองค์การบริหารส่วนตำบลเกาะเปาะ,องค์การบริหารส่วนตำบลเกาะเปาะ,sao,เกาะเปาะ,หนองจิก,ปัตตานี,12\n",
        },
    )


class ImportOut(Schema):
    kind = fields.String(**example("funds"))
    file = fields.String(**example("funds_pattani.csv"))
    rows = fields.Integer(**example(32))
    created = fields.Integer(**example(32))
    unchanged = fields.Integer(**example(0))
    created_or_updated = fields.Integer()


class ProvinceOut(Schema):
    name_th = fields.String(**example("ปัตตานี"))
    name_en = fields.String(allow_none=True, **example("Pattani"))
    region = fields.Integer(**example(12))


class DistrictOut(ProvinceOut):
    province = fields.String(**example("ปัตตานี"))


class BracketIn(Schema):
    up_to = Baht(required=True, allow_none=True, metadata={"example": "5999999.99", "description": "Null: no limit"})
    min_percent = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100), **example(30))


PERCENT = {"required": True, "strict": True, "validate": validate.Range(0, 100)}


class RuleSetIn(Schema):
    per_capita_rate = Baht(required=True, metadata={"example": "45.00", "description": "Baht per registered person"})
    matching_brackets = fields.List(fields.Nested(BracketIn), required=True, validate=validate.Length(min=1, max=10))
    administration_cap_percent = fields.Integer(**PERCENT, **example(15))
    type3_floor_percent = fields.Integer(**PERCENT, **example(15))
    citizen_groups_min_percent = fields.Integer(**PERCENT, **example(40))
    idle_balance_max_percent = fields.Integer(**PERCENT, **example(10))
    pace_q2_percent = fields.Integer(**PERCENT, **example(20))
    pace_q3_percent = fields.Integer(**PERCENT, **example(50))
    pace_q4_percent = fields.Integer(**PERCENT, **example(80))
    changed_by = fields.String(load_default="", validate=validate.Length(max=300), **example("สปสช. เขต 12"))


class RuleSetOut(RuleSetIn):
    changed_at = fields.DateTime(allow_none=True)
    defaults = fields.Boolean(**example(True))
    changed_by = fields.String(allow_none=True, **example("สปสช. เขต 12"))


class TaxonomiesOut(Schema):
    items = fields.List(fields.Nested(TaxonomyIn))


class AgreementsOut(Schema):
    items = fields.List(fields.Nested(AgreementOut))


FundPage = paged(FundOut, "FundPage")
ProvincePage = paged(ProvinceOut, "ProvincePage")
DistrictPage = paged(DistrictOut, "DistrictPage")
LaoPage = paged(LaoOut, "LaoPage")
EntryPage = paged(LedgerEntryOut, "EntryPage")
CommitmentPage = paged(CommitmentOut, "CommitmentPage")
MentorPage = paged(MentorRecordOut, "MentorPage")
DistrictCommitteePage = paged(DistrictCommitteeOut, "DistrictCommitteePage")
ProgrammePage = paged(ProgrammeOut, "ProgrammePage")
PlanPage = paged(FundPlanOut, "PlanPage")
FinancialReportPage = paged(FinancialReportOut, "FinancialReportPage")


def query_of(request, schema: type[Schema]) -> dict:
    """The query checked by the public schema, passed on as the service's plain values."""
    loaded = read_query(request, schema)
    return {key: (value.isoformat() if hasattr(value, "isoformat") else value) for key, value in loaded.items()}


# ------------------------------------------------------------------ routes


class FundsRoutes:
    # -------------------------------------------------------------- funds

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

    @route("GET", "/api/v1/funds", "List funds", TAG, query=PlaceQuery, response=FundPage, errors=(422, 503))
    def list_funds(self, request):
        return json_response(self.funds.list_funds(query_of(request, PlaceQuery)))

    @route("GET", "/api/v1/funds/<code>", "Get a fund", TAG, response=FundOut, errors=(404, 503))
    def get_fund(self, request, code):
        return json_response(self.funds.get_fund(code))

    @route(
        "GET",
        "/api/v1/funds/<code>/details",
        "Get a fund with its local government and programmes",
        TAG,
        response=FundDetailsOut,
        errors=(404, 503),
    )
    def fund_details(self, request, code):
        return json_response(self.funds.fund_details(code))

    @route(
        "PUT",
        "/api/v1/funds/<code>/years/<fiscal_year>",
        "Set a fund's registered population and own income for a year",
        TAG,
        body=FundYearIn,
        response=FundYearOut,
        errors=(400, 404, 415, 422, 503),
    )
    def set_fund_year(self, request, code, fiscal_year):
        year = fiscal_year_of(fiscal_year)
        return json_response(self.funds.set_fund_year(code, year, read_json(request, FundYearIn)))

    @route(
        "GET",
        "/api/v1/funds/<code>/years/<fiscal_year>",
        "A fund's NHSO allocation and matching share for a year",
        TAG,
        response=FundYearOut,
        errors=(404, 422, 503),
    )
    def get_fund_year(self, request, code, fiscal_year):
        return json_response(self.funds.get_fund_year(code, fiscal_year_of(fiscal_year)))

    @route(
        "GET",
        "/api/v1/funds/<code>/balance",
        "A fund's balance for a fiscal year",
        TAG,
        query=YearQuery,
        response=BalanceOut,
        errors=(404, 422, 503),
    )
    def get_balance(self, request, code):
        return json_response(self.funds.get_balance(code, query_of(request, YearQuery)["fiscal_year"]))

    @route(
        "GET",
        "/api/v1/funds/<code>/checks",
        "The rule checks and flags of a fund's fiscal year",
        TAG,
        query=ChecksQuery,
        response=ChecksOut,
        errors=(404, 422, 503),
    )
    def evaluate(self, request, code):
        query = query_of(request, ChecksQuery)
        return json_response(self.funds.evaluate(code, query["fiscal_year"], query["as_of"]))

    @route(
        "GET",
        "/api/v1/funds/<code>/ledger",
        "A fund's ledger entries",
        TAG,
        query=EntryQuery,
        response=EntryPage,
        errors=(404, 422, 503),
    )
    def list_entries(self, request, code):
        return json_response(self.funds.list_entries(code, query_of(request, EntryQuery)))

    @route(
        "POST",
        "/api/v1/funds/<code>/ledger",
        "Record income, a refund or a disbursement",
        TAG,
        body=LedgerEntryIn,
        response=RecordedEntryOut,
        status=201,
        errors=(400, 404, 415, 422, 503),
    )
    def record_entry(self, request, code):
        return json_response(self.funds.record_entry(code, read_json(request, LedgerEntryIn)), 201)

    @route(
        "GET",
        "/api/v1/funds/<code>/commitments",
        "A fund's budget commitments to approved projects",
        TAG,
        query=EntryQuery,
        response=CommitmentPage,
        errors=(404, 422, 503),
    )
    def list_commitments(self, request, code):
        return json_response(self.funds.list_commitments(code, query_of(request, EntryQuery)))

    @route(
        "GET",
        "/api/v1/funds/<code>/financial-reports",
        "A fund's quarterly financial reports (รายงานการเงินรายไตรมาส)",
        TAG,
        query=FinancialReportQuery,
        response=FinancialReportPage,
        errors=(404, 422, 503),
    )
    def list_fund_financial_reports(self, request, code):
        return json_response(self.funds.list_financial_reports(code, query_of(request, FinancialReportQuery)))

    @route(
        "POST",
        "/api/v1/funds/<code>/financial-reports",
        "Send a quarterly financial report: the ledger's figures at the quarter's end, locked once sent "
        "(FundFinancialReportSubmitted)",
        TAG,
        body=FinancialReportIn,
        response=FinancialReportOut,
        status=201,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def submit_fund_financial_report(self, request, code):
        return json_response(self.funds.submit_financial_report(code, read_json(request, FinancialReportIn)), 201)

    @route(
        "GET",
        "/api/v1/funds/<code>/people",
        "A fund's officer and committee",
        TAG,
        response=PeopleOut,
        errors=(404, 503),
    )
    def list_people(self, request, code):
        return json_response(self.funds.list_people(code))

    @route(
        "POST",
        "/api/v1/funds/<code>/people",
        "Add a committee member or set the fund officer",
        TAG,
        body=FundPersonIn,
        response=FundPersonOut,
        status=201,
        errors=(400, 404, 415, 422, 503),
    )
    def add_person(self, request, code):
        return json_response(self.funds.add_person(code, read_json(request, FundPersonIn)), 201)

    # -------------------------------------------------------------- geography and import

    @route(
        "GET", "/api/v1/provinces", "List provinces", TAG, query=PlaceQuery, response=ProvincePage, errors=(422, 503)
    )
    def list_provinces(self, request):
        return json_response(self.funds.list_provinces(query_of(request, PlaceQuery)))

    @route(
        "GET", "/api/v1/districts", "List districts", TAG, query=PlaceQuery, response=DistrictPage, errors=(422, 503)
    )
    def list_districts(self, request):
        return json_response(self.funds.list_districts(query_of(request, PlaceQuery)))

    @route(
        "GET",
        "/api/v1/local-governments",
        "List local governments",
        TAG,
        query=PlaceQuery,
        response=LaoPage,
        errors=(422, 503),
    )
    def list_local_governments(self, request):
        return json_response(self.funds.list_local_governments(query_of(request, PlaceQuery)))

    @route(
        "POST",
        "/api/v1/imports",
        "Import geography or funds from CSV",
        TAG,
        body=ImportIn,
        response=ImportOut,
        errors=(400, 413, 415, 422, 503),
    )
    def import_csv(self, request):
        body = read_json(request, ImportIn)
        return json_response(self.funds.import_csv(body["kind"], body["filename"], body["content"]))

    # -------------------------------------------------------------- mentors and district committees

    @route("GET", "/api/v1/mentors", "List mentors", TAG, query=MentorQuery, response=MentorPage, errors=(422, 503))
    def list_mentors(self, request):
        return json_response(self.funds.list_mentors(query_of(request, MentorQuery)))

    @route(
        "POST",
        "/api/v1/mentors",
        "Record a mentor",
        TAG,
        body=MentorRecordIn,
        response=MentorRecordOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def create_mentor(self, request):
        return json_response(self.funds.create_mentor(read_json(request, MentorRecordIn)), 201)

    @route(
        "POST",
        "/api/v1/mentors/<mentor_id>/funds",
        "Assign a mentor to a fund",
        TAG,
        body=AssignmentIn,
        response=MentorRecordOut,
        errors=(400, 404, 415, 422, 503),
    )
    def assign_mentor(self, request, mentor_id):
        return json_response(self.funds.assign_mentor(mentor_id, read_json(request, AssignmentIn)["fund_code"]))

    @route(
        "GET",
        "/api/v1/district-committees",
        "List district committees (พชอ.)",
        TAG,
        query=PlaceQuery,
        response=DistrictCommitteePage,
        errors=(422, 503),
    )
    def list_district_committees(self, request):
        return json_response(self.funds.list_district_committees(query_of(request, PlaceQuery)))

    @route(
        "POST",
        "/api/v1/district-committees",
        "Record a district committee (พชอ.) with its members and secretary",
        TAG,
        body=DistrictCommitteeIn,
        response=DistrictCommitteeOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def create_district_committee(self, request):
        return json_response(self.funds.create_district_committee(read_json(request, DistrictCommitteeIn)), 201)

    # -------------------------------------------------------------- taxonomies, programmes, agreements

    @route("GET", "/api/v1/taxonomies", "List issue taxonomies", TAG, response=TaxonomiesOut, errors=(503,))
    def list_taxonomies(self, request):
        return json_response(self.funds.list_taxonomies())

    @route(
        "POST",
        "/api/v1/taxonomies",
        "Load an issue taxonomy",
        TAG,
        body=TaxonomyIn,
        response=TaxonomyIn,
        status=201,
        errors=(400, 409, 415, 422, 503),
    )
    def load_taxonomy(self, request):
        return json_response(self.funds.load_taxonomy(read_json(request, TaxonomyIn)), 201)

    @route(
        "GET",
        "/api/v1/programmes",
        "List programmes",
        TAG,
        query=ProgrammeQuery,
        response=ProgrammePage,
        errors=(422, 503),
    )
    def list_programmes(self, request):
        return json_response(self.funds.list_programmes(query_of(request, ProgrammeQuery)))

    @route(
        "POST",
        "/api/v1/programmes",
        "Create a programme",
        TAG,
        body=ProgrammeIn,
        response=ProgrammeOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def create_programme(self, request):
        programme = self.funds.create_programme(read_json(request, ProgrammeIn))
        return json_response(programme, 201, {"Location": f"/api/v1/programmes/{programme['id']}"})

    @route("GET", "/api/v1/programmes/<programme_id>", "Get a programme", TAG, response=ProgrammeOut, errors=(404, 503))
    def get_programme(self, request, programme_id):
        return json_response(self.funds.get_programme(programme_id))

    @route(
        "GET",
        "/api/v1/programmes/<programme_id>/agreements",
        "A programme's agreements",
        TAG,
        response=AgreementsOut,
        errors=(404, 503),
    )
    def list_agreements(self, request, programme_id):
        return json_response(self.funds.list_agreements(programme_id))

    @route(
        "POST",
        "/api/v1/programmes/<programme_id>/agreements",
        "Record a signed agreement (MOU); its funds join the programme",
        TAG,
        body=AgreementIn,
        response=AgreementOut,
        status=201,
        errors=(400, 404, 415, 422, 503),
    )
    def sign_agreement(self, request, programme_id):
        return json_response(self.funds.sign_agreement(programme_id, read_json(request, AgreementIn)), 201)

    # -------------------------------------------------------------- plans

    @route("GET", "/api/v1/plans", "List plans", TAG, query=PlanQuery, response=PlanPage, errors=(422, 503))
    def list_plans(self, request):
        return json_response(self.funds.list_plans(query_of(request, PlanQuery)))

    @route(
        "POST",
        "/api/v1/plans",
        "Write a fund's plan for one issue and fiscal year",
        TAG,
        body=FundPlanIn,
        response=FundPlanOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def create_plan(self, request):
        plan = self.funds.create_plan(read_json(request, FundPlanIn))
        return json_response(plan, 201, {"Location": f"/api/v1/plans/{plan['id']}"})

    @route("GET", "/api/v1/plans/<plan_id>", "Get a plan", TAG, response=FundPlanOut, errors=(404, 503))
    def get_plan(self, request, plan_id):
        return json_response(self.funds.plan_details(plan_id))

    @route(
        "POST",
        "/api/v1/plans/<plan_id>/approve",
        "Record the committee's approval of a plan (PlanApproved)",
        TAG,
        body=PlanApprovalIn,
        response=FundPlanOut,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def approve_plan(self, request, plan_id):
        return json_response(self.funds.approve_plan(plan_id, read_json(request, PlanApprovalIn)))

    # -------------------------------------------------------------- rules

    @route("GET", "/api/v1/rule-set", "The rule set funds are checked against", TAG, response=RuleSetOut, errors=(503,))
    def get_rules(self, request):
        return json_response(self.funds.get_rules())

    @route(
        "PUT",
        "/api/v1/rule-set",
        "Change the rule set",
        TAG,
        body=RuleSetIn,
        response=RuleSetOut,
        errors=(400, 415, 422, 503),
    )
    def set_rules(self, request):
        return json_response(self.funds.set_rules(read_json(request, RuleSetIn)))
