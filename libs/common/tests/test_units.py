"""Unit tests of the shared plumbing: no I/O."""

from datetime import date

import pytest
from marshmallow import Schema

from kongtun_common.errors import InvalidInput, flatten_marshmallow_errors
from kongtun_common.events.contracts import ContractViolation, validate_envelope
from kongtun_common.events.envelope import EnvelopeError, decode, event_type, parse_event_type
from kongtun_common.fields import Baht, load_or_raise
from kongtun_common.testing import make_event
from kongtun_common.thai import fiscal_year_be, format_baht, thai_date


class Amount(Schema):
    amount = Baht(required=True)


@pytest.mark.parametrize(
    ("given", "satang"),
    [("25000.50", 2500050), (25000, 2500000), ("0.01", 1), ("2091567", 209156700), ("1.10", 110)],
)
def test_baht_becomes_integer_satang(given, satang):
    assert Amount().load({"amount": given}) == {"amount": satang}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("-1", "Must not be negative."),
        ("1.005", "Must have at most two decimals (satang)."),
        ("abc", "Must be an amount in baht, e.g. 12500.50."),
        (True, "Must be an amount in baht, e.g. 12500.50."),
        ("NaN", "Must be an amount in baht, e.g. 12500.50."),
        ("1e12", "Must not exceed 100,000,000,000 baht."),
    ],
)
def test_bad_amounts_are_refused_with_the_field_named(given, message):
    with pytest.raises(InvalidInput) as refused:
        load_or_raise(Amount(), {"amount": given})
    assert refused.value.errors == {"amount": [message]}


def test_baht_is_written_with_two_decimals():
    assert Amount().dump({"amount": 2500050}) == {"amount": "25000.50"}
    assert format_baht(209156700) == "2,091,567.00"


def test_thai_dates_use_the_buddhist_era():
    assert thai_date(date(2023, 12, 8)) == "8 ธันวาคม 2566"
    assert fiscal_year_be(date(2023, 10, 1)) == 2567
    assert fiscal_year_be(date(2024, 9, 30)) == 2567
    assert fiscal_year_be(date(2024, 10, 1)) == 2568


def test_nested_marshmallow_errors_are_flattened_to_field_paths():
    flat = flatten_marshmallow_errors({"owner": {"name": ["Missing data for required field."]}, "x": ["bad"]})
    assert flat == {"owner.name": ["Missing data for required field."], "x": ["bad"]}


def test_event_types_are_versioned():
    assert event_type("ProjectApproved", 2) == "kongtun.ProjectApproved.v2"
    assert parse_event_type("kongtun.ReportDue.v1") == ("ReportDue", 1)
    with pytest.raises(EnvelopeError):
        parse_event_type("ProjectApproved")


def _fund_registered():
    return make_event(
        "FundRegistered",
        {
            "fund_code": "L3363",
            "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
            "name_en": None,
            "subdistrict": "บ้านไร่",
            "district": "ศรีนครินทร์",
            "province": "พัทลุง",
            "region": 12,
            "registered_at": "2024-03-08T09:00:00+00:00",
        },
        subject="L3363",
    )


def test_a_valid_envelope_passes_its_contract_and_keeps_thai_text():
    envelope = decode(_fund_registered().to_json().encode("utf-8"))
    assert validate_envelope(envelope) == ("FundRegistered", 1)
    assert envelope["data"]["name_th"] == "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่"
    assert envelope["specversion"] == "1.0" and envelope["region"] == "12"
    assert envelope["dataschema"] == "urn:kongtun:event:FundRegistered:v1"


def test_a_payload_that_breaks_its_contract_is_named():
    envelope = _fund_registered().to_envelope()
    envelope["data"]["region"] = 14
    with pytest.raises(ContractViolation, match="data.region"):
        validate_envelope(envelope)


def test_an_unknown_event_type_has_no_contract():
    envelope = _fund_registered().to_envelope()
    envelope["type"] = "kongtun.FundRegistered.v9"
    envelope["dataschema"] = "urn:kongtun:event:FundRegistered:v9"
    with pytest.raises(ContractViolation, match="no contract"):
        validate_envelope(envelope)


@pytest.mark.parametrize("body", [b"\xff\xfe", b"not json", b"[1, 2]", 42])
def test_undecodable_bodies_are_envelope_errors(body):
    with pytest.raises(EnvelopeError):
        decode(body)


def test_an_outage_is_told_apart_from_a_bug():
    from kombu.exceptions import OperationalError as BrokerDown
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.exc import OperationalError as DatabaseDown

    from kongtun_common.errors import ServiceUnavailable, is_unavailable

    outages = [BrokerDown("ECONNREFUSED"), DatabaseDown("SELECT 1", {}, Exception("server closed the connection"))]
    outages += [ConnectionResetError(104, "reset"), ServiceUnavailable("funds")]
    bugs = [ValueError("x"), KeyError("fund_code"), IntegrityError("INSERT", {}, Exception("duplicate key"))]
    assert all(is_unavailable(exc) for exc in outages)
    assert not any(is_unavailable(exc) for exc in bugs)
