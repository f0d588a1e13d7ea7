"""The funds service's nameko adapter: RPC and events in, use cases, results out."""

from __future__ import annotations

from datetime import date, datetime

from kongtun_common.db import Database
from kongtun_common.errors import InvalidInput
from kongtun_common.events.consumer import event_handler
from kongtun_common.fields import load_or_raise
from kongtun_common.observability import Instrumentation
from kongtun_common.rpc import rpc

from . import orm, schemas, use_cases

REGISTER_FUND, FUND_OUT = schemas.RegisterFund(), schemas.FundOut()
PLACE_FILTERS, PAGE, FUND_YEAR_IN = schemas.PlaceFilters(), schemas.Page(), schemas.FundYearIn()
PERSON_IN, MENTOR_IN, MENTOR_FILTERS = schemas.PersonIn(), schemas.MentorIn(), schemas.MentorFilters()
DISTRICT_COMMITTEE_IN, TAXONOMY_IN = schemas.DistrictCommitteeIn(), schemas.TaxonomyIn()
PROGRAMME_IN, PROGRAMME_FILTERS, AGREEMENT_IN = schemas.ProgrammeIn(), schemas.ProgrammeFilters(), schemas.AgreementIn()
PLAN_IN, PLAN_APPROVAL_IN, PLAN_FILTERS = schemas.PlanIn(), schemas.PlanApprovalIn(), schemas.PlanFilters()
ENTRY_IN, ENTRY_FILTERS, RULE_SET_IN = schemas.EntryIn(), schemas.EntryFilters(), schemas.RuleSetIn()
FINANCIAL_REPORT_IN, FINANCIAL_REPORT_FILTERS = schemas.FinancialReportIn(), schemas.FinancialReportFilters()


