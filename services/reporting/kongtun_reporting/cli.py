"""``python -m kongtun_reporting.cli``: operators' commands of the reporting service.

    python -m kongtun_reporting.cli rebuild    # empty the read models, replay the event history into them

Reads KONGTUN_REPORTING_DATABASE_URL and KONGTUN_REGION like the service; migrates the database first.
The rebuild is one transaction: readers see the old numbers until it commits, then exactly the new ones.
Stop the service (or accept that events arriving meanwhile wait for the lock) while it runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session

from kongtun_common.config import Settings
from kongtun_common.db import UnitOfWork
from kongtun_common.engine import make_engine
from kongtun_common.events.envelope import source_for
from kongtun_common.migrations import upgrade

from . import orm, use_cases
from .domain import DEFAULT_FINANCIAL_REPORT_DAYS, DEFAULT_LEADS, DEFAULT_OVERDUE_STEPS
from .service import _days, report_days

MIGRATIONS = Path(__file__).parent / "migrations"


def rebuild(
    database_url: str,
    region: int = 12,
    leads=DEFAULT_LEADS,
    steps=DEFAULT_OVERDUE_STEPS,
    progress=None,
    fund_leads=None,
    report_days: int = DEFAULT_FINANCIAL_REPORT_DAYS,
):
    """Rebuild every read model from ``event_history``; returns (events replayed, seconds)."""
    upgrade(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    started = time.perf_counter()
    try:
        with Session(engine) as session:
            uow = UnitOfWork(session, orm.outbox, (source_for(region, "reporting"), region))
            try:
                replayed = use_cases.rebuild(
                    uow, leads, steps, progress=progress, fund_leads=fund_leads, report_days=report_days
                )
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        engine.dispose()
    return replayed, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kongtun_reporting.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rebuild_parser = commands.add_parser("rebuild", help="rebuild the read models from the event history")
    rebuild_parser.add_argument("--database-url", help="default: KONGTUN_REPORTING_DATABASE_URL")
    args = parser.parse_args(argv)
    settings = Settings.from_env("reporting")
    url = args.database_url or settings.database_url
    config = settings.extra  # the service's rules (KONGTUN_REPORTING_DUE_LEADS, ...), so notices match
    leads = _days(config, "REPORTING_DUE_LEADS", DEFAULT_LEADS)
    replayed, seconds = rebuild(
        url,
        settings.region,
        leads,
        _days(config, "REPORTING_OVERDUE_STEPS", DEFAULT_OVERDUE_STEPS),
        fund_leads=_days(config, "REPORTING_FUND_DUE_LEADS", leads),
        report_days=report_days(config),
    )
    rate = replayed / seconds if seconds else 0.0
    print(f"rebuilt the read models from {replayed} events in {seconds:.1f} s ({rate:,.0f} events/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
