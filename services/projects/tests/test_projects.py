"""The projects service with the real funds service, broker and databases."""

import uuid
from datetime import date, timedelta

import pytest
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


def test_a_draft_is_created_with_its_fund_copied_and_edited_with_its_version(services):
    projects, _ = services
    draft = call(projects, "create_draft", {**DRAFT, "entered_by_role": "fund_officer"})
    assert (draft["status"], draft["version"], draft["requested_amount"]) == ("draft", 1, "25000.50")
    assert draft["district"] == "ศรีนครินทร์"  # copied from the funds service over RPC
    assert (draft["entered_by"], draft["entered_by_role"]) == ("เจ้าหน้าที่กองทุน", "fund_officer")

    edited = call(projects, "edit_draft", draft["id"], {"title": "โครงการเดินวิ่งเพื่อสุขภาพ", "version": 1})
    assert (edited["title"], edited["version"], edited["owner"]["name"]) == (
        "โครงการเดินวิ่งเพื่อสุขภาพ",
        2,
        "ชมรมผู้สูงอายุบ้านไร่",
    )
    with pytest.raises(Conflict):  # an edit made on a stale read
        call(projects, "edit_draft", draft["id"], {"title": "ชื่อเก่า", "version": 1})
    assert call(projects, "get_project", draft["id"])["title"] == "โครงการเดินวิ่งเพื่อสุขภาพ"


def test_a_creation_with_an_idempotency_key_is_made_once(services):
    projects, engine = services
    first = call(projects, "create_draft_once", "token-1/k-1", DRAFT)
    again = call(projects, "create_draft_once", "token-1/k-1", DRAFT)  # the answer was lost; the client retries
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["project"]["id"] == first["project"]["id"] and again["project"]["title"] == DRAFT["title"]
    assert count(engine, orm.projects) == 1

    with pytest.raises(InvalidInput) as reused:  # the same key for another project
        call(projects, "create_draft_once", "token-1/k-1", {**DRAFT, "title": "โครงการอื่น"})
    assert list(reused.value.errors) == ["Idempotency-Key"]
    other = call(projects, "create_draft_once", "token-2/k-1", DRAFT)  # another caller's key of the same name
    assert other["replayed"] is False and other["project"]["id"] != first["project"]["id"]
    assert count(engine, orm.projects) == 2 and count(engine, orm.creation_keys) == 2

    with pytest.raises(InvalidInput):  # a bad draft claims no key
        call(projects, "create_draft_once", "token-1/k-2", {**DRAFT, "title": ""})
    assert count(engine, orm.creation_keys) == 2


def test_a_draft_without_a_plan_cannot_be_submitted(services, event_spy):
    projects, engine = services
    draft = call(projects, "create_draft", DRAFT)
    with pytest.raises(InvalidInput) as refused:
        call(projects, "submit", draft["id"], {})
    assert {"plan_id", "indicator_targets", "budget_lines", "activities", "owner.members"} <= set(refused.value.errors)
    assert call(projects, "get_project", draft["id"])["status"] == "draft"
    assert count(engine, orm.outbox) == 0


def test_a_cancelled_draft_is_announced_and_closed(services, event_spy):
    projects, _ = services
    draft = call(projects, "create_draft", DRAFT)
    cancelled = call(projects, "cancel", draft["id"], {"reason": "ผู้เสนอขอถอนโครงการ", "by": "เจ้าหน้าที่"})
    assert cancelled["status"] == "cancelled"
    [event] = event_spy.collect(1, event_type="kongtun.ProjectCancelled.v1")
    assert (event["data"]["reason"], event["data"]["project_code"]) == ("ผู้เสนอขอถอนโครงการ", None)
    with pytest.raises(Conflict) as refused:
        call(projects, "edit_draft", draft["id"], {"title": "แก้ไข"})
    assert refused.value.current_state == "cancelled"


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
        ({"budget_lines": [{"group": "snacks", "amount": "1"}]}, ["budget_lines.0.group"]),
        ({"location": {"lat": 95, "lon": 100}}, ["location.lat"]),
        ({"indicator_targets": [{"indicator_id": "x", "target": "lots"}]}, ["indicator_targets.0.target"]),
    ],
)
def test_bad_drafts_name_their_fields_and_write_nothing(services, change, fields):
    projects, engine = services
    with pytest.raises(InvalidInput) as refused:
        call(projects, "create_draft", {**DRAFT, **change})
    assert sorted(refused.value.errors) == fields
    assert count(engine, orm.projects) == 0


