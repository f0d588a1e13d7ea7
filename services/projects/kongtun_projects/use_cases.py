"""Use cases of the projects service: each runs in one unit of work."""

from __future__ import annotations

import logging
import uuid

from kongtun_common.engine import utcnow

from . import orm
from .domain import FundRef, Project, new_draft

log = logging.getLogger(__name__)


def create_draft(uow, fund: FundRef, details: dict, entered_by: str) -> Project:
    project = new_draft(str(uuid.uuid4()), fund, details, entered_by, utcnow())
    orm.add(uow.session, project)
    return project


def submit(uow, project_id: str, by: str) -> Project:
    project, version = orm.load(uow.session, project_id)
    submitted = project.submit(by, utcnow())
    orm.save(uow.session, submitted, version, new_steps=1)
    uow.publish(
        "ProjectSubmitted",
        {**submitted.facts(), "submitted_at": submitted.submitted_at.isoformat(), "submitted_by": by},
        subject=project_id,
    )
    log.info("project %s submitted by %s", project_id, by)
    return submitted


def approve(uow, project_id: str, decision: dict, by: str) -> Project:
    project, version = orm.load(uow.session, project_id)
    project.check_approval(decision["approved_amount"])  # before a sequence number is taken
    sequence = orm.next_sequence(uow.session, project.fund.code, project.fiscal_year)
    approved = project.approve(
        decision["approved_amount"], decision["approved_by"], decision.get("meeting_ref") or "", by, utcnow(), sequence
    )
    orm.save(uow.session, approved, version, new_steps=1)
    uow.publish(
        "ProjectApproved",
        {
            **approved.facts(),
            "project_code": approved.code,
            "approved_amount_satang": approved.approved_amount,
            "approved_at": approved.approved_at.isoformat(),
            "approved_by": approved.approved_by,
            "meeting_ref": approved.meeting_ref,
            "reports_due": approved.reports_due(),
        },
        subject=project_id,
    )
    log.info("project %s approved for %s satang by %s", project_id, approved.approved_amount, approved.approved_by)
    return approved


def get(session, project_id: str) -> Project:
    return orm.load(session, project_id)[0]
