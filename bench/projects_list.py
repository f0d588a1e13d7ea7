"""List and search over many projects, through the gateway (issue 4).

Seeds the projects database with N projects (default 100,000; Thai titles, 14 funds of
one district, several fiscal years, issues and statuses) straight through the service's
own tables, starts the real stack on it, then measures at the gateway:

- a filtered page: ``GET /api/v1/projects?region=12&fiscal_year=2567&status=approved``;
- a Thai text search: ``GET /api/v1/projects?q=ออกกำลังกาย&province=พัทลุง``;
- a deep page: ``GET /api/v1/projects?fund_code=L3363&page=40``.

Prints p50 / p95 / p99 per query.  Loopback only, bounded in count and time.

    .venv/bin/python bench/projects_list.py [--projects 100000] [--requests 300] [--concurrency 4]
"""

from __future__ import annotations

import argparse
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

from load import run_load, use_token  # noqa: E402
from slice_submit import HOST, kongtun_env, machine, port_free  # noqa: E402

from kongtun_common import testing  # noqa: E402
from kongtun_common.engine import make_engine  # noqa: E402
from kongtun_common.migrations import upgrade  # noqa: E402
from kongtun_common.stack import Stack  # noqa: E402

ISSUES = [
    "physical_activity",
    "food",
    "alcohol_tobacco_drugs",
    "road_safety",
    "mental_health",
    "air_pollution",
    "waste",
    "emerging_diseases",
    "local_context",
]
TITLES = [
    "โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ",
    "โครงการอาหารปลอดภัยในโรงเรียน",
    "โครงการลดหวานมันเค็ม",
    "โครงการชุมชนปลอดบุหรี่",
    "โครงการขับขี่ปลอดภัย",
    "โครงการส่งเสริมสุขภาพจิตวัยรุ่น",
    "โครงการคัดแยกขยะในครัวเรือน",
    "โครงการเฝ้าระวังไข้เลือดออก",
]
STATUSES = ["draft", "submitted", "approved", "running", "completed"]


def seed(database_url: str, count: int) -> float:
    """Insert ``count`` projects through the service's own tables; return seconds taken."""
    import kongtun_projects
    from kongtun_projects import orm

    upgrade(database_url, Path(kongtun_projects.__file__).parent / "migrations")
    engine = make_engine(database_url)
    rng = random.Random(2567)
    started = time.perf_counter()
    now = datetime.now(UTC)
    batch = []
    content = {
        "indicator_targets": [],
        "activities": [],
        "budget_lines": [],
        "location": None,
        "documents": [],
        "reports_due": [],
    }
    with engine.begin() as connection:
        for number in range(count):
            fund = 3360 + number % 14
            start = date(2023, 10, 1) + timedelta(days=rng.randrange(300))
            batch.append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "version": 1,
                    "fund_code": f"L{fund}",
                    "fund_name": f"กองทุนหลักประกันสุขภาพตำบลที่ {fund}",
                    "subdistrict": "บ้านไร่",
                    "district": "ศรีนครินทร์",
                    "province": rng.choice(["พัทลุง", "สงขลา", "ตรัง"]),
                    "region": rng.choice([11, 12]),
                    "title": f"{rng.choice(TITLES)} ปี {2565 + number % 4}",
                    "fiscal_year": 2565 + number % 4,
                    "issue": rng.choice(ISSUES),
                    "spending_type": rng.randint(1, 5),
                    "owner_name": f"ชมรมสุขภาพหมู่ {number % 20 + 1}",
                    "owner_kind": "citizen_group",
                    "owner_contact": "",
                    "owner_members": 10,
                    "requested_amount": rng.randrange(500000, 5000000),
                    "start_date": start,
                    "end_date": start + timedelta(days=120),
                    "entered_by": "bench",
                    "entered_by_role": "fund_officer",
                    "plan_id": None,
                    "content": content,
                    "code": None,
                    "status": rng.choice(STATUSES),
                    "revision": 1,
                    "approved_amount": None,
                    "approved_by": None,
                    "meeting_ref": None,
                    "budget_status": "none",
                    "budget_note": "",
                    "mentor": None,
                    "submitted_at": None,
                    "approved_at": None,
                    "updated_at": now - timedelta(seconds=number),
                }
            )
            if len(batch) == 5000:
                connection.execute(orm.projects.insert(), batch)
                batch = []
        if batch:
            connection.execute(orm.projects.insert(), batch)
    engine.dispose()
    return time.perf_counter() - started


QUERIES = {
    "filtered page": "/api/v1/projects?region=12&fiscal_year=2567&status=approved",
    "Thai text search": "/api/v1/projects?q=" + quote("ออกกำลังกาย") + "&province=" + quote("พัทลุง"),
    "deep page": "/api/v1/projects?fund_code=L3363&page=40&per_page=50",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--gateway-port", type=int, default=18200)
    parser.add_argument("--metrics-port", type=int, default=19201)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    for port in (args.gateway_port, *range(args.metrics_port, args.metrics_port + 4)):
        if not port_free(port):
            print(f"bench: port {port} is in use", file=sys.stderr)
            return 2
    figures = {
        "machine": machine(),
        "projects": args.projects,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "queries": {},
    }
    with tempfile.TemporaryDirectory(prefix="kongtun-bench-list-") as var, testing.fresh_vhost() as amqp_uri:
        var_dir = Path(var)
        figures["seed_seconds"] = round(seed(f"sqlite:///{var_dir / 'projects.db'}", args.projects), 1)
        stack = Stack(kongtun_env(amqp_uri, var_dir, args), log_dir=var_dir)
        try:
            stack.start_all()
            use_token(stack.admin_token())
            for name, path in QUERIES.items():
                run_load(
                    "warm-up", HOST, args.gateway_port, lambda _i, p=path: ("GET", p, None), 20, args.concurrency
                ).raise_for_errors()
                result = run_load(
                    name,
                    HOST,
                    args.gateway_port,
                    lambda _i, p=path: ("GET", p, None),
                    args.requests,
                    args.concurrency,
                    deadline_s=120,
                )
                result.raise_for_errors()
                total = json.loads(
                    run_load(
                        "total", HOST, args.gateway_port, lambda _i, p=path: ("GET", p, None), 1, 1, keep_bodies=True
                    ).bodies[0]
                )["total"]
                figures["queries"][name] = {
                    "path": path,
                    "matches": total,
                    "p50_ms": round(result.p50 * 1000, 1),
                    "p95_ms": round(result.percentile(0.95) * 1000, 1),
                    "p99_ms": round(result.p99 * 1000, 1),
                    "req_s": round(result.throughput, 1),
                }
        finally:
            stack.stop_all()
    print(f"Projects list and search over {args.projects:,} projects (gateway, SQLite)")
    print(
        f"  machine: {figures['machine']}; seeded in {figures['seed_seconds']} s; "
        f"{args.requests} requests per query at concurrency {args.concurrency}"
    )
    print(f"  {'query':<18} {'matches':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7}")
    for name, item in figures["queries"].items():
        print(
            f"  {name:<18} {item['matches']:>8} {item['p50_ms']:>8} {item['p95_ms']:>8} {item['p99_ms']:>8} "
            f"{item['req_s']:>7}"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
