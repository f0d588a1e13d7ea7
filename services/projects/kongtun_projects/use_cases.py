"""Use cases of the projects service: each runs in one unit of work and records its events."""

from __future__ import annotations

import logging
import uuid

from kongtun_common.engine import utcnow
from kongtun_common.errors import Conflict, InvalidInput

from . import orm
from .domain import FundRef, PlanView, Project, ReportKind, new_draft, proposal_fields

log = logging.getLogger(__name__)


def create_draft(uow, fund: FundRef, details: dict, entered_by: str, role: str) -> Project:
    now = utcnow()
    project = new_draft(str(uuid.uuid4()), fund, details, entered_by, role, now)
    orm.add(uow.session, project, now)
    return project


def create_draft_once(
    uow, key: str, request_hash: str, fund: FundRef, details: dict, entered_by: str, role: str
) -> tuple[Project, int, bool]:
    """Create a draft once per idempotency key: (project, version, True if this is a replay of an earlier creation).

    The key is claimed in the same transaction as the draft, so a retry, even a concurrent one, finds the first
    creation; the same key with another request is refused.
    """
    now = utcnow()
    project_id = str(uuid.uuid4())
    if orm.claim_creation_key(uow.session, key, request_hash, project_id, now):
        project = new_draft(project_id, fund, details, entered_by, role, now)
        orm.add(uow.session, project, now)
        return project, 1, False
    earlier_id, earlier_hash = orm.creation_by_key(uow.session, key)
    if earlier_hash != request_hash:
        raise InvalidInput(
            {"Idempotency-Key": ["This key was used for a different request; use a new key for a new project."]}
        )
    project, version = orm.load(uow.session, earlier_id)
    return project, version, True


def edit_draft(uow, project_id: str, changes: dict, expected_version: int | None) -> tuple[Project, int]:
    project, version = orm.load(uow.session, project_id)
    if expected_version is not None and expected_version != version:
        raise Conflict(f"The project is at version {version}, not {expected_version}; reload it.", project.status.value)
    edited = project.edit(proposal_fields(changes))
    orm.save(uow.session, project, edited, version, utcnow())
    return edited, version + 1


class PlanNotReplicated(Exception):
    """The project's plan is not among the approved plans replicated here: ask the funds service, then retry."""

    def __init__(self, plan_id: str):
        super().__init__(plan_id)
        self.plan_id = plan_id


def submit(uow, project_id: str, by: str, plan: PlanView | None = None, *, replicated: bool = False) -> Project:
    """Submit, checked against ``plan`` or (``replicated``) against the approved plan replicated here.

    With ``replicated``, a project linked to a plan this service has not seen raises PlanNotReplicated
    before anything is written.
    """
    project, version = orm.load(uow.session, project_id)
    if replicated and project.plan_id:
        plan = orm.replicated_plan(uow.session, project.plan_id)
        if plan is None:
            raise PlanNotReplicated(project.plan_id)
    submitted = project.submit(by, utcnow(), plan)
    _save(uow, project, submitted, version)
    uow.publish(
        "ProjectSubmitted",
        {
            **submitted.facts(),
            "plan_id": submitted.plan_id,
            "revision": submitted.revision,
            "submitted_at": submitted.submitted_at.isoformat(),
            "submitted_by": by,
        },
        subject=project_id,
    )
    log.info("project %s submitted by %s (revision %d)", project_id, by, submitted.revision)
    return submitted


def record_plan_approved(uow, event) -> None:
    """The funds service approved a plan (PlanApproved): keep what submissions check."""
    data = event.data
    remember_plan(
        uow,
        PlanView(
            data["plan_id"],
            data["fund_code"],
            data["fiscal_year"],
            data["issue"],
            "approved",
            frozenset(indicator["id"] for indicator in data["indicators"]),
        ),
    )


def remember_plan(uow, plan: PlanView) -> None:
    """Keep an approved plan (from PlanApproved, or as the funds service answered it)."""
    if plan.status == "approved":
        orm.record_approved_plan(uow.session, plan, utcnow())


def request_revision(uow, project_id: str, by: str, reason: str) -> Project:
    project, version = orm.load(uow.session, project_id)
    changed = project.request_revision(by, utcnow(), reason)
    _save(uow, project, changed, version)
    uow.publish(
        "ProjectRevisionRequested",
        {
            **changed.facts(),
            "requested_at": _last_at(changed),
            "requested_by": by,
            "reason": reason,
            "revision": changed.revision,
        },
        subject=project_id,
    )
    return changed


def reject(uow, project_id: str, by: str, reason: str, meeting_ref: str) -> Project:
    project, version = orm.load(uow.session, project_id)
    changed = project.reject(by, utcnow(), reason, meeting_ref)
    _save(uow, project, changed, version)
    uow.publish(
        "ProjectRejected",
        {
            **changed.facts(),
            "rejected_at": _last_at(changed),
            "rejected_by": by,
            "reason": reason,
            "meeting_ref": changed.meeting_ref or "",
        },
        subject=project_id,
    )
    return changed


