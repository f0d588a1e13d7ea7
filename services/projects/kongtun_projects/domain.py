"""The projects service's domain: a proposal's life as an explicit state machine.

Plain Python, no framework.  Money is integer satang; fiscal years are B.E.;
every change of state is a :class:`Transition` with who, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from kongtun_common.errors import Conflict, InvalidInput


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REVISION_REQUESTED = "revision_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    RUNNING = "running"
    COMPLETED = "completed"
    TERMINATED = "terminated"
    SUSPENDED = "suspended"


class Action(StrEnum):
    SUBMIT = "submit"
    REQUEST_REVISION = "request_revision"
    APPROVE = "approve"
    REVOKE_APPROVAL = "revoke_approval"  # the fund refused the budget commitment
    REJECT = "reject"
    CANCEL = "cancel"
    START = "start"
    COMPLETE = "complete"
    TERMINATE = "terminate"
    SUSPEND = "suspend"
    RESUME = "resume"


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.DRAFT, Action.SUBMIT): Status.SUBMITTED,
    (Status.DRAFT, Action.CANCEL): Status.CANCELLED,
    (Status.SUBMITTED, Action.REQUEST_REVISION): Status.REVISION_REQUESTED,
    (Status.SUBMITTED, Action.APPROVE): Status.APPROVED,
    (Status.SUBMITTED, Action.REJECT): Status.REJECTED,
    (Status.SUBMITTED, Action.CANCEL): Status.CANCELLED,
    (Status.REVISION_REQUESTED, Action.SUBMIT): Status.SUBMITTED,
    (Status.REVISION_REQUESTED, Action.CANCEL): Status.CANCELLED,
    (Status.APPROVED, Action.REVOKE_APPROVAL): Status.SUBMITTED,
    (Status.APPROVED, Action.START): Status.RUNNING,
    (Status.APPROVED, Action.CANCEL): Status.CANCELLED,
    (Status.RUNNING, Action.COMPLETE): Status.COMPLETED,
    (Status.RUNNING, Action.TERMINATE): Status.TERMINATED,
    (Status.RUNNING, Action.SUSPEND): Status.SUSPENDED,
    (Status.SUSPENDED, Action.RESUME): Status.RUNNING,
    (Status.SUSPENDED, Action.TERMINATE): Status.TERMINATED,
}

EDITABLE = (Status.DRAFT, Status.REVISION_REQUESTED)


class OwnerKind(StrEnum):
    HEALTH_UNIT = "health_unit"
    LAO_DIVISION = "lao_division"
    STATE_AGENCY = "state_agency"
    NON_HEALTH_AGENCY = "non_health_agency"
    CITIZEN_GROUP = "citizen_group"
    FUND_SECRETARIAT = "fund_secretariat"


class ExpenseGroup(StrEnum):
    FEES = "fees"
    WAGES = "wages"
    OPERATING_COSTS = "operating_costs"
    MATERIALS = "materials"
    UTILITIES = "utilities"
    OTHER = "other"


class BudgetStatus(StrEnum):
    NONE = "none"  # not approved yet
    PENDING = "pending"  # approved, waiting for the fund to commit the budget
    COMMITTED = "committed"
    REFUSED = "refused"  # the fund refused; the project went back to submitted


class ReportKind(StrEnum):
    PROGRESS = "progress"  # ส.1
    MENTOR_FOLLOW_UP = "mentor_follow_up"  # ส.2
    FINAL = "final"  # ส.3
    FINANCIAL = "financial"  # ง.1, per period
    FINANCIAL_CLOSING = "financial_closing"  # ง.2


CLOSING_REPORTS = (ReportKind.FINAL, ReportKind.FINANCIAL_CLOSING)
REPORT_GRACE_DAYS = 30  # the final and closing reports fall due this long after the period ends
VALUE_DIMENSIONS = (
    "knowledge_innovation",
    "behaviour_change",
    "supportive_environment",
    "public_policy",
    "community_process",
    "spiritual_health",
)
MIN_CITIZEN_GROUP = 5

# Which owners each spending type is meant for (reported at submission, not refused).
SPENDING_TYPE_OWNERS = {
    1: {OwnerKind.HEALTH_UNIT},
    2: {OwnerKind.CITIZEN_GROUP, OwnerKind.NON_HEALTH_AGENCY, OwnerKind.STATE_AGENCY},
    3: {OwnerKind.LAO_DIVISION, OwnerKind.STATE_AGENCY},
    4: {OwnerKind.FUND_SECRETARIAT},
    5: set(OwnerKind),
}


def next_status(current: Status, action: Action) -> Status:
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise Conflict(
            f"A {current.value.replace('_', ' ')} project cannot {action.value.replace('_', ' ')}.", current.value
        ) from None


@dataclass(frozen=True)
class Owner:
    name: str
    kind: OwnerKind
    contact: str = ""
    members: int | None = None  # a citizen group's size


@dataclass(frozen=True)
class FundRef:
    """What a project keeps of its fund, copied when the draft is created."""

    code: str
    name: str
    subdistrict: str
    district: str
    province: str
    region: int


@dataclass(frozen=True)
class IndicatorTarget:
    """A plan indicator the project serves, with the project's own target."""

    indicator_id: str
    target: str  # a decimal number as text, in the indicator's unit
    name: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Activity:
    name: str
    start_date: date
    end_date: date
    description: str = ""