def wire(value):
    """Results as the API speaks them: ``*_satang`` becomes baht text without the suffix, dates ISO 8601."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and key.endswith("_satang"):
                out[key[: -len("_satang")]] = baht(item)
            else:
                out[key] = wire(item)
        return out
    if isinstance(value, (list, tuple)):
        return [wire(item) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def baht(satang):
    if satang is None:
        return None
    if isinstance(satang, dict):
        return {key: baht(item) for key, item in satang.items()}
    sign = "-" if satang < 0 else ""
    whole, fraction = divmod(abs(int(satang)), 100)
    return f"{sign}{whole}.{fraction:02d}"


def _fiscal_year(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput({"fiscal_year": ["Must be a fiscal year in the Buddhist Era, e.g. 2567."]})
    return value


class FundsService:
    name = "funds"

    db = Database(orm.metadata)
    instrumentation = Instrumentation()

    # -------------------------------------------------------------- funds and geography

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
    def fund_details(self, code: str) -> dict:
        with self.db.read() as session:
            return wire(use_cases.fund_details(session, code))

    @rpc
    def list_funds(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(PLACE_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(use_cases.list_funds(session, loaded))

    @rpc
    def set_fund_year(self, code: str, fiscal_year: int, payload: dict) -> dict:
        details = load_or_raise(FUND_YEAR_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.set_fund_year(uow, code, _fiscal_year(fiscal_year), details))

    @rpc
    def get_fund_year(self, code: str, fiscal_year: int) -> dict:
        with self.db.read() as session:
            return wire(use_cases.fund_year(session, code, _fiscal_year(fiscal_year)))

    @rpc
    def list_provinces(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(PLACE_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(use_cases.list_provinces(session, loaded))

    @rpc
    def list_districts(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(PLACE_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(use_cases.list_districts(session, loaded))

    @rpc
    def list_local_governments(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(PLACE_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(use_cases.list_local_governments(session, loaded))

    @rpc
    def import_csv(self, kind: str, filename: str, content: str) -> dict:
        with self.db.unit_of_work() as uow:
            return use_cases.import_csv(uow, kind, filename, content)

    # -------------------------------------------------------------- people

    @rpc
    def add_person(self, code: str, payload: dict) -> dict:
        details = load_or_raise(PERSON_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.add_person(uow, code, details))

    @rpc
    def list_people(self, code: str) -> dict:
        with self.db.read() as session:
            return wire(use_cases.list_people(session, code))

    @rpc
    def create_mentor(self, payload: dict) -> dict:
        details = load_or_raise(MENTOR_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.create_mentor(uow, details))

    @rpc
    def assign_mentor(self, mentor_id: str, fund_code: str) -> dict:
        with self.db.unit_of_work() as uow:
            return wire(use_cases.assign_mentor(uow, mentor_id, fund_code))

    @rpc
    def list_mentors(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(MENTOR_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(use_cases.list_mentors(session, loaded))

    @rpc
    def create_district_committee(self, payload: dict) -> dict:
        details = load_or_raise(DISTRICT_COMMITTEE_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.create_district_committee(uow, details))

    @rpc
    def list_district_committees(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(PLACE_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(use_cases.list_district_committees(session, loaded))

    # -------------------------------------------------------------- programmes, agreements, plans

    @rpc
    def load_taxonomy(self, payload: dict) -> dict:
        details = load_or_raise(TAXONOMY_IN, payload)
        with self.db.unit_of_work() as uow:
            return use_cases.load_taxonomy(uow, details)

    @rpc
    def list_taxonomies(self) -> dict:
        with self.db.read() as session:
            return use_cases.list_taxonomies(session)

    @rpc
    def create_programme(self, payload: dict) -> dict:
        details = load_or_raise(PROGRAMME_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.create_programme(uow, details))

    @rpc
    def get_programme(self, programme_id: str) -> dict:
        with self.db.read() as session:
            return wire(use_cases.get_programme(session, programme_id))

    @rpc
    def list_programmes(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(PROGRAMME_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(use_cases.list_programmes(session, loaded))

    @rpc
    def sign_agreement(self, programme_id: str, payload: dict) -> dict:
        details = load_or_raise(AGREEMENT_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.sign_agreement(uow, programme_id, details))

    @rpc
    def list_agreements(self, programme_id: str) -> dict:
        with self.db.read() as session:
            return wire(use_cases.list_agreements(session, programme_id))

    @rpc
    def create_plan(self, payload: dict) -> dict:
        details = load_or_raise(PLAN_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.create_plan(uow, details))

    @rpc
    def approve_plan(self, plan_id: str, payload: dict) -> dict:
        details = load_or_raise(PLAN_APPROVAL_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.approve_plan(uow, plan_id, details))

    @rpc
    def get_plan(self, plan_id: str) -> dict:
        """The plan as the projects service needs it: id, fund_code, fiscal_year, issue, programme_id,
        status (draft | approved) and indicators (id, name, unit, baseline, target)."""
        with self.db.read() as session:
            return use_cases.get_plan(session, plan_id)

    @rpc
    def plan_details(self, plan_id: str) -> dict:
        with self.db.read() as session:
            return wire(use_cases.plan_details(session, plan_id))

    @rpc
    def list_plans(self, filters: dict | None = None) -> dict:
        loaded = load_or_raise(PLAN_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(use_cases.list_plans(session, loaded))

    # -------------------------------------------------------------- the ledger and its rules

    @rpc
    def record_entry(self, code: str, payload: dict) -> dict:
        details = load_or_raise(ENTRY_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.record_entry(uow, code, details))

    @rpc
    def list_entries(self, code: str, filters: dict | None = None) -> dict:
        loaded = load_or_raise(ENTRY_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(use_cases.list_entries(session, code, loaded))

    @rpc
    def list_commitments(self, code: str, filters: dict | None = None) -> dict:
        loaded = load_or_raise(ENTRY_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(
                use_cases.list_commitments(session, code, loaded["fiscal_year"], loaded["page"], loaded["per_page"])
            )

    @rpc
    def get_balance(self, code: str, fiscal_year: int) -> dict:
        with self.db.read() as session:
            return wire(use_cases.balance_out(session, code, _fiscal_year(fiscal_year)))

    @rpc
    def evaluate(self, code: str, fiscal_year: int, as_of: str | None = None) -> dict:
        try:
            day = date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise InvalidInput({"as_of": ["Must be a date, e.g. 2024-03-31."]}) from None
        with self.db.read() as session:
            return wire(use_cases.evaluate(session, code, _fiscal_year(fiscal_year), day))

    @rpc
    def submit_financial_report(self, code: str, payload: dict) -> dict:
        details = load_or_raise(FINANCIAL_REPORT_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.submit_financial_report(uow, code, details))

    @rpc
    def list_financial_reports(self, code: str, filters: dict | None = None) -> dict:
        loaded = load_or_raise(FINANCIAL_REPORT_FILTERS, filters or {})
        with self.db.read() as session:
            return wire(use_cases.list_financial_reports(session, code, loaded))

    @rpc
    def get_rules(self) -> dict:
        with self.db.read() as session:
            return wire(use_cases.rules_out(session))

    @rpc
    def set_rules(self, payload: dict) -> dict:
        details = load_or_raise(RULE_SET_IN, payload)
        with self.db.unit_of_work() as uow:
            return wire(use_cases.set_rules(uow, details))

    # -------------------------------------------------------------- the budget saga

    @event_handler("ProjectApproved")
    def commit_budget(self, event):
        self.db.apply_event(event, use_cases.commit_budget)

    @event_handler("ProjectCancelled")
    def release_cancelled(self, event):
        self.db.apply_event(event, lambda uow, ev: use_cases.release_budget(uow, ev, "project_cancelled"))

    @event_handler("ProjectTerminated")
    def release_terminated(self, event):
        self.db.apply_event(event, lambda uow, ev: use_cases.release_budget(uow, ev, "project_terminated"))

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}
