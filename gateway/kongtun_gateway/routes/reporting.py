"""Reporting: summaries and report obligations."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

from marshmallow import Schema, fields, validate
from werkzeug.wrappers import Response

from kongtun_common.thai import BANGKOK, format_baht, thai_date

from ..http import json_response, read_query, route
from ..schemas import REPORTS, example

TAG = "reporting"
GROUP_BY = (
    "fund_code",
    "subdistrict",
    "district",
    "province",
    "region",
    "issue",
    "spending_type",
    "owner_kind",
    "status",
    "fiscal_year",
)
PROJECT_STATUSES = (
    "submitted",
    "revision_requested",
    "approved",
    "rejected",
    "cancelled",
    "running",
    "suspended",
    "terminated",
    "completed",
)
OWNER_KINDS = ("health_unit", "lao_division", "state_agency", "non_health_agency", "citizen_group", "fund_secretariat")
OBLIGATION_STATES = ("open", "due", "overdue", "fulfilled", "late", "all")
OBLIGATION_KINDS = ("project", "fund", "all")
FUND_DUTIES = ("annual_plan", "quarterly_financial_report")
ROLLUPS = ("subdistrict", "district", "province", "region")
EXPORT_PAGE = 2000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SummaryQuery(Schema):
    region = fields.Integer(load_default=None, validate=validate.Range(1, 13))
    province = fields.String(load_default=None, validate=validate.Length(max=300))
    district = fields.String(load_default=None, validate=validate.Length(max=300))
    fiscal_year = fields.Integer(load_default=None, validate=validate.Range(2500, 2700))
    subdistrict = fields.String(load_default=None, validate=validate.Length(max=300))
    fund_code = fields.String(load_default=None, validate=validate.Regexp(r"^L[0-9]{4}$"), **example("L3363"))
    issue = fields.String(load_default=None, validate=validate.Length(max=60), **example("physical_activity"))
    spending_type = fields.Integer(load_default=None, validate=validate.Range(1, 5))
    owner_kind = fields.String(load_default=None, validate=validate.OneOf(OWNER_KINDS))
    status = fields.String(load_default=None, validate=validate.OneOf(PROJECT_STATUSES), **example("approved"))
    group_by = fields.String(load_default=None, validate=validate.OneOf(GROUP_BY), **example("issue"))


class SummaryGroupOut(Schema):
    key = fields.Raw(allow_none=True, **example("physical_activity"))
    projects = fields.Integer(**example(42))
    requested_amount = fields.String(**example("982223.00"))
    approved_amount = fields.String(**example("982223.00"))


class SummaryOut(Schema):
    funds = fields.Integer(**example(14))
    projects = fields.Integer(**example(108))
    projects_by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), **example({"approved": 108}))
    requested_amount = fields.String(**example("2091567.00"))
    approved_amount = fields.String(**example("2091567.00"))
    group_by = fields.String(**example("issue"))
    groups = fields.List(fields.Nested(SummaryGroupOut))


class CoverageQuery(Schema):
    fiscal_year = fields.Integer(required=True, validate=validate.Range(2500, 2700), **example(2567))
    programme_id = fields.UUID(load_default=None)
    issues = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,59}(,[a-z][a-z0-9_]{0,59})*$"),
        metadata={
            "description": "Comma-separated issue codes every fund must plan for; default: the issues the "
            "programme's funds have plans for (events do not carry a programme's issue list)",
            "example": "food_system,physical_activity",
        },
    )


class CoverageProgrammeOut(Schema):
    programme_id = fields.UUID()
    programme_name = fields.String(**example("แผนงานบูรณาการกลไกพัฒนาคุณภาพชีวิตระดับอำเภอ"))
    issues = fields.List(fields.String(), **example(["food_system", "physical_activity"]))
    funds = fields.Integer(**example(14))
    funds_covered = fields.Integer(**example(13))
    funds_not_covered = fields.List(fields.String(), **example(["L3369"]))
    coverage = fields.Float(allow_none=True, **example(0.9285714285714286))
    coverage_percent = fields.String(allow_none=True, **example("92.85"))


class CoverageOut(Schema):
    fiscal_year = fields.Integer(**example(2567))
    funds = fields.Integer(**example(14))
    funds_covered = fields.Integer(**example(13))
    coverage = fields.Float(allow_none=True, **example(0.9285714285714286))
    coverage_percent = fields.String(allow_none=True, **example("92.85"))
    programmes = fields.List(fields.Nested(CoverageProgrammeOut))


class LeadTimeQuery(SummaryQuery):
    class Meta:
        exclude = ("group_by",)


class LeadTimeOut(Schema):
    projects = fields.Integer(**example(108))
    average_days = fields.Float(allow_none=True, **example(12.5))
    longest_days = fields.Float(allow_none=True, **example(41.0))


class ExportQuery(SummaryQuery):
    format = fields.String(
        load_default="machine",
        validate=validate.OneOf(("machine", "people")),
        metadata={"description": "machine: ISO dates, plain amounts; people: Thai headers, B.E. dates, 1,234.00"},
    )


class XlsxQuery(ExportQuery):
    format = fields.String(
        load_default="people",
        validate=validate.OneOf(("machine", "people")),
        metadata={"description": "people (default): Thai headers, B.E. dates, 1,234.00; machine: ISO, numbers"},
    )


class OpenDataQuery(Schema):
    fiscal_year = fields.Integer(load_default=None, validate=validate.Range(2500, 2700))
    province = fields.String(load_default=None, validate=validate.Length(max=300))
    district = fields.String(load_default=None, validate=validate.Length(max=300))
    fund_code = fields.String(load_default=None, validate=validate.Regexp(r"^L[0-9]{4}$"))


class ObligationQuery(Schema):
    project_id = fields.UUID(load_default=None)
    state = fields.String(load_default="all", validate=validate.OneOf(OBLIGATION_STATES), **example("overdue"))
    fund_code = fields.String(load_default=None, validate=validate.Regexp(r"^L[0-9]{4}$"))
    province = fields.String(load_default=None, validate=validate.Length(max=300))
    district = fields.String(load_default=None, validate=validate.Length(max=300))
    report = fields.String(load_default=None, validate=validate.OneOf(REPORTS))
    limit = fields.Integer(load_default=None, validate=validate.Range(1, 10000))
    kind = fields.String(
        load_default=None,
        validate=validate.OneOf(OBLIGATION_KINDS),
        metadata={
            "description": "project: the projects' reports (the default); fund: the funds' duties (annual plan, "
            "quarterly financial reports; the default when duty is given); all: both, by due date",
            "example": "fund",
        },
    )
    duty = fields.String(load_default=None, validate=validate.OneOf(FUND_DUTIES), **example("annual_plan"))
    fiscal_year = fields.Integer(
        load_default=None, validate=validate.Range(2500, 2700), metadata={"description": "Fund duties only"}
    )
    region = fields.Integer(load_default=None, validate=validate.Range(1, 13))


class ObligationOut(Schema):
    id = fields.UUID()
    kind = fields.String(validate=validate.OneOf(("project", "fund")), **example("project"))
    project_id = fields.UUID(allow_none=True)
    project_title = fields.String(allow_none=True)
    fund_code = fields.String()
    fund_name = fields.String(**example("กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่"))
    report = fields.String(allow_none=True, validate=validate.OneOf(REPORTS), **example("final"))
    period = fields.Integer(allow_none=True, **example(1))
    duty = fields.String(allow_none=True, validate=validate.OneOf(FUND_DUTIES), **example(None))
    fiscal_year = fields.Integer(allow_none=True, metadata={"description": "Fund duties: the fiscal year (B.E.)"})
    quarter = fields.Integer(allow_none=True, metadata={"description": "Quarterly financial reports: 1-4"})
    label_th = fields.String(**example("รายงานผลการดำเนินงาน (ส.3)"))
    due_date = fields.Date()
    due_date_th = fields.String(**example("8 มิถุนายน 2567"))
    notices_sent = fields.List(fields.Integer(), **example([14]))
    overdue_notices_sent = fields.List(fields.Integer(), **example([1, 7]))
    days_overdue = fields.Integer(**example(8))
    province = fields.String(**example("พัทลุง"))
    district = fields.String(**example("ศรีนครินทร์"))
    region = fields.Integer(**example(12))
    fulfilled_at = fields.DateTime(allow_none=True)
    fulfilled_on = fields.Date(allow_none=True, metadata={"description": "Day (Asia/Bangkok) it was fulfilled"})


class FundMoneyQuery(Schema):
    fund_code = fields.String(load_default=None, validate=validate.Regexp(r"^L[0-9]{4}$"), **example("L3363"))
    subdistrict = fields.String(load_default=None, validate=validate.Length(max=300))
    district = fields.String(load_default=None, validate=validate.Length(max=300), **example("ศรีนครินทร์"))
    province = fields.String(load_default=None, validate=validate.Length(max=300), **example("พัทลุง"))
    region = fields.Integer(load_default=None, validate=validate.Range(1, 13))
    fiscal_year = fields.Integer(load_default=None, validate=validate.Range(2500, 2700), **example(2567))
    group_by = fields.String(
        load_default=None,
        validate=validate.OneOf(ROLLUPS),
        metadata={"description": "Roll up funds and flagged funds by area (and fiscal year)", "example": "province"},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100_000), **example(1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500), **example(50))


class IdleBalanceQuery(FundMoneyQuery):
    flagged = fields.Boolean(load_default=None, metadata={"description": "Only flagged (true) or unflagged funds"})


class SpendingPaceQuery(FundMoneyQuery):
    as_of = fields.Date(
        load_default=None,
        metadata={"description": "Evaluate the quarters ended by this day; default today (Asia/Bangkok)"},
    )
    behind = fields.Boolean(load_default=None, metadata={"description": "Only funds behind (true) or on pace"})


class MentorReportQuery(FundMoneyQuery):
    class Meta:
        exclude = ("fiscal_year",)

    without_mentor = fields.Boolean(load_default=None, metadata={"description": "Only funds without a mentor"})


_FUND_PLACE = {
    "fund_code": fields.String(**example("L3363")),
    "fund_name": fields.String(**example("กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่")),
    "subdistrict": fields.String(**example("บ้านไร่")),
    "district": fields.String(**example("ศรีนครินทร์")),
    "province": fields.String(**example("พัทลุง")),
    "region": fields.Integer(**example(12)),
}


def _money(value: str, description: str = ""):
    return fields.String(allow_none=True, metadata={"example": value, "description": description or "Baht"})


class PaceRollupOut(Schema):
    key = fields.Raw(**example("พัทลุง"))
    fiscal_year = fields.Integer(**example(2567))
    funds = fields.Integer(**example(14))
    behind = fields.Integer(**example(3))


class IdleRollupOut(Schema):
    key = fields.Raw(**example("พัทลุง"))
    fiscal_year = fields.Integer(**example(2567))
    funds = fields.Integer(**example(14))
    flagged = fields.Integer(**example(2))


class PaceQuarterOut(Schema):
    quarter = fields.Integer(**example(2))
    ends_on = fields.Date()
    threshold_percent = fields.Integer(**example(20))
    spent = _money("15200.00", "Spent by the end of the quarter, baht")
    spent_percent = fields.String(allow_none=True, **example("15.20"))
    behind = fields.Boolean()


SpendingPaceOut = Schema.from_dict(
    {
        **_FUND_PLACE,
        "fiscal_year": fields.Integer(**example(2567)),
        "income": _money("99000.00", "The year's income (with refunds), baht"),
        "carried": _money("1000.00", "Carried from earlier years, baht"),
        "money": _money("100000.00", "Carried + income: what the thresholds are percentages of"),
        "spent": _money("50276.99"),
        "committed": _money("14800.00"),
        "quarters": fields.List(fields.Nested(PaceQuarterOut)),
        "evaluated_quarter": fields.Integer(allow_none=True, **example(2)),
        "spent_percent": fields.String(allow_none=True, **example("15.20")),
        "threshold_percent": fields.Integer(allow_none=True, **example(20)),
        "behind": fields.Boolean(),
    },
    name="SpendingPaceOut",
)

IdleBalanceOut = Schema.from_dict(
    {
        **_FUND_PLACE,
        "fiscal_year": fields.Integer(**example(2567)),
        "income": _money("99000.00"),
        "carried": _money("1000.00"),
        "money": _money("100000.00"),
        "committed": _money("14800.00"),
        "spent": _money("50276.99"),
        "available": _money("34923.01", "Neither committed nor spent, baht"),
        "available_percent": fields.String(allow_none=True, **example("34.92")),
        "threshold_percent": fields.Integer(**example(10)),
        "flagged": fields.Boolean(),
    },
    name="IdleBalanceOut",
)


class FundMentorOut(Schema):
    mentor_id = fields.UUID()
    mentor_name = fields.String(**example("นายสมชาย ใจดี"))
    level = fields.String(validate=validate.OneOf(("provincial", "fund")), **example("fund"))
    level_th = fields.String(**example("พี่เลี้ยงระดับกองทุน"))


MentoredFundOut = Schema.from_dict(
    {**_FUND_PLACE, "mentors": fields.List(fields.Nested(FundMentorOut)), "mentor_count": fields.Integer()},
    name="MentoredFundOut",
)


class OverloadedMentorOut(Schema):
    mentor_id = fields.UUID()
    mentor_name = fields.String(**example("นายสมชาย ใจดี"))
    level = fields.String(**example("provincial"))
    funds = fields.List(fields.String(), **example(["L3363", "L3364", "L3365"]))
    fund_count = fields.Integer(**example(3))


class MentorRollupOut(Schema):
    key = fields.Raw(**example("ศรีนครินทร์"))
    funds = fields.Integer(**example(14))
    funds_without_mentor = fields.Integer(**example(1))
    assignments = fields.Integer(**example(22))


def _page_of(item: type[Schema], name: str, extra: dict) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "page": fields.Integer(**example(1)),
            "per_page": fields.Integer(**example(50)),
            "total": fields.Integer(**example(14)),
            "group_by": fields.String(**example("province")),
            **extra,
        },
        name=name,
    )


SpendingPacePage = _page_of(
    SpendingPaceOut,
    "SpendingPacePage",
    {"as_of": fields.Date(), "groups": fields.List(fields.Nested(PaceRollupOut))},
)
IdleBalancePage = _page_of(IdleBalanceOut, "IdleBalancePage", {"groups": fields.List(fields.Nested(IdleRollupOut))})
MentorReportPage = _page_of(
    MentoredFundOut,
    "MentorReportPage",
    {
        "funds": fields.Integer(**example(14)),
        "mentors": fields.Integer(**example(22)),
        "funds_without_mentor": fields.List(fields.String(), **example(["L3369"])),
        "max_funds_per_mentor": fields.Integer(**example(2)),
        "mentors_over_limit": fields.List(fields.Nested(OverloadedMentorOut)),
        "groups": fields.List(fields.Nested(MentorRollupOut)),
    },
)


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
        project_id = query.pop("project_id")
        project_id = str(project_id) if project_id else None
        return json_response({"items": self.reporting.obligations(project_id, query)})

    @route(
        "GET",
        "/api/v1/reporting/spending-pace",
        "Spending pace per fund and fiscal year: spent by the end of Q2/Q3/Q4 against 20/50/80 % of the year's money",
        TAG,
        query=SpendingPaceQuery,
        response=SpendingPacePage,
        errors=(422, 503),
    )
    def reporting_spending_pace(self, request):
        query = read_query(request, SpendingPaceQuery)
        if query["as_of"] is not None:
            query["as_of"] = query["as_of"].isoformat()
        return json_response(self.reporting.spending_pace(query))

    @route(
        "GET",
        "/api/v1/reporting/idle-balances",
        "Idle balances per fund and fiscal year: money neither committed nor spent, flagged above 10 %",
        TAG,
        query=IdleBalanceQuery,
        response=IdleBalancePage,
        errors=(422, 503),
    )
    def reporting_idle_balances(self, request):
        return json_response(self.reporting.idle_balances(read_query(request, IdleBalanceQuery)))

    @route(
        "GET",
        "/api/v1/reporting/mentors",
        "Mentors per fund: counts, funds without a mentor, mentors with more than 2 funds",
        TAG,
        query=MentorReportQuery,
        response=MentorReportPage,
        errors=(422, 503),
    )
    def reporting_mentors(self, request):
        return json_response(self.reporting.mentors(read_query(request, MentorReportQuery)))

    @route(
        "GET",
        "/api/v1/reporting/plan-coverage",
        "Plan coverage: funds with an approved plan for every issue of their programme",
        TAG,
        query=CoverageQuery,
        response=CoverageOut,
        errors=(422, 503),
    )
    def reporting_plan_coverage(self, request):
        query = read_query(request, CoverageQuery)
        return json_response(
            self.reporting.plan_coverage(
                {
                    "fiscal_year": query["fiscal_year"],
                    "programme_id": str(query["programme_id"]) if query["programme_id"] else None,
                    "issues": query["issues"].split(",") if query["issues"] else None,
                }
            )
        )

    @route(
        "GET",
        "/api/v1/reporting/approval-lead-time",
        "Days from submission to approval (average, longest) under the summary's filters",
        TAG,
        query=LeadTimeQuery,
        response=LeadTimeOut,
        errors=(422, 503),
    )
    def reporting_approval_lead_time(self, request):
        query = read_query(request, LeadTimeQuery)
        return json_response(self.reporting.approval_lead_time(query))

    @route(
        "GET",
        "/api/v1/reporting/exports/projects.csv",
        "Projects as CSV, streamed (UTF-8; format=people: Thai headers, B.E. dates, baht with separators)",
        TAG,
        query=ExportQuery,
        errors=(422, 503),
        media_type="text/csv",
    )
    def reporting_export_projects_csv(self, request):
        query = read_query(request, ExportQuery)
        people = query.pop("format") == "people"
        filters = {key: value for key, value in query.items() if value is not None}
        self.reporting.export_page(filters, None, 1)  # fails fast (422/503) before the response starts
        labels = self.reporting.labels() if people else None
        stamp = datetime.now(BANGKOK).strftime("%Y%m%d")
        return Response(
            _csv_lines(self._reporting_pages(filters), people, labels),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="kongtun-projects-{stamp}.csv"'},
        )

    @route(
        "GET",
        "/api/v1/reporting/exports/360giving.json",
        "Approved projects as 360Giving-style open data (JSON, streamed)",
        TAG,
        query=OpenDataQuery,
        errors=(422, 503),
    )
    def reporting_export_open_data(self, request):
        query = read_query(request, OpenDataQuery)
        filters = {key: value for key, value in query.items() if value is not None}
        filters["funded"] = True
        self.reporting.export_page(filters, None, 1)
        return Response(_grants_json(self._reporting_pages(filters)), content_type="application/json")

    @route(
        "GET",
        "/api/v1/reporting/exports/projects.xlsx",
        "Projects as an XLSX workbook, streamed (Thai headers, B.E. dates and baht for people; format=machine: ISO)",
        TAG,
        query=XlsxQuery,
        errors=(422, 503),
        media_type=XLSX,
    )
    def reporting_export_projects_xlsx(self, request):
        query = read_query(request, XlsxQuery)
        people = query.pop("format") == "people"
        filters = {key: value for key, value in query.items() if value is not None}
        self.reporting.export_page(filters, None, 1)
        labels = self.reporting.labels() if people else None
        stamp = datetime.now(BANGKOK).strftime("%Y%m%d")
        return Response(
            _xlsx_chunks(self._reporting_pages(filters), people, labels),
            content_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="kongtun-projects-{stamp}.xlsx"'},
        )

    def _reporting_pages(self, filters: dict):
        """Every row of an export, a page at a time over RPC: memory stays flat however many rows there are."""
        after = None
        while True:
            rows = self.reporting.export_page(filters, after, EXPORT_PAGE)
            yield from rows
            if len(rows) < EXPORT_PAGE:
                return
            after = rows[-1]["project_id"]


CSV_COLUMNS = (
    ("project_id", "รหัสอ้างอิงโครงการ"),
    ("project_code", "เลขที่โครงการ"),
    ("title", "ชื่อโครงการ"),
    ("fund_code", "รหัสกองทุน"),
    ("fund_name", "ชื่อกองทุน"),
    ("subdistrict", "ตำบล"),
    ("district", "อำเภอ"),
    ("province", "จังหวัด"),
    ("region", "เขต"),
    ("fiscal_year", "ปีงบประมาณ"),
    ("issue", "ประเด็น"),
    ("spending_type", "ประเภทการใช้จ่าย"),
    ("owner_kind", "ประเภทผู้รับทุน"),
    ("owner_name", "ผู้รับทุน"),
    ("status", "สถานะ"),
    ("requested_amount", "งบที่เสนอ (บาท)"),
    ("approved_amount", "งบที่อนุมัติ (บาท)"),
    ("start_date", "วันเริ่ม"),
    ("end_date", "วันสิ้นสุด"),
    ("submitted_at", "วันเสนอ"),
    ("approved_at", "วันอนุมัติ"),
)
_MONEY = ("requested_amount", "approved_amount")
_DAYS = ("start_date", "end_date", "submitted_at", "approved_at")
_LABELLED = ("status", "issue", "owner_kind", "spending_type")  # codes people read as Thai labels


def _csv_cell(key: str, value, people: bool, labels: dict | None = None):
    if value is None:
        return ""
    if people and labels and key in _LABELLED:
        return labels.get(key, {}).get(str(value), value)
    if key in _MONEY:
        return format_baht(value) if people else f"{value // 100}.{value % 100:02d}"
    if key in _DAYS and people:
        day = datetime.fromisoformat(value).astimezone(BANGKOK).date() if "T" in value else date.fromisoformat(value)
        return thai_date(day)
    return value


def _csv_lines(rows, people: bool, labels: dict | None = None):
    """CSV text a line at a time; people's copy starts with a BOM so spreadsheets read the Thai as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([thai if people else key for key, thai in CSV_COLUMNS])
    yield (("\ufeff" if people else "") + buffer.getvalue()).encode("utf-8")
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_cell(key, row.get(key), people, labels) for key, _thai in CSV_COLUMNS])
        yield buffer.getvalue().encode("utf-8")


