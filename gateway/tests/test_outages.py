"""An outage of a dependency is a 503 with Retry-After, never a 500 (found by tests/faults)."""

import json

from kombu.exceptions import OperationalError as BrokerDown
from sqlalchemy.exc import OperationalError as DatabaseDown

from kongtun_gateway.http import problem_for


def test_a_broker_or_database_outage_answers_503_with_retry_after():
    for outage in (BrokerDown("[Errno 111] ECONNREFUSED"), DatabaseDown("SELECT 1", {}, Exception("refused"))):
        response = problem_for(outage)
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        body = json.loads(response.get_data())
        assert body["type"] == "urn:kongtun:problem:service-unavailable"
        assert "ECONNREFUSED" not in response.get_data(as_text=True)  # no internals leak


def test_a_bug_is_still_a_500():
    assert problem_for(ZeroDivisionError("division by zero")).status_code == 500
