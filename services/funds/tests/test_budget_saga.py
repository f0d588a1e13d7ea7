"""The budget saga on the real broker: ProjectApproved → BudgetCommitted or BudgetCommitmentRefused;
ProjectCancelled / ProjectTerminated → BudgetReleased.  Each on SQLite and PostgreSQL, redelivered too."""

import json
import uuid

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select

import kongtun_funds
from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_funds import orm
from kongtun_funds.service import FundsService

HANDLERS = ("funds.commit_budget", "funds.release_cancelled", "funds.release_terminated")
BAN_RAI = {
    "code": "L3363",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
}


@pytest.fixture
def funds(container_factory, amqp_uri, database_url):
    for queue in HANDLERS:
        testing.delete_handler_queues(amqp_uri, queue)
    url = testing.migrated(database_url, kongtun_funds)
    container = container_factory(FundsService, testing.container_config(amqp_uri, url))
    container.start()
    with entrypoint_hook(container, "register_fund") as register:
        register(BAN_RAI)
    engine = make_engine(url)
    yield container, engine
    engine.dispose()


def record(container, **entry):
    with entrypoint_hook(container, "record_entry") as record_entry:
        return record_entry("L3363", {"fiscal_year": 2567, **entry})


def approved(amount: int, spending_type: int = 2, fund_code: str = "L3363", kind: str = "citizen_group"):
    project_id = str(uuid.uuid4())
    facts = testing.sample_project_facts(project_id, spending_type=spending_type, fund_code=fund_code)
    facts["owner"] = {**facts["owner"], "kind": kind}
    data = {
        **facts,
        "requested_amount_satang": amount,
        "project_code": f"{fund_code}-2567-0001",
        "approved_amount_satang": amount,
        "approved_at": "2024-01-08T09:00:00+00:00",
        "approved_by": "คณะกรรมการกองทุน",
        "meeting_ref": "ครั้งที่ 2/2567",
        "reports_due": [{"report": "final", "due_date": "2024-07-08"}],
    }
    return testing.make_event("ProjectApproved", data, subject=project_id, service="projects")


def closed(approval, name: str, approved_amount: int | None = None):
    data = {key: value for key, value in approval.data.items() if key in testing.sample_project_facts("x")}
    if name == "ProjectCancelled":
        data.update(
            project_code=approval.data["project_code"] if approved_amount is not None else None,
            approved_amount_satang=approved_amount,
            cancelled_at="2024-02-01T09:00:00+00:00",
            cancelled_by="เจ้าหน้าที่กองทุน",
            reason="ผู้รับทุนขอยกเลิก",
        )
    else:
        data.update(
            project_code=approval.data["project_code"],
            approved_amount_satang=approved_amount,
            terminated_at="2024-04-01T09:00:00+00:00",
            terminated_by="คณะกรรมการกองทุน",
            reason="ไม่ดำเนินการตามแผน",
        )
    return testing.make_event(name, data, subject=approval.subject, service="projects")


def outbox_types(engine) -> list[str]:
    with engine.connect() as connection:
        return [row.type for row in connection.execute(select(orm.outbox.c.type).order_by(orm.outbox.c.id))]


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def wait_consumed(method, event, outcome="applied", before=0.0):
    testing.wait_for(lambda: testing.consumed("funds", method, event.type, outcome) >= before + 1)


def balance(container):
    with entrypoint_hook(container, "get_balance") as get_balance:
        return get_balance("L3363", 2567)


def test_an_approved_project_commits_budget_once_even_when_redelivered(funds, amqp_uri, event_spy):
    container, engine = funds
    record(container, kind="income", code=40100, amount="100000.00")
    event = approved(2_400_000)
    before = testing.consumed("funds", "commit_budget", event.type, "duplicate")
    testing.publish_event(amqp_uri, event)
    testing.publish_event(amqp_uri, event)  # redelivered

    [committed] = event_spy.collect(1, event_type="kongtun.BudgetCommitted.v1")
    wait_consumed("commit_budget", event, "duplicate", before)
    data = committed["data"]
    assert committed["subject"] == event.subject and committed["correlationid"] == "test-correlation"
    assert (data["project_id"], data["project_code"], data["amount_satang"]) == (
        event.subject,
        "L3363-2567-0001",
        2_400_000,
    )
    assert (data["fund_name"], data["district"], data["province"], data["region"]) == (
        BAN_RAI["name_th"],
        "ศรีนครินทร์",
        "พัทลุง",
        12,
    )
    assert data["balances"] == {
        "income_satang": 10_000_000,
        "committed_satang": 2_400_000,
        "available_satang": 7_600_000,
    }
    assert count(engine, orm.commitments) == 1
    assert outbox_types(engine).count("kongtun.BudgetCommitted.v1") == 1
    assert balance(container)["available"] == "76000.00"
    assert balance(container)["citizen_groups"] == "24000.00"


