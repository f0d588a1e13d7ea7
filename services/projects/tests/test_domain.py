"""The project lifecycle and its rules: pure domain, no I/O."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kongtun_common.errors import Conflict, InvalidInput
from kongtun_projects.domain import (
    TRANSITIONS,
    VALUE_DIMENSIONS,
    Action,
    BudgetStatus,
    FundRef,
    PlanView,
    ReportKind,
    Status,
    new_draft,
    next_status,
    reporting_schedule,
)

NOW = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
FUND = FundRef("L3363", "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่", "บ้านไร่", "ศรีนครินทร์", "พัทลุง", 12)
PLAN = PlanView("plan-1", "L3363", 2567, "physical_activity", "approved", frozenset({"ind-1", "ind-2"}))
DETAILS = {
    "title": "โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ",
    "fiscal_year": 2567,
    "issue": "physical_activity",
    "spending_type": 2,
    "owner": {"name": "ชมรมผู้สูงอายุบ้านไร่", "kind": "citizen_group", "members": 25},
    "requested_amount": 2500000,
    "start_date": date(2024, 1, 8),
    "end_date": date(2024, 6, 8),
    "plan_id": "plan-1",
    "indicator_targets": [{"indicator_id": "ind-1", "target": "80"}],
    "activities": [{"name": "เต้นแอโรบิกทุกเย็น", "start_date": date(2024, 1, 15), "end_date": date(2024, 5, 31)}],
    "budget_lines": [
        {"group": "wages", "description": "ค่าตอบแทนวิทยากร", "amount": 1200000},
        {"group": "materials", "description": "ค่าวัสดุ", "amount": 1300000},
    ],
}
FINAL_CONTENT = {"value_assessment": {dimension: {"score": 4, "note": ""} for dimension in VALUE_DIMENSIONS}}


def draft(**changes):
    return new_draft("p-1", FUND, {**DETAILS, **changes}, "เจ้าหน้าที่กองทุน", "fund_officer", NOW)


def approved():
    return draft().submit("ชมรม", NOW, PLAN).approve(2400000, "คณะกรรมการกองทุน", "ครั้งที่ 2/2567", "ประธาน", NOW, 7)


def running():
    return approved().budget_committed().start("เจ้าหน้าที่", NOW)


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


def apply(project, action):
    """Drive one action the way the API does, with valid inputs."""
    if action == Action.SUBMIT:
        return project.submit("proposer", NOW, PLAN)
    if action == Action.REQUEST_REVISION:
        return project.request_revision("committee", NOW, "เพิ่มรายละเอียดกิจกรรม")
    if action == Action.APPROVE:
        return project.approve(100000, "คณะกรรมการกองทุน", "", "chair", NOW, 1)
    if action == Action.REVOKE_APPROVAL:
        return project.budget_refused("เงินไม่พอ", NOW)
    if action == Action.REJECT:
        return project.reject("committee", NOW, "ไม่สอดคล้องกับแผน", "")
    if action == Action.CANCEL:
        return project.cancel("officer", NOW, "ผู้เสนอขอยกเลิก")
    if action == Action.START:
        return project.budget_committed().start("officer", NOW)
    if action == Action.COMPLETE:
        for item in project.reports_due:
            if item.report in (ReportKind.FINAL, ReportKind.FINANCIAL_CLOSING) and project.status == Status.RUNNING:
                project = project.submit_report(item.report, item.period, "owner", NOW, FINAL_CONTENT)
        return project.complete("officer", NOW)
    if action == Action.TERMINATE:
        return project.terminate("committee", NOW, "ไม่ดำเนินการตามแผน")
    if action == Action.SUSPEND:
        return project.suspend("committee", NOW, "รอผลการตรวจสอบ")
    return project.resume("committee", NOW)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(Action)), max_size=25))
def test_random_action_sequences_follow_the_state_machine(actions):
    project = draft()
    for action in actions:
        before = project
        expected = TRANSITIONS.get((project.status, action))
        try:
            project = apply(project, action)
        except Conflict as refused:
            assert expected is None
            assert refused.current_state == before.status.value
            assert project == before  # a refusal changes nothing
            continue
        assert project.status == expected
        assert project.history[-1].from_status == before.status
        assert len(project.history) == len(before.history) + 1
    assert [step.to_status for step in project.history][0] == Status.DRAFT
    for earlier, later in zip(project.history, project.history[1:], strict=False):
        assert later.from_status == earlier.to_status  # the audit trail is one unbroken chain
    if project.code:
        assert project.code == "L3363-2567-0001"


def test_submitting_checks_the_link_to_the_plan_seed_004():
    with pytest.raises(InvalidInput) as refused:
        draft(plan_id=None, indicator_targets=[]).submit("proposer", NOW, None)
    assert set(refused.value.errors) == {"plan_id", "indicator_targets"}

    other_fund = PlanView("plan-1", "L9999", 2566, "food", "draft", frozenset({"x"}))
    with pytest.raises(InvalidInput) as refused:
        draft().submit("proposer", NOW, other_fund)
    assert set(refused.value.errors) == {"plan_id", "issue", "indicator_targets"}
    assert len(refused.value.errors["plan_id"]) == 3  # another fund, another year, not approved


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"budget_lines": [{"group": "wages", "description": "", "amount": 100}]}, "budget_lines"),
        ({"budget_lines": []}, "budget_lines"),
        ({"activities": []}, "activities"),
        (
            {"activities": [{"name": "ก่อนเริ่ม", "start_date": date(2023, 12, 1), "end_date": date(2024, 1, 31)}]},
            "activities",
        ),
        ({"owner": {"name": "กลุ่มเล็ก", "kind": "citizen_group", "members": 4}}, "owner.members"),
        ({"plan_id": "plan-2"}, "plan_id"),
    ],
)
def test_incomplete_proposals_are_refused_naming_the_field(changes, field):
    with pytest.raises(InvalidInput) as refused:
        draft(**changes).submit("proposer", NOW, None if field == "plan_id" else PLAN)
    assert field in refused.value.errors


def test_spending_type_rules_are_reported_not_refused():
    assert draft().spending_type_notes() == []
    notes = draft(spending_type=1).spending_type_notes()
    assert notes == ["Spending type 1 is meant for health_unit, not citizen_group."]


def test_approval_sets_code_periods_and_a_pending_budget():
    project = approved()
    assert (project.status, project.code, project.budget_status) == (
        Status.APPROVED,
        "L3363-2567-0007",
        BudgetStatus.PENDING,
    )
    assert [(step.from_status, step.to_status, step.by) for step in project.history] == [
        (None, Status.DRAFT, "เจ้าหน้าที่กองทุน"),
        (Status.DRAFT, Status.SUBMITTED, "ชมรม"),
        (Status.SUBMITTED, Status.APPROVED, "ประธาน"),
    ]
    assert [(item.report, item.due_date) for item in project.reports_due] == [
        (ReportKind.MENTOR_FOLLOW_UP, date(2024, 3, 24)),
        (ReportKind.FINAL, date(2024, 7, 8)),
        (ReportKind.FINANCIAL_CLOSING, date(2024, 7, 8)),
    ]


def test_reporting_periods_split_the_project():
    schedule = reporting_schedule(date(2024, 1, 1), date(2024, 12, 31), 4)
    assert [(item.report.value, item.period, item.due_date.isoformat()) for item in schedule] == [
        ("financial", 1, "2024-03-31"),
        ("progress", 1, "2024-03-31"),
        ("financial", 2, "2024-07-01"),
        ("mentor_follow_up", 1, "2024-07-01"),
        ("progress", 2, "2024-07-01"),
        ("financial", 3, "2024-09-30"),
        ("progress", 3, "2024-09-30"),
        ("final", 4, "2025-01-30"),
        ("financial_closing", 4, "2025-01-30"),
    ]
    with pytest.raises(InvalidInput):
        reporting_schedule(date(2024, 1, 1), date(2024, 12, 31), 13)


@pytest.mark.parametrize("amount", [2500001, 0])
def test_an_approved_amount_must_be_positive_and_within_the_request(amount):
    submitted = draft().submit("proposer", NOW, PLAN)
    with pytest.raises(InvalidInput) as refused:
        submitted.approve(amount, "คณะกรรมการกองทุน", "", "chair", NOW, 1)
    assert list(refused.value.errors) == ["approved_amount"]


def test_a_refused_budget_returns_the_project_to_submitted_and_keeps_its_code():
    returned = approved().budget_refused("ยอดเงินคงเหลือไม่พอ", NOW)
    assert (returned.status, returned.budget_status, returned.code) == (
        Status.SUBMITTED,
        BudgetStatus.REFUSED,
        "L3363-2567-0007",
    )
    assert returned.history[-1].reason == "ยอดเงินคงเหลือไม่พอ"
    again = returned.approve(2000000, "คณะกรรมการกองทุน", "", "chair", NOW, 9)
    assert again.code == "L3363-2567-0007"  # re-approval does not use up another number


def test_a_project_starts_only_once_its_budget_is_committed():
    with pytest.raises(Conflict, match="not committed"):
        approved().start("officer", NOW)
    assert running().status == Status.RUNNING
    assert approved().budget_committed().budget_committed().budget_status == BudgetStatus.COMMITTED


def test_reports_are_locked_once_submitted_and_completion_needs_the_closing_ones():
    project = running()
    with pytest.raises(Conflict, match="reports are in: final, financial_closing"):
        project.complete("officer", NOW)
    with pytest.raises(InvalidInput) as refused:
        project.submit_report(ReportKind.FINAL, 1, "owner", NOW, {"value_assessment": {"public_policy": {}}})
    assert "content.value_assessment.spiritual_health" in refused.value.errors
    project = project.submit_report(ReportKind.FINAL, 1, "owner", NOW, FINAL_CONTENT)
    with pytest.raises(Conflict, match="already submitted and locked"):
        project.submit_report(ReportKind.FINAL, 1, "owner", NOW, FINAL_CONTENT)
    with pytest.raises(InvalidInput) as refused:
        project.submit_report(ReportKind.PROGRESS, 3, "owner", NOW, {})
    assert list(refused.value.errors) == ["period"]
    project = project.submit_report(ReportKind.FINANCIAL_CLOSING, 1, "owner", NOW, {"refund": 10000})
    assert project.complete("officer", NOW).status == Status.COMPLETED


def test_reports_are_refused_before_the_project_runs():
    with pytest.raises(Conflict) as refused:
        approved().submit_report(ReportKind.FINAL, 1, "owner", NOW, FINAL_CONTENT)
    assert refused.value.current_state == "approved"


def test_review_comments_belong_to_the_revision_they_are_about():
    project = draft().comment("พี่เลี้ยง", "mentor", "ระบุกลุ่มเป้าหมายให้ชัด", NOW)
    project = project.submit("proposer", NOW, PLAN).request_revision("committee", NOW, "แก้ไขงบประมาณ")
    project = project.comment("พี่เลี้ยง", "mentor", "งบค่าวัสดุสูงเกินไป", NOW)
    project = project.submit("proposer", NOW, PLAN).comment("กรรมการ", "committee", "ผ่าน", NOW)
    assert [(note.revision, note.text) for note in project.comments] == [
        (1, "ระบุกลุ่มเป้าหมายให้ชัด"),
        (1, "งบค่าวัสดุสูงเกินไป"),
        (2, "ผ่าน"),
    ]


def test_only_drafts_and_proposals_under_revision_can_be_edited():
    assert draft().edit({"title": "ชื่อใหม่"}).title == "ชื่อใหม่"
    with pytest.raises(Conflict):
        approved().edit({"title": "ชื่อใหม่"})
    with pytest.raises(InvalidInput) as refused:
        draft().edit({"end_date": date(2023, 1, 1)})
    assert list(refused.value.errors) == ["end_date"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_refusing_decisions_need_a_reason(reason):
    with pytest.raises(InvalidInput) as refused:
        draft().submit("p", NOW, PLAN).reject("committee", NOW, reason, "")
    assert list(refused.value.errors) == ["reason"]


def test_a_closed_project_takes_no_mentor():
    closed = draft().cancel("officer", NOW, "ผู้เสนอขอถอน")
    with pytest.raises(Conflict) as refused:
        closed.assign_mentor("นายสมชาย พี่เลี้ยงดี")
    assert refused.value.current_state == "cancelled"
    assert draft().assign_mentor("นายสมชาย พี่เลี้ยงดี").mentor == "นายสมชาย พี่เลี้ยงดี"
