"""The projects service's nameko adapter: RPC and events in, use cases, results out."""

import hashlib
import json
import time

from kongtun_common.db import Database
from kongtun_common.errors import InvalidInput, NotFound
from kongtun_common.events.consumer import event_handler
from kongtun_common.fields import load_or_raise
from kongtun_common.observability import Instrumentation
from kongtun_common.rpc import ServiceRpc, rpc

from . import orm, use_cases
from .domain import FundRef, PlanView
from .schemas import (
    ActorIn,
    ApprovalIn,
    CommentIn,
    DraftIn,
    EditIn,
    ListIn,
    MentorIn,
    OptionalReasonIn,
    ProjectOut,
    ProjectSummaryOut,
    ReasonIn,
    RejectionIn,
    ReportIn,
)

DRAFT_IN, EDIT_IN, ACTOR_IN, APPROVAL_IN = DraftIn(), EditIn(), ActorIn(), ApprovalIn()
REASON_IN, OPTIONAL_REASON_IN, REJECTION_IN = ReasonIn(), OptionalReasonIn(), RejectionIn()
MENTOR_IN, COMMENT_IN, REPORT_IN, LIST_IN = MentorIn(), CommentIn(), ReportIn(), ListIn()
PROJECT_OUT, SUMMARY_OUT = ProjectOut(), ProjectSummaryOut()

PLAN_CACHE_SECONDS = 60.0
APPROVED_PLANS: dict[str, tuple[float, PlanView]] = {}  # plan id -> (expires at, view), per process


