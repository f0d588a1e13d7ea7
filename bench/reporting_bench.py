"""Reporting at national size (issue 5): summaries at the gateway, a rebuild from the history, a streamed export.

1. Seeds the reporting read model with N projects (default 1,000,000: 7,700 funds in 77 provinces and 13
   regions, 10 fiscal years, 9 issues, every status) straight into its tables, starts the real stack on it and
   measures p50 / p95 / p99 at the gateway of ``GET /api/v1/reporting/summary`` with typical filters and
   group-bys.
2. Streams ``GET /api/v1/reporting/exports/projects.csv?fiscal_year=2567`` (100,000 rows at the default size)
   and reports the gateway's and the reporting service's peak RSS (VmHWM) before and after, with the bytes and
   the rows per second.
3. Writes E events (default 1,000,000: FundRegistered, ProjectSubmitted, ProjectApproved, ProjectStarted) into
   ``event_history`` of a fresh database and times ``python -m kongtun_reporting.cli rebuild``'s function:
   events per second.

    .venv/bin/python bench/reporting_bench.py [--projects 1000000] [--events 1000000] [--requests 300]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import AUTHORIZATION, run_load, use_token  # noqa: E402
from slice_submit import HOST, kongtun_env, machine, port_free  # noqa: E402

from kongtun_common import testing  # noqa: E402
from kongtun_common.engine import make_engine  # noqa: E402
from kongtun_common.events.envelope import new_event, source_for  # noqa: E402
from kongtun_common.migrations import upgrade  # noqa: E402
from kongtun_common.stack import Stack  # noqa: E402

ISSUES = [
    "food_system",
    "physical_activity",
    "alcohol_tobacco_drugs",
    "road_safety",
    "mental_health",
    "air_pollution",
    "waste",
    "emerging_diseases",
    "local_context",
]
STATUSES = ["submitted", "approved", "approved", "running", "running", "completed", "completed", "cancelled"]
KINDS = ["health_unit", "lao_division", "state_agency", "citizen_group", "citizen_group", "fund_secretariat"]
FUNDS = 7700
PROVINCES = 77
YEARS = list(range(2561, 2571))


def fund_area(number: int) -> dict:
    province = number % PROVINCES
    district = number % (PROVINCES * 12)
    return {
        "fund_code": f"L{number:04d}",
        "subdistrict": f"ตำบลที่ {number}",
        "district": f"อำเภอที่ {district}",
        "province": f"จังหวัดที่ {province}",
        "region": province % 13 + 1,
    }


def migrate(url: str):
    import kongtun_reporting

    upgrade(url, Path(kongtun_reporting.__file__).parent / "migrations")


def seed_read_model(url: str, count: int) -> float:
    from kongtun_reporting import orm

    migrate(url)
    engine = make_engine(url)
    rng = random.Random(2567)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            orm.fund_facts.insert(),
            [{**fund_area(n), "name_th": f"กองทุนหลักประกันสุขภาพตำบลที่ {n}"} for n in range(FUNDS)],
        )
        batch = []
        for number in range(count):
            fund = fund_area(rng.randrange(FUNDS))
            status = rng.choice(STATUSES)
            requested = rng.randrange(500000, 5000000)
            start = date(2023, 10, 1) + timedelta(days=rng.randrange(300))
            batch.append(
                {
                    "project_id": str(uuid.UUID(int=rng.getrandbits(128))),
                    **fund,
                    "fund_name": f"กองทุนหลักประกันสุขภาพ{fund['subdistrict']}",
                    "title": "โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ",
                    "owner_name": "ชมรมผู้สูงอายุ",
                    "project_code": f"{fund['fund_code']}-2567-{number:06d}",
                    "fiscal_year": YEARS[number % len(YEARS)],
                    "issue": rng.choice(ISSUES),
                    "spending_type": rng.randint(1, 5),
                    "owner_kind": rng.choice(KINDS),
                    "status": status,
                    "requested_amount": requested,
                    "approved_amount": None if status == "submitted" else requested,
                    "start_date": start,
                    "end_date": start + timedelta(days=120),
                    "submitted_at": None,
                    "approved_at": None,
                    "status_time": None,
                }
            )
            if len(batch) == 10000:
                connection.execute(orm.project_facts.insert(), batch)
                batch = []
        if batch:
            connection.execute(orm.project_facts.insert(), batch)
    from sqlalchemy.orm import Session

    from kongtun_reporting.use_cases import recompute_totals

    with Session(engine) as session:
        recompute_totals(session)
        session.commit()
    engine.dispose()
    return time.perf_counter() - started


def seed_history(url: str, count: int) -> float:
    """``count`` events in event_history, as the keep_event_history handler stores them."""
    from kongtun_common.testing import sample_project_facts
    from kongtun_reporting import orm

    migrate(url)
    engine = make_engine(url)
    rng = random.Random(2568)
    started = time.perf_counter()
    source = source_for(12, "bench")
    received = datetime(2024, 1, 1, tzinfo=UTC)
    made = 0

    def row(name, data, subject):
        nonlocal made
        made += 1
        event = new_event(name, data, subject=subject, source=source, region=12, correlation_id="bench")
        return {
            "event_id": event.id,
            "type": event.type,
            "source": event.source,
            "subject": event.subject,
            "time": event.time,
            "received_at": received + timedelta(microseconds=made),
            "envelope": event.to_envelope(),
        }

    with engine.begin() as connection:
        batch = []
        for number in range(min(FUNDS, count)):
            area = fund_area(number)
            batch.append(
                row(
                    "FundRegistered",
                    {**area, "name_th": f"กองทุนที่ {number}", "name_en": None, "registered_at": "2023-10-01T00:00:00Z"},
                    area["fund_code"],
                )
            )
        while made < count:
            project_id = str(uuid.UUID(int=rng.getrandbits(128)))
            area = fund_area(rng.randrange(FUNDS))
            facts = sample_project_facts(project_id, **{k: v for k, v in area.items()}, issue=rng.choice(ISSUES))
            facts["fund_name"] = f"กองทุนที่ {area['fund_code']}"
            batch.append(
                row(
                    "ProjectSubmitted",
                    {**facts, "submitted_at": "2024-01-02T00:00:00Z", "submitted_by": "bench"},
                    project_id,
                )
            )
            approved = {
                **facts,
                "project_code": f"{area['fund_code']}-2567-0001",
                "approved_amount_satang": facts["requested_amount_satang"],
                "approved_at": "2024-01-08T00:00:00Z",
                "approved_by": "คณะกรรมการกองทุน",
                "meeting_ref": "ครั้งที่ 2/2567",
                "reports_due": [{"report": "final", "period": 1, "due_date": "2024-07-08"}],
            }
            batch.append(row("ProjectApproved", approved, project_id))
            started_data = {
                key: value
                for key, value in approved.items()
                if key not in ("approved_at", "approved_by", "meeting_ref", "reports_due")
            }
            started_data.update(changed_at="2024-01-10T00:00:00Z", changed_by="bench", reason="")
            batch.append(row("ProjectStarted", started_data, project_id))
            if len(batch) >= 9000:
                connection.execute(orm.event_history.insert(), batch)
                batch = []
        if batch:
            connection.execute(orm.event_history.insert(), batch)
    engine.dispose()
    return time.perf_counter() - started


QUERIES = {
    "national, by status": "/api/v1/reporting/summary",
    "national, one year, by issue": "/api/v1/reporting/summary?fiscal_year=2567&group_by=issue",
    "region, by province": "/api/v1/reporting/summary?region=12&group_by=province",
    "province, one year, by district": "/api/v1/reporting/summary?province="
    + quote("จังหวัดที่ 5")
    + "&fiscal_year=2567&group_by=district",
    "one fund, by year": "/api/v1/reporting/summary?fund_code=L0042&group_by=fiscal_year",
}


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def stream_export(port: int, path: str) -> tuple[int, int, float]:
    """(bytes, rows, seconds) of one streamed export, read in 64 KiB chunks."""
    connection = http.client.HTTPConnection(HOST, port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", path, headers=dict(AUTHORIZATION))
    response = connection.getresponse()
    assert response.status == 200, response.read()[:500]
    size = lines = 0
    while chunk := response.read(65536):
        size += len(chunk)
        lines += chunk.count(b"\n")
    connection.close()
    return size, lines - 1, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--gateway-port", type=int, default=18300)
    parser.add_argument("--metrics-port", type=int, default=19301)
    parser.add_argument("--skip", choices=("summary", "rebuild"), action="append", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    for port in (args.gateway_port, *range(args.metrics_port, args.metrics_port + 4)):
        if not port_free(port):
            print(f"bench: port {port} is in use", file=sys.stderr)
            return 2
    figures = {"machine": machine(), "projects": args.projects, "events": args.events, "queries": {}}
    if "summary" not in args.skip:
        with tempfile.TemporaryDirectory(prefix="kongtun-bench-reporting-") as var, testing.fresh_vhost() as amqp:
            var_dir = Path(var)
            figures["seed_seconds"] = round(seed_read_model(f"sqlite:///{var_dir / 'reporting.db'}", args.projects), 1)
            stack = Stack(kongtun_env(amqp, var_dir, args), log_dir=var_dir)
            try:
                stack.start_all()
                use_token(stack.admin_token())
                for name, path in QUERIES.items():
                    request = lambda _i, p=path: ("GET", p, None)  # noqa: E731
                    run_load("warm-up", HOST, args.gateway_port, request, 10, args.concurrency).raise_for_errors()
                    result = run_load(
                        name, HOST, args.gateway_port, request, args.requests, args.concurrency, deadline_s=300
                    )
                    result.raise_for_errors()
                    figures["queries"][name] = {
                        "path": path,
                        "p50_ms": round(result.p50 * 1000, 1),
                        "p95_ms": round(result.percentile(0.95) * 1000, 1),
                        "p99_ms": round(result.p99 * 1000, 1),
                    }
                pids = {name: stack.processes[name].pid for name in ("gateway", "reporting")}
                before = {name: peak_rss_kib(pid) for name, pid in pids.items()}
                small = stream_export(
                    args.gateway_port, "/api/v1/reporting/exports/projects.csv?fiscal_year=2567&fund_code=L0042"
                )
                size, rows, seconds = stream_export(
                    args.gateway_port, "/api/v1/reporting/exports/projects.csv?fiscal_year=2567&format=people"
                )
                after = {name: peak_rss_kib(pid) for name, pid in pids.items()}
                figures["export"] = {
                    "rows": rows,
                    "mib": round(size / 2**20, 1),
                    "seconds": round(seconds, 1),
                    "rows_per_s": round(rows / seconds),
                    "small_export_rows": small[1],
                    "peak_rss_mib_before": {k: round(v / 1024, 1) for k, v in before.items()},
                    "peak_rss_mib_after": {k: round(v / 1024, 1) for k, v in after.items()},
                }
            finally:
                stack.stop_all()
    if "rebuild" not in args.skip:
        from kongtun_reporting.cli import rebuild

        with tempfile.TemporaryDirectory(prefix="kongtun-bench-rebuild-") as var:
            url = f"sqlite:///{Path(var) / 'reporting.db'}"
            figures["history_seed_seconds"] = round(seed_history(url, args.events), 1)
            replayed, seconds = rebuild(url)
            figures["rebuild"] = {
                "events": replayed,
                "seconds": round(seconds, 1),
                "events_per_s": round(replayed / seconds),
            }
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
