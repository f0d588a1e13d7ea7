"""Scale-out: two processes each of projects, funds and reporting on one broker and one PostgreSQL share the
work as competing consumers (each process's metrics show it consumed), with no effect applied twice."""

from __future__ import annotations

import pytest
from system import SERVICES, System, check_consistency, report

pytestmark = pytest.mark.faults

SCALED = {"projects": 2, "funds": 2, "reporting": 2}


@pytest.fixture(scope="module")
def scaled(private_broker, private_postgres, tmp_path_factory):
    running = System(private_broker, private_postgres, tmp_path_factory.mktemp("scale-var"), copies=SCALED)
    try:
        running.start()
        running.prepare_funds()
        yield running
    finally:
        running.stop()


def test_two_processes_of_a_service_share_the_load_without_duplicate_effects(scaled):
    before = {
        (name, port): scaled.consumed(port, name)
        for name, port in [(name, scaled.ports[name]) for name in SCALED]
        + [(name, port) for name, _stack, port in scaled.extra]
    }
    traffic = scaled.traffic(projects=150, duration_s=45, officers=4, committee=2, runners=2).run()
    assert not traffic.failures, "\n".join(traffic.failures[:20])
    settle_s = scaled.wait_settled(timeout=180)
    figures = check_consistency(scaled, traffic)

    shares = {f"{name}:{port}": scaled.consumed(port, name) - applied for (name, port), applied in before.items()}
    for name in SCALED:
        mine = {key: value for key, value in shares.items() if key.startswith(f"{name}:")}
        assert len(mine) == 2 and all(value > 0 for value in mine.values()), f"{name} did not share: {mine}"
    assert set(SCALED) <= set(SERVICES)
    report("scale-out", {**traffic.summary(), **figures, "applied_per_process": shares, "settled_in_s": settle_s})