def approve(uow, project_id: str, decision: dict, by: str) -> Project:
    project, version = orm.load(uow.session, project_id)
    project.check_approval(decision["approved_amount"])  # before a sequence number is taken
    sequence = None if project.code else orm.next_sequence(uow.session, project.fund.code, project.fiscal_year)
    approved = project.approve(
        decision["approved_amount"],
        decision["approved_by"],
        decision.get("meeting_ref") or "",
        by,
        utcnow(),
        sequence,
        decision.get("periods") or 1,
    )
    _save(uow, project, approved, version)
    uow.publish(
        "ProjectApproved",
        {
            **approved.facts(),
            "project_code": approved.code,
            "approved_amount_satang": approved.approved_amount,
            "approved_at": approved.approved_at.isoformat(),
            "approved_by": approved.approved_by,
            "meeting_ref": approved.meeting_ref,
            "reports_due": [
                {"report": item.report.value, "period": item.period, "due_date": item.due_date.isoformat()}
                for item in approved.reports_due
            ],
        },
        subject=project_id,
    )
    log.info("project %s approved as %s for %s satang", project_id, approved.code, approved.approved_amount)
    return approved


def record_budget_committed(uow, event) -> None:
    """The fund committed the budget (BudgetCommitted): the project may start."""
    project, version = orm.load(uow.session, event.data["project_id"])
    confirmed = project.budget_committed()
    if confirmed is not project:
        _save(uow, project, confirmed, version)


def record_budget_refused(uow, event) -> None:
    """The fund refused the budget (BudgetCommitmentRefused): back to submitted, with the reason."""
    project, version = orm.load(uow.session, event.data["project_id"])
    if project.status.value != "approved" or project.code != event.data["project_code"]:
        log.warning("budget refusal for project %s ignored: it is %s", project.id, project.status.value)
        return
    reason = f"กองทุนไม่สามารถกันเงินงบประมาณได้: {event.data['reason']}"
    returned = project.budget_refused(reason, utcnow())
    _save(uow, project, returned, version)
    uow.publish(
        "ProjectApprovalRevoked",
        {
            **returned.facts(),
            "project_code": returned.code,
            "revoked_at": _last_at(returned),
            "reason_code": event.data["reason_code"],
            "reason": reason,
        },
        subject=project.id,
    )


def cancel(uow, project_id: str, by: str, reason: str) -> Project:
    project, version = orm.load(uow.session, project_id)
    changed = project.cancel(by, utcnow(), reason)
    _save(uow, project, changed, version)
    uow.publish(
        "ProjectCancelled",
        {
            **changed.facts(),
            "project_code": changed.code,
            "approved_amount_satang": changed.approved_amount,
            "cancelled_at": _last_at(changed),
            "cancelled_by": by,
            "reason": reason,
        },
        subject=project_id,
    )
    return changed


def start(uow, project_id: str, by: str) -> Project:
    return _lifecycle(uow, project_id, lambda project, now: project.start(by, now), "ProjectStarted", by, "")


def suspend(uow, project_id: str, by: str, reason: str) -> Project:
    return _lifecycle(uow, project_id, lambda p, now: p.suspend(by, now, reason), "ProjectSuspended", by, reason)


def resume(uow, project_id: str, by: str, reason: str) -> Project:
    return _lifecycle(uow, project_id, lambda p, now: p.resume(by, now, reason), "ProjectResumed", by, reason)


def terminate(uow, project_id: str, by: str, reason: str) -> Project:
    project, version = orm.load(uow.session, project_id)
    changed = project.terminate(by, utcnow(), reason)
    _save(uow, project, changed, version)
    uow.publish(
        "ProjectTerminated",
        {
            **changed.facts(),
            "project_code": changed.code,
            "approved_amount_satang": changed.approved_amount,
            "terminated_at": _last_at(changed),
            "terminated_by": by,
            "reason": reason,
        },
        subject=project_id,
    )
    return changed


def complete(uow, project_id: str, by: str) -> Project:
    return _lifecycle(uow, project_id, lambda p, now: p.complete(by, now), "ProjectCompleted", by, "")


def _lifecycle(uow, project_id: str, change, event_name: str, by: str, reason: str) -> Project:
    """A change of a running project's state, announced with what integrators need."""
    project, version = orm.load(uow.session, project_id)
    changed = change(project, utcnow())
    _save(uow, project, changed, version)
    uow.publish(
        event_name,
        {
            **changed.facts(),
            "project_code": changed.code,
            "approved_amount_satang": changed.approved_amount,
            "changed_at": _last_at(changed),
            "changed_by": by,
            "reason": reason,
        },
        subject=project_id,
    )
    return changed


def submit_report(uow, project_id: str, kind: str, period: int, by: str, content: dict) -> Project:
    project, version = orm.load(uow.session, project_id)
    changed = project.submit_report(ReportKind(kind), period, by, utcnow(), content)
    _save(uow, project, changed, version)
    report = changed.reports[-1]
    uow.publish(
        "ReportSubmitted",
        {
            **changed.facts(),
            "project_code": changed.code,
            "report": report.kind.value,
            "period": report.period,
            "submitted_at": report.submitted_at.isoformat(),
            "submitted_by": by,
            "spent_satang": sum(item["amount"] for item in content["spending"]) if content.get("spending") else None,
            "refund_satang": content.get("refund"),
        },
        subject=project_id,
    )
    return changed


def assign_mentor(uow, project_id: str, mentor: str) -> Project:
    project, version = orm.load(uow.session, project_id)
    changed = project.assign_mentor(mentor)
    _save(uow, project, changed, version)
    return changed


def comment(uow, project_id: str, author: str, role: str, text: str) -> Project:
    project, version = orm.load(uow.session, project_id)
    changed = project.comment(author, role, text, utcnow())
    _save(uow, project, changed, version)
    return changed


def get(session, project_id: str) -> tuple[Project, int]:
    return orm.load(session, project_id)


def _save(uow, before: Project, after: Project, version: int) -> None:
    orm.save(uow.session, before, after, version, utcnow())


def _last_at(project: Project) -> str:
    return project.history[-1].at.isoformat()
