"""The funds service on the real broker, with SQLite and PostgreSQL."""

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select

import kongtun_funds
from kongtun_common import testing
from kongtun_common.engine import make_engine
from kongtun_common.errors import InvalidInput, NotFound
from kongtun_funds import orm
from kongtun_funds.service import FundsService

BAN_RAI = {
    "code": "L3363",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
}


@pytest.fixture
def funds(container_factory, amqp_uri, database_url):
    url = testing.migrated(database_url, kongtun_funds)
    container = container_factory(FundsService, testing.container_config(amqp_uri, url))
    container.start()
    engine = make_engine(url)
    yield container, engine
    engine.dispose()


def rows(engine, table):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def test_registering_a_fund_stores_it_and_announces_it(funds, event_spy):
    container, engine = funds
    with entrypoint_hook(container, "register_fund") as register:
        fund = register(BAN_RAI)
    assert fund["code"] == "L3363" and fund["region"] == 12
    assert fund["name_th"] == "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่"

    [event] = event_spy.collect(1, event_type="kongtun.FundRegistered.v1")
    assert event["subject"] == "L3363"
    assert event["source"] == "/kongtun/region/12/funds"
    assert event["data"]["district"] == "ศรีนครินทร์"
    with entrypoint_hook(container, "get_fund") as get_fund:
        assert get_fund("L3363") == fund


def test_a_duplicate_code_is_refused_and_writes_nothing(funds):
    container, engine = funds
    with entrypoint_hook(container, "register_fund") as register:
        register(BAN_RAI)
        with pytest.raises(InvalidInput) as refused:
            register({**BAN_RAI, "name_th": "กองทุนอื่น"})
    assert list(refused.value.errors) == ["code"]
    assert rows(engine, orm.funds) == 1
    assert rows(engine, orm.outbox) == 1


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({**BAN_RAI, "region": 11}, ["region"]),
        ({**BAN_RAI, "code": "3363"}, ["code"]),
        ({key: value for key, value in BAN_RAI.items() if key != "name_th"}, ["name_th"]),
        ({**BAN_RAI, "region": "twelve", "district": ""}, ["district", "region"]),
        ({**BAN_RAI, "colour": "blue"}, ["colour"]),
    ],
)
def test_bad_input_names_the_fields_and_writes_nothing(funds, payload, fields):
    container, engine = funds
    with entrypoint_hook(container, "register_fund") as register, pytest.raises(InvalidInput) as refused:
        register(payload)
    assert sorted(refused.value.errors) == fields
    assert rows(engine, orm.funds) == 0
    assert rows(engine, orm.outbox) == 0


def test_an_unknown_fund_is_not_found(funds):
    container, _ = funds
    with entrypoint_hook(container, "get_fund") as get_fund, pytest.raises(NotFound) as missing:
        get_fund("L0000")
    assert missing.value.field == "fund_code"
