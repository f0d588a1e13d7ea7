"""Fixtures for every test in the repository: real broker, real databases."""

from kongtun_common.green import monkey_patch

monkey_patch()  # nameko needs it before anything opens a socket

import os  # noqa: E402

import pytest  # noqa: E402

from kongtun_common import testing  # noqa: E402


@pytest.fixture(scope="session")
def amqp_uri():
    """A RabbitMQ vhost of this test run's own."""
    with testing.fresh_vhost() as uri:
        yield uri


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database of each supported kind (migrate it with testing.migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
        return
    if not testing.postgres_available():
        if os.environ.get("KONGTUN_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (KONGTUN_REQUIRE_POSTGRES) but not reachable")
        pytest.skip("PostgreSQL is not reachable at KONGTUN_TEST_POSTGRES_URL")
    with testing.fresh_postgres_database() as url:
        yield url


@pytest.fixture
def event_spy(amqp_uri):
    spy = testing.EventSpy(amqp_uri)
    yield spy
    spy.close()