def _grant(row: dict) -> dict:
    """One approved project in the 360Giving data standard's shape (amounts in THB, ISO dates)."""
    amount = row["approved_amount"] if row["approved_amount"] is not None else row["requested_amount"]
    awarded = row["approved_at"][:10] if row["approved_at"] else None
    return {
        "id": f"kongtun-{row['project_code'] or row['project_id']}",
        "title": row["title"],
        "currency": "THB",
        "amountAwarded": amount / 100,
        "awardDate": awarded,
        "plannedDates": [{"startDate": row["start_date"], "endDate": row["end_date"]}],
        "recipientOrganization": [{"name": row["owner_name"], "organisationType": row["owner_kind"]}],
        "fundingOrganization": [{"id": f"TH-NHSO-LHSF-{row['fund_code']}", "name": row["fund_name"]}],
        "beneficiaryLocation": [
            {
                "name": row["subdistrict"],
                "geographicCode": None,
                "district": row["district"],
                "province": row["province"],
                "nhsoRegion": row["region"],
            }
        ],
        "grantProgramme": [{"code": row["issue"], "title": f"fiscal year {row['fiscal_year']} B.E."}],
        "classifications": [{"vocabulary": "kongtun:spending_type", "code": str(row["spending_type"])}],
        "dataSource": "kongtun",
    }


def _grants_json(rows):
    yield b'{"grants": ['
    first = True
    for row in rows:
        yield (b"" if first else b",") + json.dumps(_grant(row), ensure_ascii=False).encode("utf-8")
        first = False
    yield b"]}"


def _xlsx_chunks(rows, people: bool, labels: dict | None = None, chunk: int = 65536):
    """The workbook in openpyxl's write-only mode (rows go to a temporary file as they come, not to memory),
    then the file streamed out in chunks and removed."""
    import tempfile

    from openpyxl import Workbook  # only the XLSX export needs it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("โครงการ" if people else "projects")
    sheet.append([thai if people else key for key, thai in CSV_COLUMNS])
    for row in rows:
        if people:
            sheet.append([_csv_cell(key, row.get(key), True, labels) for key, _thai in CSV_COLUMNS])
        else:
            sheet.append(
                [
                    (row[key] / 100 if row.get(key) is not None else None) if key in _MONEY else row.get(key)
                    for key, _thai in CSV_COLUMNS
                ]
            )
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while data := spool.read(chunk):
            yield data
