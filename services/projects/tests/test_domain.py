"""The project state machine and approval rules: pure domain, no I/O."""

from datetime import UTC, date, datetime

import pytest

from kongtun_common.errors import Conflict, InvalidInput
from kongtun_projects.domain import TRANSITIONS, Action, FundRef, Status, new_draft, next_status

NOW = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
FUND = FundRef("L3363", "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่", "บ้านไร่", "ศรีนครินทร์", "พัทลุง", 12)
DETAILS = {
    "title": "โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ",
    "fiscal_year": 2567,
    "issue": "physical_activity",
    "spending_type": 2,
    "owner": {"name": "ชมรมผู้สูงอายุบ้านไร่", "kind": "citizen_group"},
    "requested_amount": 2500000,
    "start_date": date(2024, 1, 8),
    "end_date": date(2024, 6, 8),
}


def draft():
    return new_draft("p-1", FUND, DETAILS, "เจ้าหน้าที่กองทุน", NOW)


def test_the_lifecycle_follows_the_reference_system():
    assert TRANSITIONS[(Status.DRAFT, Action.SUBMIT)] == Status.SUBMITTED
    assert TRANSITIONS[(Status.SUBMITTED, Action.REQUEST_REVISION)] == Status.REVISION_REQUESTED
    assert TRANSITIONS[(Status.REVISION_REQUESTED, Action.SUBMIT)] == Status.SUBMITTED
    assert TRANSITIONS[(Status.APPROVED, Action.START)] == Status.RUNNING
    assert TRANSITIONS[(Status.SUSPENDED, Action.RESUME)] == Status.RUNNING
    for final in (Status.REJECTED, Status.CANCELLED, Status.COMPLETED, Status.TERMINATED):
        assert not [action for (status, action) in TRANSITIONS if status == final]


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_every_illegal_transition_is_refused_with_the_current_state(status, action):
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) == TRANSITIONS[(status, action)]
        return
    with pytest.raises(Conflict) as refused:
        next_status(status, action)
    assert refused.value.current_state == status.value


def test_submitting_and_approving_record_who_and_when():
    approved = (
        draft()
        .submit("ชมรมผู้สูงอายุบ้านไร่", NOW)
        .approve(2400000, "คณะกรรมการกองทุน", "ครั้งที่ 2/2567", "ประธานกรรมการ", NOW, 7)
    )
    assert approved.status == Status.APPROVED
    assert approved.approved_amount == 2400000
    assert approved.code == "L3363-2567-0007"
    assert [(step.from_status, step.to_status, step.by) for step in approved.history] == [
        (None, Status.DRAFT, "เจ้าหน้าที่กองทุน"),
        (Status.DRAFT, Status.SUBMITTED, "ชมรมผู้สูงอายุบ้านไร่"),
        (Status.SUBMITTED, Status.APPROVED, "ประธานกรรมการ"),
    ]
    assert approved.reports_due() == [{"report": "final", "due_date": "2024-06-08"}]


@pytest.mark.parametrize("amount", [2500001, 0])
def test_an_approved_amount_must_be_positive_and_within_the_request(amount):
    submitted = draft().submit("proposer", NOW)
    with pytest.raises(InvalidInput) as refused:
        submitted.approve(amount, "คณะกรรมการกองทุน", "", "chair", NOW, 1)
    assert list(refused.value.errors) == ["approved_amount"]


def test_a_draft_cannot_be_approved():
    with pytest.raises(Conflict) as refused:
        draft().approve(100, "คณะกรรมการกองทุน", "", "chair", NOW, 1)
    assert refused.value.current_state == "draft"


def test_a_period_must_not_end_before_it_starts():
    with pytest.raises(InvalidInput) as refused:
        new_draft("p-2", FUND, {**DETAILS, "end_date": date(2023, 12, 31)}, "officer", NOW)
    assert list(refused.value.errors) == ["end_date"]