def test_projects_are_listed_with_filters_and_thai_text_search(services):
    projects, _ = services
    call(projects, "create_draft", DRAFT)
    call(projects, "create_draft", {**DRAFT, "title": "โครงการอาหารปลอดภัยในโรงเรียน", "issue": "food"})
    call(projects, "create_draft", {**DRAFT, "title": "โครงการลดหวานมันเค็ม", "issue": "food"})
    page = call(projects, "list_projects", {"q": "อาหาร"})
    assert [item["title"] for item in page["items"]] == ["โครงการอาหารปลอดภัยในโรงเรียน"]
    assert call(projects, "list_projects", {"issue": "food"})["total"] == 2
    first = call(projects, "list_projects", {"per_page": 2, "page": 1})
    second = call(projects, "list_projects", {"per_page": 2, "page": 2})
    assert (first["total"], len(first["items"]), len(second["items"])) == (3, 2, 1)
    assert call(projects, "list_projects", {"q": "100%_"})["total"] == 0  # LIKE wildcards are literal
    with pytest.raises(InvalidInput) as refused:
        call(projects, "list_projects", {"per_page": 500})
    assert list(refused.value.errors) == ["per_page"]


def test_thai_search_finds_substrings_of_titles_owners_and_codes_and_follows_edits(services):
    """Three characters or more go through the trigram index (FTS5 / pg_trgm), shorter ones scan: same answers."""
    projects, _ = services
    walk = call(projects, "create_draft", {**DRAFT, "title": "โครงการเดินวิ่งเพื่อสุขภาพ"})
    call(
        projects,
        "create_draft",
        {**DRAFT, "title": 'ลดขยะ "ต้นทาง" 100%', "owner": {**DRAFT["owner"], "name": "Walk Club"}},
    )

    def titles(words):
        return sorted(item["title"] for item in call(projects, "list_projects", {"q": words})["items"])

    assert titles("วิ่งเพื่อ") == ["โครงการเดินวิ่งเพื่อสุขภาพ"]  # inside a word: Thai has no spaces
    assert titles("walk") == ['ลดขยะ "ต้นทาง" 100%']  # the owner, whatever the case
    assert titles('"ต้นทาง"') == titles("100%") == ['ลดขยะ "ต้นทาง" 100%']  # quotes and % taken as typed
    assert titles("ขย") == ['ลดขยะ "ต้นทาง" 100%']  # two characters: scanned
    assert titles("วิ่งเร็ว") == []

    call(projects, "edit_draft", walk["id"], {"title": "โครงการปั่นจักรยานเพื่อสุขภาพ", "version": 1})
    assert titles("ปั่นจักรยาน") == ["โครงการปั่นจักรยานเพื่อสุขภาพ"]
    assert titles("เดินวิ่ง") == []  # the old title is gone from the index


def test_mentors_and_review_comments_are_kept_with_the_project(services):
    projects, _ = services
    draft = call(projects, "create_draft", DRAFT)
    call(projects, "assign_mentor", draft["id"], {"mentor": "นายสมชาย พี่เลี้ยงดี"})
    project = call(projects, "comment", draft["id"], {"author": "นายสมชาย พี่เลี้ยงดี", "text": "ระบุกลุ่มเป้าหมาย"})
    assert project["mentor"] == "นายสมชาย พี่เลี้ยงดี"
    assert [(note["revision"], note["role"], note["text"]) for note in project["comments"]] == [
        (1, "mentor", "ระบุกลุ่มเป้าหมาย")
    ]


