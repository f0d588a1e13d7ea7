"""The projects service's domain: a proposal's life as an explicit state machine.

Plain Python, no framework.  Money is integer satang; fiscal years are B.E.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
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
    (Status.APPROVED, Action.START): Status.RUNNING,
    (Status.APPROVED, Action.CANCEL): Status.CANCELLED,
    (Status.RUNNING, Action.COMPLETE): Status.COMPLETED,
    (Status.RUNNING, Action.TERMINATE): Status.TERMINATED,
    (Status.RUNNING, Action.SUSPEND): Status.SUSPENDED,
    (Status.SUSPENDED, Action.RESUME): Status.RUNNING,
    (Status.SUSPENDED, Action.TERMINATE): Status.TERMINATED,
}


class OwnerKind(StrEnum):
    HEALTH_UNIT = "health_unit"
    LAO_DIVISION = "lao_division"
    STATE_AGENCY = "state_agency"
    NON_HEALTH_AGENCY = "non_health_agency"
    CITIZEN_GROUP = "citizen_group"
    FUND_SECRETARIAT = "fund_secretariat"


def next_status(current: Status, action: Action) -> Status:
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise Conflict(f"A {current.value} project cannot {action.value.replace('_', ' ')}.", current.value) from None


@dataclass(frozen=True)
class Owner:
    name: str
    kind: OwnerKind
    contact: str = ""


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
class Transition:
    from_status: Status | None
    to_status: Status
    by: str
    at: datetime
    reason: str = ""


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
    status: Status = Status.DRAFT
    code: str | None = None
    approved_amount: int | None = None
    approved_by: str | None = None
    meeting_ref: str | None = None
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    history: tuple[Transition, ...] = field(default_factory=tuple)

    def _moved(self, action: Action, by: str, at: datetime, reason: str = "", **changes) -> Project:
        target = next_status(self.status, action)
        step = Transition(self.status, target, by, at, reason)
        return replace(self, status=target, history=self.history + (step,), **changes)

    def submit(self, by: str, at: datetime) -> Project:
        return self._moved(Action.SUBMIT, by, at, submitted_at=at)

    def check_approval(self, amount: int) -> None:
        """Refuse an approval that the state or the amount forbids."""
        next_status(self.status, Action.APPROVE)
        if amount > self.requested_amount:
            raise InvalidInput({"approved_amount": ["Must not exceed the requested amount."]})
        if amount <= 0:
            raise InvalidInput({"approved_amount": ["Must be more than zero."]})

    def approve(self, amount: int, approved_by: str, meeting_ref: str, by: str, at: datetime, sequence: int) -> Project:
        """Approve with the fund year's next sequence number, which makes the project code."""
        self.check_approval(amount)
        return self._moved(
            Action.APPROVE,
            by,
            at,
            approved_amount=amount,
            approved_by=approved_by,
            meeting_ref=meeting_ref,
            approved_at=at,
            code=project_code(self.fund.code, self.fiscal_year, sequence),
        )

    def reports_due(self) -> list[dict]:
        """Reporting periods set at approval; for now one final report at the period's end."""
        return [{"report": "final", "due_date": self.end_date.isoformat()}]

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


def project_code(fund_code: str, fiscal_year: int, sequence: int) -> str:
    """``L3363-2567-0001``: fund code, fiscal year (B.E.), sequence within the fund's year."""
    return f"{fund_code}-{fiscal_year}-{sequence:04d}"


def new_draft(project_id: str, fund: FundRef, details: dict, entered_by: str, at: datetime) -> Project:
    if details["end_date"] < details["start_date"]:
        raise InvalidInput({"end_date": ["Must not be before start_date."]})
    owner = details["owner"]
    draft = Project(
        id=project_id,
        fund=fund,
        title=details["title"],
        fiscal_year=details["fiscal_year"],
        issue=details.get("issue"),
        spending_type=details["spending_type"],
        owner=Owner(owner["name"], OwnerKind(owner["kind"]), owner.get("contact") or ""),
        requested_amount=details["requested_amount"],
        start_date=details["start_date"],
        end_date=details["end_date"],
        entered_by=entered_by,
    )
    return replace(draft, history=(Transition(None, Status.DRAFT, entered_by, at),))
