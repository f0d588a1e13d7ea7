"""Funds: a fund's balance with 100,000 ledger entries (p50/p99), and CSV import speed (funds per second).

Runs the funds service's own use cases against a fresh, migrated database (SQLite file, and PostgreSQL
when the local server answers), without the broker: what is measured is the database work.

1. Balance: 100,000 entries for one fund over 5 fiscal years (incomes, commitments, releases,
   disbursements).  The first 2,000 go through the real write path (``record_entry`` and the commitment use
   case's ledger write: entry row + running totals in one transaction), which is timed too; the rest are
   bulk-inserted with the same running totals.  Then ``balance_out`` (what GET /funds/{code}/balance runs)
   is timed N times, against summing the entries themselves (``balance_from_entries``), and the two are
   checked equal.
2. Import: a CSV of F synthetic funds in Thai (UTF-8) imported in one transaction (validation, geography,
   local government, fund row, FundRegistered in the outbox), then the same file again (nothing changes).

    .venv/bin/python bench/funds_ledger.py [--entries 100000] [--queries 2000] [--funds 2000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

import kongtun_funds
from kongtun_common import testing
from kongtun_common.db import UnitOfWork
from kongtun_common.engine import make_engine
from kongtun_common.events.envelope import source_for
from kongtun_funds import domain, orm, use_cases
from kongtun_funds.domain import LedgerEntry

FUND = {
    "code": "L3363",
    "name_th": "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
}
YEARS = (2563, 2564, 2565, 2566, 2567)


@contextmanager
def uow_on(engine):
    with Session(engine) as session:
        uow = UnitOfWork(session, orm.outbox, (source_for(12, "funds"), 12))
        yield uow
        session.commit()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def synthetic_entries(count: int, rng: random.Random):
    """A plausible mix: every year starts with income; then commitments, disbursements, releases."""
    for index in range(count):
        year = YEARS[index * len(YEARS) // count]
        roll = rng.random()
        if roll < 0.15:
            yield LedgerEntry(
                str(uuid.uuid4()),
                "L3363",
                year,
                "income",
                rng.choice((40100, 40200, 40300, 40400)),
                rng.randint(100_00, 50_000_00),
                date(year - 544, 10, 15),
                "income",
            )
        elif roll < 0.55:
            commitment = str(uuid.uuid4())
            code = domain.spending_code(rng.choice((1, 2, 3, 5)))
            yield LedgerEntry(
                str(uuid.uuid4()),
                "L3363",
                year,
                "commitment",
                code,
                rng.randint(10_00, 900_00),
                date(year - 543, 1, 8),
                "commitment",
                commitment_id=commitment,
            )
        elif roll < 0.9:
            yield LedgerEntry(
                str(uuid.uuid4()),
                "L3363",
                year,
                "disbursement",
                domain.spending_code(rng.randint(1, 5)),
                rng.randint(10_00, 500_00),
                date(year - 543, 3, 8),
                "paid",
            )
        else:
            yield LedgerEntry(
                str(uuid.uuid4()),
                "L3363",
                year,
                "refund",
                40500,
                rng.randint(1_00, 50_00),
                date(year - 543, 6, 8),
                "refund",
            )


def bench_balance(url: str, entries: int, queries: int, through_use_case: int) -> dict:
    engine = make_engine(url)
    rng = random.Random(3363)
    with uow_on(engine) as uow:
        use_cases.register(uow, dict(FUND))
    generated = list(synthetic_entries(entries, rng))
    started = time.perf_counter()
    for item in generated[:through_use_case]:  # the real write path, one transaction per entry
        with uow_on(engine) as uow:
            use_cases._fund(uow.session, "L3363", lock=True)
            use_cases._write_entry(uow, item, citizen_group=item.kind == "commitment" and rng.random() < 0.5)
    write_seconds = time.perf_counter() - started
    rows, totals = [], {}
    now = datetime.now(UTC)
    for item in generated[through_use_case:]:
        rows.append(
            {
                "entry_id": item.id,
                "fund_code": item.fund_code,
                "fiscal_year": item.fiscal_year,
                "kind": item.kind,
                "code": item.code,
                "amount_satang": item.amount,
                "entry_date": item.entry_date,
                "description": item.description,
                "project_id": None,
                "commitment_id": item.commitment_id,
                "recorded_at": now,
            }
        )
        for bucket, code, delta in item.deltas(False):
            key = (item.fiscal_year, bucket, code)
            totals[key] = totals.get(key, 0) + delta
    with uow_on(engine) as uow:
        for start in range(0, len(rows), 5000):
            uow.session.execute(orm.ledger_entries.insert(), rows[start : start + 5000])
        for (year, bucket, code), delta in totals.items():
            use_cases._add_totals(uow.session, "L3363", year, [(bucket, code, delta)])
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")

    def timed(function, times: int) -> list[float]:
        samples = []
        with Session(engine) as session:
            for _ in range(times):
                begun = time.perf_counter()
                function(session)
                samples.append((time.perf_counter() - begun) * 1000)
        return samples

    with Session(engine) as session:
        stored = use_cases.balance(session, "L3363", 2567)
        summed = use_cases.balance_from_entries(session, "L3363", 2567)
        count = session.query(orm.ledger_entries).count()
    assert (stored.available, stored.income, stored.spent) == (summed.available, summed.income, summed.spent)
    fast = timed(lambda session: use_cases.balance_out(session, "L3363", 2567), queries)
    slow = timed(lambda session: use_cases.balance_from_entries(session, "L3363", 2567), max(20, queries // 20))
    engine.dispose()
    return {
        "entries": count,
        "write_path_entries_per_second": round(through_use_case / write_seconds, 1),
        "balance_ms": {"p50": round(percentile(fast, 0.5), 3), "p99": round(percentile(fast, 0.99), 3)},
        "sum_of_entries_ms": {"p50": round(percentile(slow, 0.5), 2), "p99": round(percentile(slow, 0.99), 2)},
        "available_baht": stored.available / 100,
    }


def funds_csv(count: int) -> str:
    lines = ["code,name_th,name_en,lao_name_th,lao_kind,subdistrict,district,province,region"]
    for n in range(1, count + 1):
        tambon = f"ตำบลทดสอบ{n:04d}"
        lines.append(
            f"L{n:04d},กองทุนหลักประกันสุขภาพองค์การบริหารส่วน{tambon},Test Fund {n},องค์การบริหารส่วน{tambon},sao,"
            f"{tambon},อำเภอทดสอบ{n % 40:02d},ปัตตานี,12"
        )
    return "\n".join(lines) + "\n"


def bench_import(url: str, funds: int) -> dict:
    engine = make_engine(url)
    content = funds_csv(funds)
    results = {}
    for attempt in ("first", "again"):
        started = time.perf_counter()
        with uow_on(engine) as uow:
            outcome = use_cases.import_csv(uow, "funds", "bench.csv", content)
        seconds = time.perf_counter() - started
        results[attempt] = {"seconds": round(seconds, 2), "funds_per_second": round(funds / seconds, 1), **outcome}
    engine.dispose()
    assert results["first"]["created"] == funds and results["again"]["unchanged"] == funds
    return results


def run(database: str, args) -> dict:
    if database == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="kongtun-bench-"))
        urls = (f"sqlite:///{folder / 'balance.db'}", f"sqlite:///{folder / 'import.db'}")
        return {
            "balance": bench_balance(testing.migrated(urls[0], kongtun_funds), args.entries, args.queries, 2000),
            "import": bench_import(testing.migrated(urls[1], kongtun_funds), args.funds),
        }
    with testing.fresh_postgres_database() as balance_url, testing.fresh_postgres_database() as import_url:
        return {
            "balance": bench_balance(testing.migrated(balance_url, kongtun_funds), args.entries, args.queries, 2000),
            "import": bench_import(testing.migrated(import_url, kongtun_funds), args.funds),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--funds", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
        "sqlite": run("sqlite", args),
    }
    if testing.postgres_available():
        report["postgresql"] = run("postgresql", args)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
