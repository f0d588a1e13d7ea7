"""The projects service with the real funds service, broker and databases."""

from datetime import date, timedelta

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select

import kongtun_funds
import kongtun_projects
from kongtun_common import (
    remote,  # noqa: F401  (typed errors over RPC)
    testing,
)
from kongtun_common.engine import make_engine
from kongtun_common.errors import Conflict, InvalidInput
from kongtun_funds.service import FundsService
from kongtun_projects import orm
from kongtun_projects.service import ProjectsService

TODAY = date.today()
DRAFT = {
    "fund_code": "L3363",
    "title": "โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ",
    "fiscal_year": 2567,
    "issue": "physical_activity",
    "spending_type": 2,
    "owner": {"name": "ชมรมผู้สูงอายุบ้านไร่", "kind": "citizen_group"},
    "requested_amount": "25000.50",
    "start_date": TODAY.isoformat(),
    "end_date": (TODAY + timedelta(days=60)).isoformat(),
    "entered_by": "เจ้าหน้าที่กองทุน",
}
APPROVAL = {"approved_amount": "24000.00", "approved_by": "คณะกรรมการกองทุน", "meeting_ref": "ครั้งที่ 2/2567"}


@pytest.fixture
def services(container_factory, amqp_uri, database_url, tmp_path):
    funds_url = testing.migrated(f"sqlite:///{tmp_path / 'funds.db'}", kongtun_funds)
    funds = container_factory(FundsService, testing.container_config(amqp_uri, funds_url))
    funds.start()
    with entrypoint_hook(funds, "register_fund") as register:
        try:
            register(
                {
                    "code": "L3363",
                    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
                    "subdistrict": "บ้านไร่",
                    "district": "ศรีนครินทร์",
                    "province": "พัทลุง",
                }
            )
        except InvalidInput:
            pass  # registered by an earlier test on this vhost's shared RPC queue
    url = testing.migrated(database_url, kongtun_projects)
    projects = container_factory(ProjectsService, testing.container_config(amqp_uri, url))
    projects.start()
    engine = make_engine(url)
    yield projects, engine
    engine.dispose()


def count(engine, table, *conditions):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*conditions)).scalar()


def call(container, method, *args):
    with entrypoint_hook(container, method) as entrypoint:
        return entrypoint(*args)


def test_a_submitted_project_is_announced_with_what_integrators_need(services, event_spy):
    projects, _ = services
    draft = call(projects, "create_draft", DRAFT)
    assert draft["status"] == "draft" and draft["requested_amount"] == "25000.50"
    assert draft["district"] == "ศรีนครินทร์"  # copied from the funds service over RPC
    submitted = call(projects, "submit", draft["id"], {"by": "ชมรมผู้สูงอายุบ้านไร่"})
    assert submitted["status"] == "submitted"

    [event] = event_spy.collect(1, event_type="kongtun.ProjectSubmitted.v1")
    assert event["subject"] == draft["id"]
    data = event["data"]
    assert data["requested_amount_satang"] == 2500050
    assert (data["fund_code"], data["province"], data["region"]) == ("L3363", "พัทลุง", 12)
    assert data["owner"] == {"name": "ชมรมผู้สูงอายุบ้านไร่", "kind": "citizen_group", "contact": ""}
    assert data["submitted_by"] == "ชมรมผู้สูงอายุบ้านไร่"


def test_an_approved_project_carries_its_reporting_periods(services, event_spy):
    projects, _ = services
    draft = call(projects, "create_draft", DRAFT)
    call(projects, "submit", draft["id"], {})
    approved = call(projects, "approve", draft["id"], APPROVAL)
    assert approved["status"] == "approved" and approved["approved_amount"] == "24000.00"
    assert [step["to_status"] for step in approved["history"]] == ["draft", "submitted", "approved"]

    [event] = event_spy.collect(1, event_type="kongtun.ProjectApproved.v1")
    assert event["data"]["approved_amount_satang"] == 2400000
    assert event["data"]["project_code"] == approved["code"]
    assert approved["code"].startswith("L3363-2567-")
    assert event["data"]["reports_due"] == [{"report": "final", "due_date": DRAFT["end_date"]}]
    assert event["data"]["meeting_ref"] == "ครั้งที่ 2/2567"


def test_a_draft_for_an_unregistered_fund_is_refused(services):
    projects, engine = services
    with pytest.raises(InvalidInput) as refused:
        call(projects, "create_draft", {**DRAFT, "fund_code": "L0000"})
    assert list(refused.value.errors) == ["fund_code"]
    assert count(engine, orm.projects) == 0


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"requested_amount": "-5"}, ["requested_amount"]),
        ({"requested_amount": "10.001"}, ["requested_amount"]),
        ({"fiscal_year": 2024}, ["fiscal_year"]),
        ({"spending_type": 6, "owner": {"name": "", "kind": "company"}}, ["owner.kind", "owner.name", "spending_type"]),
        ({"end_date": "2020-01-01"}, ["end_date"]),
    ],
)
def test_bad_drafts_name_their_fields_and_write_nothing(services, change, fields):
    projects, engine = services
    with pytest.raises(InvalidInput) as refused:
        call(projects, "create_draft", {**DRAFT, **change})
    assert sorted(refused.value.errors) == fields
    assert count(engine, orm.projects) == 0


def test_refused_transitions_leave_the_project_as_it_was(services):
    projects, engine = services
    draft = call(projects, "create_draft", DRAFT)
    with pytest.raises(Conflict) as refused:
        call(projects, "approve", draft["id"], APPROVAL)
    assert refused.value.current_state == "draft"
    call(projects, "submit", draft["id"], {})
    with pytest.raises(InvalidInput):
        call(projects, "approve", draft["id"], {**APPROVAL, "approved_amount": "25000.51"})
    assert call(projects, "get_project", draft["id"])["status"] == "submitted"
    assert count(engine, orm.outbox) == 1  # only ProjectSubmitted


def test_two_concurrent_approvals_approve_once(services, amqp_uri):
    projects, engine = services
    draft = call(projects, "create_draft", DRAFT)
    call(projects, "submit", draft["id"], {})

    def approve():
        with ServiceRpcProxy("projects", {"AMQP_URI": amqp_uri}) as rpc:  # one client per caller
            try:
                return rpc.approve(draft["id"], APPROVAL)["status"]
            except Conflict as refused:
                return f"refused:{refused.current_state}"

    outcomes = sorted(eventlet.GreenPool().imap(lambda _: approve(), range(2)))
    assert outcomes == ["approved", "refused:approved"]
    with engine.connect() as connection:
        codes = connection.execute(select(orm.projects.c.code).where(orm.projects.c.code.is_not(None))).scalars()
        assert len(list(codes)) == 1  # one code assigned, and no number used up by the refused approval
    assert count(engine, orm.outbox, orm.outbox.c.type == "kongtun.ProjectApproved.v1") == 1
