"""The projects service's nameko adapter: RPC in, use cases, results out."""

from kongtun_common.db import Database
from kongtun_common.errors import InvalidInput, NotFound
from kongtun_common.fields import load_or_raise
from kongtun_common.observability import Instrumentation
from kongtun_common.rpc import ServiceRpc, rpc

from . import orm, use_cases
from .domain import FundRef
from .schemas import ActorIn, ApprovalIn, DraftIn, ProjectOut

DRAFT_IN, ACTOR_IN, APPROVAL_IN, PROJECT_OUT = DraftIn(), ActorIn(), ApprovalIn(), ProjectOut()


class ProjectsService:
    name = "projects"

    db = Database(orm.metadata)
    instrumentation = Instrumentation()
    funds = ServiceRpc("funds")

    @rpc
    def create_draft(self, payload: dict) -> dict:
        details = load_or_raise(DRAFT_IN, payload)
        fund = self._fund(details["fund_code"])
        with self.db.unit_of_work() as uow:
            project = use_cases.create_draft(uow, fund, details, details["entered_by"] or "proposer")
        return PROJECT_OUT.dump(project)

    @rpc
    def submit(self, project_id: str, payload: dict | None = None) -> dict:
        actor = load_or_raise(ACTOR_IN, payload or {})
        with self.db.unit_of_work() as uow:
            project = use_cases.submit(uow, project_id, actor["by"] or "proposer")
        return PROJECT_OUT.dump(project)

    @rpc
    def approve(self, project_id: str, payload: dict) -> dict:
        decision = load_or_raise(APPROVAL_IN, payload)
        with self.db.unit_of_work() as uow:
            project = use_cases.approve(uow, project_id, decision, decision["by"] or "fund committee")
        return PROJECT_OUT.dump(project)

    @rpc
    def get_project(self, project_id: str) -> dict:
        with self.db.read() as session:
            return PROJECT_OUT.dump(use_cases.get(session, project_id))

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}

    def _fund(self, code: str) -> FundRef:
        try:
            fund = self.funds.get_fund(code)
        except NotFound:
            raise InvalidInput({"fund_code": [f"Fund {code} is not registered."]}) from None
        return FundRef(
            fund["code"], fund["name_th"], fund["subdistrict"], fund["district"], fund["province"], fund["region"]
        )