class ProjectsService:
    name = "projects"

    db = Database(orm.metadata)
    instrumentation = Instrumentation()
    funds = ServiceRpc("funds")

    # -- proposals -------------------------------------------------------------

    @rpc
    def create_draft(self, payload: dict) -> dict:
        details = load_or_raise(DRAFT_IN, payload)
        fund = self._fund(details["fund_code"])
        with self.db.unit_of_work() as uow:
            project = use_cases.create_draft(uow, fund, details, *_entered_by(details))
        return self._out(project, 1)

    @rpc
    def create_draft_once(self, key: str, payload: dict) -> dict:
        """``create_draft`` once per idempotency key: ``{"project": ..., "replayed": bool}``."""
        details = load_or_raise(DRAFT_IN, payload)
        request_hash = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        fund = self._fund(details["fund_code"])
        with self.db.unit_of_work() as uow:
            project, version, replayed = use_cases.create_draft_once(
                uow, key, request_hash, fund, details, *_entered_by(details)
            )
        return {"project": self._out(project, version), "replayed": replayed}

    @rpc
    def edit_draft(self, project_id: str, payload: dict) -> dict:
        changes = load_or_raise(EDIT_IN, payload)
        expected = changes.pop("version", None)  # the ETag the client read, if it sent one
        with self.db.unit_of_work() as uow:
            project, version = use_cases.edit_draft(uow, project_id, changes, expected)
        return self._out(project, version)

    @rpc
    def submit(self, project_id: str, payload: dict | None = None) -> dict:
        actor = load_or_raise(ACTOR_IN, payload or {})
        by = actor["by"] or "proposer"
        try:  # the plan as replicated from PlanApproved: one transaction, no call to the funds service
            with self.db.unit_of_work() as uow:
                project = use_cases.submit(uow, project_id, by, replicated=True)
        except use_cases.PlanNotReplicated as missing:  # not seen yet (or approved before replication began)
            plan = self._plan(missing.plan_id)  # asked outside any transaction: RPC never inside one
            if plan is not None and plan.status == "approved":
                with self.db.unit_of_work() as uow:
                    use_cases.remember_plan(uow, plan)
            with self.db.unit_of_work() as uow:
                project = use_cases.submit(uow, project_id, by, plan)
        return {**self._out(project), "checks": project.spending_type_notes()}

    @rpc
    def request_revision(self, project_id: str, payload: dict) -> dict:
        decision = load_or_raise(REASON_IN, payload)
        with self.db.unit_of_work() as uow:
            project = use_cases.request_revision(
                uow, project_id, decision["by"] or "fund committee", decision["reason"]
            )
        return self._out(project)

    @rpc
    def reject(self, project_id: str, payload: dict) -> dict:
        decision = load_or_raise(REJECTION_IN, payload)
        with self.db.unit_of_work() as uow:
            project = use_cases.reject(
                uow, project_id, decision["by"] or "fund committee", decision["reason"], decision["meeting_ref"]
            )
        return self._out(project)

    @rpc
    def approve(self, project_id: str, payload: dict) -> dict:
        decision = load_or_raise(APPROVAL_IN, payload)
        with self.db.unit_of_work() as uow:
            project = use_cases.approve(uow, project_id, decision, decision["by"] or "fund committee")
        return self._out(project)

    @rpc
    def cancel(self, project_id: str, payload: dict) -> dict:
        decision = load_or_raise(REASON_IN, payload)
        with self.db.unit_of_work() as uow:
            project = use_cases.cancel(uow, project_id, decision["by"] or "fund officer", decision["reason"])
        return self._out(project)

    # -- running projects -------------------------------------------------------

    @rpc
    def start(self, project_id: str, payload: dict | None = None) -> dict:
        actor = load_or_raise(ACTOR_IN, payload or {})
        with self.db.unit_of_work() as uow:
            return self._out(use_cases.start(uow, project_id, actor["by"] or "fund officer"))

    @rpc
    def suspend(self, project_id: str, payload: dict) -> dict:
        decision = load_or_raise(REASON_IN, payload)
        with self.db.unit_of_work() as uow:
            return self._out(use_cases.suspend(uow, project_id, decision["by"] or "fund committee", decision["reason"]))

    @rpc
    def resume(self, project_id: str, payload: dict | None = None) -> dict:
        decision = load_or_raise(OPTIONAL_REASON_IN, payload or {})
        with self.db.unit_of_work() as uow:
            return self._out(use_cases.resume(uow, project_id, decision["by"] or "fund committee", decision["reason"]))

    @rpc
    def terminate(self, project_id: str, payload: dict) -> dict:
        decision = load_or_raise(REASON_IN, payload)
        with self.db.unit_of_work() as uow:
            return self._out(
                use_cases.terminate(uow, project_id, decision["by"] or "fund committee", decision["reason"])
            )

    @rpc
    def complete(self, project_id: str, payload: dict | None = None) -> dict:
        actor = load_or_raise(ACTOR_IN, payload or {})
        with self.db.unit_of_work() as uow:
            return self._out(use_cases.complete(uow, project_id, actor["by"] or "fund officer"))

    @rpc
    def submit_report(self, project_id: str, payload: dict) -> dict:
        report = load_or_raise(REPORT_IN, payload)
        with self.db.unit_of_work() as uow:
            project = use_cases.submit_report(
                uow, project_id, report["report"], report["period"], report["by"] or "project owner", report["content"]
            )
        return self._out(project)

    @rpc
    def assign_mentor(self, project_id: str, payload: dict) -> dict:
        mentor = load_or_raise(MENTOR_IN, payload)
        with self.db.unit_of_work() as uow:
            return self._out(use_cases.assign_mentor(uow, project_id, mentor["mentor"]))

    @rpc
    def comment(self, project_id: str, payload: dict) -> dict:
        note = load_or_raise(COMMENT_IN, payload)
        with self.db.unit_of_work() as uow:
            return self._out(use_cases.comment(uow, project_id, note["author"], note["role"], note["text"]))

    # -- reading ------------------------------------------------------------------

    @rpc
    def get_project(self, project_id: str) -> dict:
        with self.db.read() as session:
            project, version = use_cases.get(session, project_id)
        return self._out(project, version)

    @rpc
    def list_projects(self, query: dict | None = None) -> dict:
        params = load_or_raise(LIST_IN, query or {})
        page, per_page, text = params.pop("page"), params.pop("per_page"), params.pop("q")
        with self.db.read() as session:
            rows, total = orm.search(session, params, text, page, per_page)
        return {"items": SUMMARY_OUT.dump(rows, many=True), "page": page, "per_page": per_page, "total": total}

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}

    # -- the budget saga ---------------------------------------------------------

    # -- approved plans, replicated for submissions -----------------------------------

    @event_handler("PlanApproved")
    def on_plan_approved(self, event):
        self.db.apply_event(event, use_cases.record_plan_approved)

    @event_handler("BudgetCommitted")
    def on_budget_committed(self, event):
        self.db.apply_event(event, use_cases.record_budget_committed)

    @event_handler("BudgetCommitmentRefused")
    def on_budget_refused(self, event):
        self.db.apply_event(event, use_cases.record_budget_refused)

    # -- helpers -------------------------------------------------------------------

    def _out(self, project, version: int | None = None) -> dict:
        out = PROJECT_OUT.dump(project)
        if version is not None:
            out["version"] = version
        return out

    def _fund(self, code: str) -> FundRef:
        try:
            fund = self.funds.get_fund(code)
        except NotFound:
            raise InvalidInput({"fund_code": [f"Fund {code} is not registered."]}) from None
        return FundRef(
            fund["code"], fund["name_th"], fund["subdistrict"], fund["district"], fund["province"], fund["region"]
        )

    def _plan(self, plan_id: str) -> PlanView | None:
        """The plan, asked from the funds service; an approved plan is kept a while (it no longer changes)."""
        cached = APPROVED_PLANS.get(plan_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            plan = self.funds.get_plan(plan_id)
        except NotFound:
            return None
        view = PlanView(
            plan["id"],
            plan["fund_code"],
            plan["fiscal_year"],
            plan["issue"],
            plan["status"],
            frozenset(indicator["id"] for indicator in plan["indicators"]),
        )
        if view.status == "approved":
            if len(APPROVED_PLANS) >= 10_000:
                APPROVED_PLANS.clear()
            APPROVED_PLANS[plan_id] = (time.monotonic() + PLAN_CACHE_SECONDS, view)
        return view


def _entered_by(details: dict) -> tuple[str, str]:
    """Who typed the proposal in, and in which role (the officer types paper proposals in)."""
    role = details["entered_by_role"]
    return details["entered_by"] or ("fund officer" if role == "fund_officer" else details["owner"]["name"]), role
