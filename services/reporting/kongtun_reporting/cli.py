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
from .domain import DEFAULT_LEADS, DEFAULT_OVERDUE_STEPS

MIGRATIONS = Path(__file__).parent / "migrations"


def rebuild(database_url: str, region: int = 12, leads=DEFAULT_LEADS, steps=DEFAULT_OVERDUE_STEPS, progress=None):
    """Rebuild every read model from ``event_history``; returns (events replayed, seconds)."""
    upgrade(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    started = time.perf_counter()
    try:
        with Session(engine) as session:
            uow = UnitOfWork(session, orm.outbox, (source_for(region, "reporting"), region))
            try:
                replayed = use_cases.rebuild(uow, leads, steps, progress=progress)
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
    replayed, seconds = rebuild(url, settings.region)
    rate = replayed / seconds if seconds else 0.0
    print(f"rebuilt the read models from {replayed} events in {seconds:.1f} s ({rate:,.0f} events/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