@pytest.mark.parametrize(
    ("case", "reason_code", "words"),
    [
        ("insufficient_balance", "insufficient_balance", "ไม่พอ"),
        ("administration_cap", "administration_cap", "ประเภทที่ 4"),
        ("unknown_fund", "unknown_fund", "L9999"),
    ],
)
def test_a_commitment_that_breaks_a_rule_is_refused_with_the_reason(
    funds, amqp_uri, event_spy, case, reason_code, words
):
    container, engine = funds
    record(container, kind="income", code=40100, amount="100000.00")
    event = {
        "insufficient_balance": approved(10_000_001),  # one satang beyond the balance
        "administration_cap": approved(1_500_001, spending_type=4, kind="fund_secretariat"),  # 15 % + 1 satang
        "unknown_fund": approved(100, fund_code="L9999"),
    }[case]
    testing.publish_event(amqp_uri, event)

    [refused] = event_spy.collect(1, event_type="kongtun.BudgetCommitmentRefused.v1")
    data = refused["data"]
    assert (data["reason_code"], data["project_id"], data["amount_satang"]) == (
        reason_code,
        event.subject,
        event.data["approved_amount_satang"],
    )
    assert words in data["reason"]
    assert data["fund_code"] == event.data["fund_code"] and data["district"] == "ศรีนครินทร์"
    assert count(engine, orm.commitments) == 0
    assert balance(container)["committed"] == "0.00"
    assert "kongtun.BudgetCommitted.v1" not in outbox_types(engine)


def test_cancellation_releases_the_commitment_once(funds, amqp_uri, event_spy):
    container, engine = funds
    record(container, kind="income", code=40100, amount="50000.00")
    approval = approved(2_000_000)
    testing.publish_event(amqp_uri, approval)
    event_spy.collect(1, event_type="kongtun.BudgetCommitted.v1")

    cancellation = closed(approval, "ProjectCancelled", approved_amount=2_000_000)
    before = testing.consumed("funds", "release_cancelled", cancellation.type, "duplicate")
    testing.publish_event(amqp_uri, cancellation)
    testing.publish_event(amqp_uri, cancellation)
    [released] = event_spy.collect(1, event_type="kongtun.BudgetReleased.v1")
    wait_consumed("release_cancelled", cancellation, "duplicate", before)
    assert released["data"]["reason"] == "project_cancelled"
    assert released["data"]["amount_satang"] == 2_000_000
    assert released["data"]["balances"] == {
        "income_satang": 5_000_000,
        "committed_satang": 0,
        "available_satang": 5_000_000,
    }
    assert outbox_types(engine).count("kongtun.BudgetReleased.v1") == 1
    assert balance(container)["citizen_groups"] == "0.00"


def test_termination_releases_only_what_was_not_paid(funds, amqp_uri, event_spy):
    container, engine = funds
    record(container, kind="income", code=40100, amount="50000.00")
    approval = approved(2_000_000)
    testing.publish_event(amqp_uri, approval)
    [committed] = event_spy.collect(1, event_type="kongtun.BudgetCommitted.v1")
    paid = record(
        container,
        kind="disbursement",
        code=50200,
        amount="8000.00",
        commitment_id=committed["data"]["commitment_id"],
    )
    assert paid["balances"]["committed"] == "12000.00" and paid["balances"]["spent"] == "8000.00"

    testing.publish_event(amqp_uri, closed(approval, "ProjectTerminated", approved_amount=2_000_000))
    [released] = event_spy.collect(1, event_type="kongtun.BudgetReleased.v1")
    assert (released["data"]["reason"], released["data"]["amount_satang"]) == ("project_terminated", 1_200_000)
    after = balance(container)
    assert (after["committed"], after["spent"], after["available"]) == ("0.00", "8000.00", "42000.00")


def test_a_cancellation_without_a_commitment_changes_nothing(funds, amqp_uri):
    container, engine = funds
    record(container, kind="income", code=40100, amount="50000.00")
    approval = approved(2_000_000)
    never_approved = closed(approval, "ProjectCancelled")
    before = testing.consumed("funds", "release_cancelled", never_approved.type, "applied")
    outbox_before = outbox_types(engine)
    testing.publish_event(amqp_uri, never_approved)
    wait_consumed("release_cancelled", never_approved, "applied", before)
    assert outbox_types(engine) == outbox_before
    assert count(engine, orm.closed_projects) == 0
    assert balance(container)["available"] == "50000.00"


def test_an_approval_that_arrives_after_the_cancellation_commits_nothing(funds, amqp_uri):
    container, engine = funds
    record(container, kind="income", code=40100, amount="50000.00")
    approval = approved(2_000_000)
    cancellation = closed(approval, "ProjectCancelled", approved_amount=2_000_000)
    before = testing.consumed("funds", "release_cancelled", cancellation.type, "applied")
    testing.publish_event(amqp_uri, cancellation)  # overtakes the approval (different queues)
    wait_consumed("release_cancelled", cancellation, "applied", before)
    before = testing.consumed("funds", "commit_budget", approval.type, "applied")
    outbox_before = outbox_types(engine)
    testing.publish_event(amqp_uri, approval)
    wait_consumed("commit_budget", approval, "applied", before)
    assert outbox_types(engine) == outbox_before
    assert count(engine, orm.commitments) == 0
    assert balance(container)["available"] == "50000.00"


def test_a_ledger_entry_is_announced_with_the_fund_and_its_place(funds):
    container, engine = funds
    record(container, kind="income", code=40200, amount="12345.67")
    with engine.connect() as connection:
        payloads = [json.loads(row.payload) for row in connection.execute(select(orm.outbox.c.payload))]
    assert {payload["type"] for payload in payloads} == {"kongtun.FundRegistered.v1", "kongtun.LedgerEntryRecorded.v1"}
    [entry] = [payload for payload in payloads if payload["type"].endswith("LedgerEntryRecorded.v1")]
    assert entry["data"]["amount_satang"] == 1_234_567 and entry["data"]["province"] == "พัทลุง"
