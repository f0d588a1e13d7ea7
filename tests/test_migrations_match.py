"""Each deployable's migrations build exactly the tables its code declares (SQLite and PostgreSQL)."""

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kongtun_common import testing
from kongtun_common.engine import make_engine

PACKAGES = ("kongtun_funds", "kongtun_projects", "kongtun_notifications", "kongtun_reporting", "kongtun_gateway")


def _metadata(package):
    tables = "auth" if package.__name__ == "kongtun_gateway" else "orm"  # the gateway's tables are its tokens and users
    return importlib.import_module(f"{package.__name__}.{tables}").metadata


# Alembic's own table, and the search indexes migrations build outside SQLAlchemy's metadata (projects 0004: an FTS5
# table on SQLite, trigram GIN indexes on PostgreSQL).
def _bookkeeping(difference) -> bool:
    if not isinstance(difference, tuple):
        return False
    kind, item = difference[0], difference[1]
    if kind == "remove_table":
        return item.name == "alembic_version" or item.name.startswith("project_search")
    return kind == "remove_index" and item.name.endswith("_trgm")


@pytest.mark.parametrize("name", PACKAGES)
def test_migrations_build_what_the_code_declares(name, database_url):
    package = importlib.import_module(name)
    url = testing.migrated(database_url, package)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = [diff for diff in compare_metadata(context, _metadata(package)) if not _bookkeeping(diff)]
    finally:
        engine.dispose()
    assert differences == []