@dataclass(frozen=True)
class BudgetLine:
    group: ExpenseGroup
    description: str
    amount: int  # satang


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True)
class DocumentRef:
    title: str
    reference: str  # a URL or a file reference


@dataclass(frozen=True)
class PlanView:
    """What the funds service says about a plan (read over RPC at submission)."""

    id: str
    fund_code: str
    fiscal_year: int
    issue: str
    status: str
    indicator_ids: frozenset[str]


@dataclass(frozen=True)
class Transition:
    from_status: Status | None
    to_status: Status
    by: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class ReviewComment:
    revision: int
    author: str
    role: str
    text: str
    at: datetime


@dataclass(frozen=True)
class ReportDueDate:
    report: ReportKind
    period: int
    due_date: date


@dataclass(frozen=True)
class Report:
    kind: ReportKind
    period: int
    submitted_by: str
    submitted_at: datetime
    content: dict


@dataclass(frozen=True)
class Project:
    id: str
    fund: FundRef
    title: str
    fiscal_year: int
    issue: str | None
    spending_type: int
    owner: Owner
    requested_amount: int
    start_date: date
    end_date: date
    entered_by: str
    entered_by_role: str = "proposer"
    plan_id: str | None = None
    indicator_targets: tuple[IndicatorTarget, ...] = ()
    activities: tuple[Activity, ...] = ()
    budget_lines: tuple[BudgetLine, ...] = ()
    location: Location | None = None
    documents: tuple[DocumentRef, ...] = ()
    status: Status = Status.DRAFT
    revision: int = 0  # how many times it was submitted
    code: str | None = None
    approved_amount: int | None = None
    approved_by: str | None = None
    meeting_ref: str | None = None
    budget_status: BudgetStatus = BudgetStatus.NONE
    budget_note: str = ""
    mentor: str | None = None
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    reports_due: tuple[ReportDueDate, ...] = ()
    reports: tuple[Report, ...] = ()
    comments: tuple[ReviewComment, ...] = ()
    history: tuple[Transition, ...] = field(default_factory=tuple)

    # -- the state machine -------------------------------------------------

    def _moved(self, action: Action, by: str, at: datetime, reason: str = "", **changes) -> Project:
        target = next_status(self.status, action)
        step = Transition(self.status, target, by, at, reason)
        return replace(self, status=target, history=self.history + (step,), **changes)

    def edit(self, changes: dict) -> Project:
        """Change the proposal's content; only a draft or a proposal sent back for revision."""
        if self.status not in EDITABLE:
            raise Conflict(f"A {self.status.value.replace('_', ' ')} project cannot be edited.", self.status.value)
        edited = replace(self, **changes)
        _check_period(edited.start_date, edited.end_date)
        return edited

    def submit(self, by: str, at: datetime, plan: PlanView | None) -> Project:
        """Submit (or resubmit) for consideration; refused unless the proposal is complete and linked to its plan."""
        next_status(self.status, Action.SUBMIT)
        problems = self.submission_problems(plan)
        if problems:
            raise InvalidInput(problems, "The proposal cannot be submitted yet.")
        return self._moved(Action.SUBMIT, by, at, submitted_at=at, revision=self.revision + 1)

    def request_revision(self, by: str, at: datetime, reason: str) -> Project:
        _require_reason(reason)
        return self._moved(Action.REQUEST_REVISION, by, at, reason)

    def reject(self, by: str, at: datetime, reason: str, meeting_ref: str) -> Project:
        _require_reason(reason)
        return self._moved(Action.REJECT, by, at, reason, meeting_ref=meeting_ref or self.meeting_ref)

    def cancel(self, by: str, at: datetime, reason: str) -> Project:
        _require_reason(reason)
        return self._moved(Action.CANCEL, by, at, reason)

    def check_approval(self, amount: int) -> None:
        """Refuse an approval that the state or the amount forbids."""
        next_status(self.status, Action.APPROVE)
        if amount > self.requested_amount:
            raise InvalidInput({"approved_amount": ["Must not exceed the requested amount."]})
        if amount <= 0:
            raise InvalidInput({"approved_amount": ["Must be more than zero."]})

    def approve(
        self,
        amount: int,
        approved_by: str,
        meeting_ref: str,
        by: str,
        at: datetime,
        sequence: int | None,
        periods: int = 1,
    ) -> Project:
        """Approve; set the reporting periods and the project code.

        The code is made from the fund year's next ``sequence`` number, unless the project
        already has one (approved before, then refused its budget).  The budget is not
        committed yet: the fund confirms it, or refuses, by event.
        """
        self.check_approval(amount)
        return self._moved(
            Action.APPROVE,
            by,
            at,
            approved_amount=amount,
            approved_by=approved_by,
            meeting_ref=meeting_ref,
            approved_at=at,
            code=self.code or project_code(self.fund.code, self.fiscal_year, sequence),
            budget_status=BudgetStatus.PENDING,
            budget_note="",
            reports_due=reporting_schedule(self.start_date, self.end_date, periods),
        )

    def budget_committed(self) -> Project:
        """The fund committed the budget: the project may start."""
        if self.budget_status != BudgetStatus.PENDING:
            return self  # a late or repeated confirmation changes nothing
        return replace(self, budget_status=BudgetStatus.COMMITTED)

    def budget_refused(self, reason: str, at: datetime) -> Project:
        """The fund refused the budget: back to submitted, with the reason (the code is kept for the record)."""
        return self._moved(
            Action.REVOKE_APPROVAL,
            "กองทุน (ระบบงบประมาณ)",
            at,
            reason,
            budget_status=BudgetStatus.REFUSED,
            budget_note=reason,
            approved_amount=None,
            approved_at=None,
            reports_due=(),
        )

    def start(self, by: str, at: datetime) -> Project:
        next_status(self.status, Action.START)
        if self.budget_status != BudgetStatus.COMMITTED:
            raise Conflict("The fund has not committed the budget yet.", self.status.value)
        return self._moved(Action.START, by, at)

    def suspend(self, by: str, at: datetime, reason: str) -> Project:
        _require_reason(reason)
        return self._moved(Action.SUSPEND, by, at, reason)

    def resume(self, by: str, at: datetime, reason: str = "") -> Project:
        return self._moved(Action.RESUME, by, at, reason)

    def terminate(self, by: str, at: datetime, reason: str) -> Project:
        _require_reason(reason)
        return self._moved(Action.TERMINATE, by, at, reason)

    def complete(self, by: str, at: datetime) -> Project:
        next_status(self.status, Action.COMPLETE)
        missing = [kind.value for kind in CLOSING_REPORTS if not self.has_report(kind)]
        if missing:
            raise Conflict(
                f"The project cannot complete before its reports are in: {', '.join(missing)}.", self.status.value
            )
        return self._moved(Action.COMPLETE, by, at)

    # -- reports and mentoring --------------------------------------------

    def has_report(self, kind: ReportKind, period: int | None = None) -> bool:
        return any(report.kind == kind and (period is None or report.period == period) for report in self.reports)

    def submit_report(self, kind: ReportKind, period: int, by: str, at: datetime, content: dict) -> Project:
        """A report is accepted once per kind and period, and is locked once submitted."""
        if self.status not in (Status.RUNNING, Status.SUSPENDED):
            raise Conflict(
                f"Reports are submitted while a project runs; it is {self.status.value.replace('_', ' ')}.",
                self.status.value,
            )
        due = {(item.report, item.period) for item in self.reports_due}
        if (kind, period) not in due:
            raise InvalidInput({"period": [f"No {kind.value} report is owed for period {period}."]})
        if self.has_report(kind, period):
            raise Conflict(
                f"The {kind.value} report for period {period} is already submitted and locked.", self.status.value
            )
        if kind == ReportKind.FINAL:
            _check_value_assessment(content.get("value_assessment"))
        report = Report(kind, period, by, at, content)
        return replace(self, reports=self.reports + (report,))

    def assign_mentor(self, mentor: str) -> Project:
        if self.status in (Status.COMPLETED, Status.TERMINATED, Status.CANCELLED, Status.REJECTED):
            raise Conflict("A closed project takes no mentor.", self.status.value)
        return replace(self, mentor=mentor)

    def comment(self, author: str, role: str, text: str, at: datetime) -> Project:
        """A review comment, kept with the revision it is about (the next one for a draft)."""
        revision = self.revision if self.status != Status.DRAFT else self.revision + 1
        return replace(self, comments=self.comments + (ReviewComment(max(revision, 1), author, role, text, at),))

    # -- checks -------------------------------------------------------------

    def submission_problems(self, plan: PlanView | None) -> dict[str, list[str]]:
        """Everything that keeps the proposal from being considered (seed 004: link it to its plan)."""
        problems: dict[str, list[str]] = {}
        if not self.plan_id:
            problems["plan_id"] = ["Link the project to the fund's plan for its issue."]
        elif plan is None:
            problems["plan_id"] = [f"Plan {self.plan_id} does not exist."]
        else:
            if plan.fund_code != self.fund.code:
                problems.setdefault("plan_id", []).append("The plan belongs to another fund.")
            if plan.fiscal_year != self.fiscal_year:
                problems.setdefault("plan_id", []).append(f"The plan is for fiscal year {plan.fiscal_year}.")
            if plan.issue != self.issue:
                problems.setdefault("issue", []).append(f"The plan is for the issue {plan.issue}.")
            if plan.status != "approved":
                problems.setdefault("plan_id", []).append("The plan is not approved by the fund committee yet.")
            unknown = [
                target.indicator_id
                for target in self.indicator_targets
                if target.indicator_id not in plan.indicator_ids
            ]
            if unknown:
                problems["indicator_targets"] = [f"Not an indicator of the plan: {', '.join(unknown)}."]
        if not self.indicator_targets:
            problems.setdefault("indicator_targets", []).append("Target at least one indicator of the plan.")
        if not self.budget_lines:
            problems["budget_lines"] = ["List the budget by expense group."]
        elif sum(line.amount for line in self.budget_lines) != self.requested_amount:
            problems["budget_lines"] = ["The budget lines must add up to the requested amount."]
        if not self.activities:
            problems["activities"] = ["List at least one activity."]
        outside = [
            activity.name
            for activity in self.activities
            if activity.start_date < self.start_date or activity.end_date > self.end_date
        ]
        if outside:
            problems.setdefault("activities", []).append(f"Outside the project period: {', '.join(outside)}.")
        if self.owner.kind == OwnerKind.CITIZEN_GROUP and (self.owner.members or 0) < MIN_CITIZEN_GROUP:
            problems["owner.members"] = [f"A citizen group has at least {MIN_CITIZEN_GROUP} members."]
        return problems

    def spending_type_notes(self) -> list[str]:
        """Spending-type rules, reported to the committee (they do not block a submission)."""
        expected = SPENDING_TYPE_OWNERS.get(self.spending_type, set())
        if self.owner.kind in expected:
            return []
        return [
            f"Spending type {self.spending_type} is meant for "
            f"{', '.join(sorted(kind.value for kind in expected))}, not {self.owner.kind.value}."
        ]

    def facts(self) -> dict:
        """The payload core every project event carries, for integrators to act without calling back."""
        return {
            "project_id": self.id,
            "fund_code": self.fund.code,
            "fund_name": self.fund.name,
            "subdistrict": self.fund.subdistrict,
            "district": self.fund.district,
            "province": self.fund.province,
            "region": self.fund.region,
            "title": self.title,
            "fiscal_year": self.fiscal_year,
            "issue": self.issue,
            "spending_type": self.spending_type,
            "owner": {"name": self.owner.name, "kind": self.owner.kind.value, "contact": self.owner.contact},
            "requested_amount_satang": self.requested_amount,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
        }


