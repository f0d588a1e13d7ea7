"""The consumer checks a body against its contract once per process, and never remembers a bad one."""

import pytest

from kongtun_common.events import consumer
from kongtun_common.events.contracts import ContractViolation
from kongtun_common.events.envelope import decode
from kongtun_common.testing import make_event

FUND = {
    "fund_code": "L3363",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "name_en": None,
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
    "region": 12,
    "registered_at": "2026-11-23T04:00:00+00:00",
}


def fund_registered_body(**changes) -> bytes:
    event = make_event("FundRegistered", {**FUND, **changes}, subject=FUND["fund_code"])
    return event.to_json().encode()


def test_a_body_that_breaks_its_contract_is_refused_every_time():
    good = decode(fund_registered_body())
    bad_body = fund_registered_body(region=99)  # outside 1-13
    assert "region" in good["data"]
    for _ in range(2):
        with pytest.raises(ContractViolation):
            consumer._validate_once(bad_body, decode(bad_body))
    assert bad_body not in consumer._CHECKED_BODIES


def test_a_good_body_is_remembered_and_the_table_stays_bounded():
    body = fund_registered_body()
    consumer._validate_once(body, decode(body))
    assert body in consumer._CHECKED_BODIES
    consumer._validate_once(body, decode(body))  # the repeat passes without a second check
    for n in range(consumer.CHECKED_BODIES_KEPT + 10):
        other = fund_registered_body(name_th=f"กองทุน {n}")
        consumer._validate_once(other, decode(other))
    assert len(consumer._CHECKED_BODIES) <= consumer.CHECKED_BODIES_KEPT
    assert body not in consumer._CHECKED_BODIES  # the oldest went first
