"""``python -m kongtun_funds.cli``: load geography, funds and issue taxonomies into the funds database.

    python -m kongtun_funds.cli import geography path/to/geography.csv
    python -m kongtun_funds.cli import funds path/to/funds.csv
    python -m kongtun_funds.cli taxonomies path/to/taxonomies.json
    python -m kongtun_funds.cli seed    # shipped data: regions 11-12, the 32 Pattani funds of seed 000, 4 taxonomies

Writes through the same use cases as the API, in one transaction per file: a file with an error
(reported as file:line:field) imports nothing, and importing the same file again changes nothing.
Events (FundRegistered) go to the outbox; the running funds service's relay publishes them.
Reads KONGTUN_FUNDS_DATABASE_URL and KONGTUN_REGION like the service; migrates the database first.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from kongtun_common.config import Settings
from kongtun_common.db import UnitOfWork
from kongtun_common.engine import make_engine
from kongtun_common.errors import KongtunError
from kongtun_common.events.envelope import source_for
from kongtun_common.fields import load_or_raise
from kongtun_common.migrations import upgrade

from . import orm, use_cases
from .schemas import TaxonomyIn

DATA = Path(__file__).parent / "data"
SHIPPED = (
    ("geography", DATA / "geography_regions_11_12.csv"),
    ("funds", DATA / "funds_pattani_seed000.csv"),
    ("taxonomies", DATA / "taxonomies.json"),
)


@contextmanager
def unit_of_work(database_url: str, region: int):
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            uow = UnitOfWork(session, orm.outbox, (source_for(region, "funds"), region))
            try:
                yield uow
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        engine.dispose()


def load_file(database_url: str, region: int, kind: str, path: Path) -> dict:
    with unit_of_work(database_url, region) as uow:
        if kind == "taxonomies":
            documents = json.loads(path.read_text(encoding="utf-8"))
            loaded = []
            for document in documents:
                loaded.append(use_cases.load_taxonomy(uow, load_or_raise(TaxonomyIn(), document))["code"])
            return {"kind": "taxonomies", "file": path.name, "loaded": loaded}
        return use_cases.import_csv(uow, kind, path.name, path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kongtun_funds.cli", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser("import", help="load a CSV file of geography or funds")
    importing.add_argument("kind", choices=["geography", "funds"])
    importing.add_argument("path", type=Path)
    taxonomies = commands.add_parser("taxonomies", help="load issue taxonomies from a JSON file")
    taxonomies.add_argument("path", type=Path)
    commands.add_parser("seed", help="load the data files shipped with the service")
    arguments = parser.parse_args(argv)

    settings = Settings.from_env("funds")
    upgrade(settings.database_url, Path(__file__).parent / "migrations")
    if arguments.command == "seed":
        jobs = list(SHIPPED)
    elif arguments.command == "taxonomies":
        jobs = [("taxonomies", arguments.path)]
    else:
        jobs = [(arguments.kind, arguments.path)]
    for kind, path in jobs:
        try:
            result = load_file(settings.database_url, settings.region, kind, path)
        except KongtunError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            for field, messages in getattr(exc, "errors", {}).items():
                for message in messages:
                    print(f"  {field}: {message}", file=sys.stderr)
            return 1
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