def _require_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise InvalidInput({"reason": ["Say why."]})


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput({"end_date": ["Must not be before start_date."]})


def _check_value_assessment(assessment) -> None:
    if not isinstance(assessment, dict):
        raise InvalidInput({"content.value_assessment": ["The final report assesses the project's value."]})
    missing = [dimension for dimension in VALUE_DIMENSIONS if dimension not in assessment]
    if missing:
        raise InvalidInput({f"content.value_assessment.{dimension}": ["Missing."] for dimension in missing})


def project_code(fund_code: str, fiscal_year: int, sequence: int) -> str:
    """``L3363-2567-0001``: fund code, fiscal year (B.E.), sequence within the fund's year."""
    return f"{fund_code}-{fiscal_year}-{sequence:04d}"


def reporting_schedule(start: date, end: date, periods: int) -> tuple[ReportDueDate, ...]:
    """The reports a project owes, set at approval.

    The period is cut into ``periods`` equal parts.  Each part but the last ends with a
    progress report (ส.1) and a financial report (ง.1); the mentor's follow-up (ส.2) falls
    at mid-project; the final report (ส.3) and the closing financial summary (ง.2) fall
    ``REPORT_GRACE_DAYS`` after the end.
    """
    if not 1 <= periods <= 12:
        raise InvalidInput({"periods": ["Must be between 1 and 12."]})
    days = (end - start).days + 1
    schedule = []
    for number in range(1, periods):
        period_end = start + timedelta(days=days * number // periods - 1)
        schedule.append(ReportDueDate(ReportKind.PROGRESS, number, period_end))
        schedule.append(ReportDueDate(ReportKind.FINANCIAL, number, period_end))
    schedule.append(ReportDueDate(ReportKind.MENTOR_FOLLOW_UP, 1, start + timedelta(days=(days - 1) // 2)))
    closing = end + timedelta(days=REPORT_GRACE_DAYS)
    schedule.append(ReportDueDate(ReportKind.FINAL, periods, closing))
    schedule.append(ReportDueDate(ReportKind.FINANCIAL_CLOSING, periods, closing))
    return tuple(sorted(schedule, key=lambda item: (item.due_date, item.report.value)))


def new_draft(project_id: str, fund: FundRef, details: dict, entered_by: str, role: str, at: datetime) -> Project:
    _check_period(details["start_date"], details["end_date"])
    draft = Project(
        id=project_id,
        fund=fund,
        entered_by=entered_by,
        entered_by_role=role,
        **proposal_fields(details),
    )
    return replace(draft, history=(Transition(None, Status.DRAFT, entered_by, at),))


PROPOSAL_FIELDS = (
    "title",
    "fiscal_year",
    "issue",
    "spending_type",
    "owner",
    "requested_amount",
    "start_date",
    "end_date",
    "plan_id",
    "indicator_targets",
    "activities",
    "budget_lines",
    "location",
    "documents",
)


def proposal_fields(details: dict) -> dict:
    """Domain values for the proposal fields present in ``details`` (validated input)."""
    converters = {
        "owner": lambda value: Owner(
            value["name"], OwnerKind(value["kind"]), value.get("contact") or "", value.get("members")
        ),
        "indicator_targets": lambda value: tuple(
            IndicatorTarget(item["indicator_id"], str(item["target"]), item.get("name", ""), item.get("unit", ""))
            for item in value
        ),
        "activities": lambda value: tuple(
            Activity(item["name"], item["start_date"], item["end_date"], item.get("description", "")) for item in value
        ),
        "budget_lines": lambda value: tuple(
            BudgetLine(ExpenseGroup(item["group"]), item.get("description", ""), item["amount"]) for item in value
        ),
        "location": lambda value: Location(value["lat"], value["lon"]) if value else None,
        "documents": lambda value: tuple(DocumentRef(item["title"], item["reference"]) for item in value),
    }
    return {
        name: converters.get(name, lambda value: value)(details[name]) for name in PROPOSAL_FIELDS if name in details
    }
