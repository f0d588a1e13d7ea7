"""The funds service's nameko adapter: RPC in, use cases, results out."""

from kongtun_common.db import Database
from kongtun_common.fields import load_or_raise
from kongtun_common.observability import Instrumentation
from kongtun_common.rpc import rpc

from . import orm, use_cases
from .schemas import FundOut, RegisterFund

REGISTER_FUND, FUND_OUT = RegisterFund(), FundOut()


class FundsService:
    name = "funds"

    db = Database(orm.metadata)
    instrumentation = Instrumentation()

    @rpc
    def register_fund(self, payload: dict) -> dict:
        details = load_or_raise(REGISTER_FUND, payload)
        with self.db.unit_of_work() as uow:
            fund = use_cases.register(uow, details)
        return FUND_OUT.dump(fund)

    @rpc
    def get_fund(self, code: str) -> dict:
        with self.db.read() as session:
            return FUND_OUT.dump(use_cases.get(session, code))

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}