def plan_approved(plan_id: str, indicator_id: str, fiscal_year: int = 2567) -> dict:
    """A PlanApproved payload as the funds service publishes it."""
    return {
        "plan_id": plan_id,
        "fund_code": "L3363",
        "fund_name": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
        "subdistrict": "บ้านไร่",
        "district": "ศรีนครินทร์",
        "province": "พัทลุง",
        "region": 12,
        "programme_id": str(uuid.uuid4()),
        "programme_name": "แผนงานบูรณาการกลไกพัฒนาคุณภาพชีวิตระดับอำเภอ",
        "taxonomy_code": "district_9",
        "issue": "physical_activity",
        "issue_name": "กิจกรรมทางกาย",
        "fiscal_year": fiscal_year,
        "approved_on": "2023-12-08",
        "approved_at": "2023-12-08T03:00:00+00:00",
        "approved_by": "คณะกรรมการกองทุน",
        "meeting_ref": "ครั้งที่ 1/2567",
        "late": False,
        "indicators": [
            {"id": indicator_id, "name": "ร้อยละผู้สูงอายุที่ออกกำลังกาย", "unit": "ร้อยละ", "baseline": "35", "target": "60"}
        ],
    }


def complete_draft(plan_id: str, indicator_id: str) -> dict:
    return {
        **DRAFT,
        "plan_id": plan_id,
        "owner": {"name": "ชมรมผู้สูงอายุบ้านไร่", "kind": "citizen_group", "members": 25},
        "indicator_targets": [{"indicator_id": indicator_id, "target": "60"}],
        "activities": [{"name": "เต้นแอโรบิก", "start_date": DRAFT["start_date"], "end_date": DRAFT["end_date"]}],
        "budget_lines": [{"group": "materials", "description": "ค่าวัสดุ", "amount": "25000.50"}],
    }


def test_a_submission_is_checked_against_the_plan_replicated_from_plan_approved(services, amqp_uri):
    projects, engine = services
    plan_id, indicator_id = str(uuid.uuid4()), str(uuid.uuid4())
    approved = testing.make_event("PlanApproved", plan_approved(plan_id, indicator_id), subject=plan_id)
    testing.publish_event(amqp_uri, approved)
    testing.publish_event(amqp_uri, approved)  # a redelivery keeps one row
    testing.wait_for(lambda: testing.consumed("projects", "on_plan_approved", approved.type, "duplicate") >= 1)
    assert count(engine, orm.approved_plans, orm.approved_plans.c.plan_id == plan_id) == 1

    # The funds service never heard of this plan: only the replica can have let it through.
    draft = call(projects, "create_draft", complete_draft(plan_id, indicator_id))
    submitted = call(projects, "submit", draft["id"], {})
    assert submitted["status"] == "submitted"

    # The checks still apply to a replicated plan: another fiscal year is refused, nothing written.
    other_year, other_indicator = str(uuid.uuid4()), str(uuid.uuid4())
    event = testing.make_event("PlanApproved", plan_approved(other_year, other_indicator, 2568), subject=other_year)
    testing.publish_event(amqp_uri, event)
    testing.wait_for(lambda: count(engine, orm.approved_plans, orm.approved_plans.c.plan_id == other_year) == 1)
    mismatched = call(projects, "create_draft", complete_draft(other_year, other_indicator))
    with pytest.raises(InvalidInput) as refused:
        call(projects, "submit", mismatched["id"], {})
    assert "plan_id" in refused.value.errors
    assert call(projects, "get_project", mismatched["id"])["status"] == "draft"


def test_a_plan_not_replicated_is_asked_from_the_funds_service(services):
    projects, engine = services
    unknown = str(uuid.uuid4())  # neither replicated nor known to the funds service
    draft = call(projects, "create_draft", complete_draft(unknown, str(uuid.uuid4())))
    with pytest.raises(InvalidInput) as refused:
        call(projects, "submit", draft["id"], {})
    assert refused.value.errors["plan_id"] == [f"Plan {unknown} does not exist."]
    assert count(engine, orm.approved_plans) == 0
