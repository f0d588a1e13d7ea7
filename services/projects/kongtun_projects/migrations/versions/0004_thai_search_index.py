"""an index for Thai substring search: FTS5 trigram on SQLite, pg_trgm GIN indexes on PostgreSQL

Thai is written without spaces between words, so a search is a substring match; a trigram index answers it
without reading every project (patterns of 3 characters or more).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 05:10:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SEARCHED = ("title", "owner_name", "code")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        columns = ", ".join(SEARCHED)
        new = ", ".join(f"new.{column}" for column in SEARCHED)
        old = ", ".join(f"old.{column}" for column in SEARCHED)
        op.execute(f"CREATE VIRTUAL TABLE project_search USING fts5({columns}, content='projects', tokenize='trigram')")
        op.execute(
            "CREATE TRIGGER project_search_insert AFTER INSERT ON projects BEGIN "
            f"INSERT INTO project_search(rowid, {columns}) VALUES (new.rowid, {new}); END"
        )
        op.execute(
            "CREATE TRIGGER project_search_delete AFTER DELETE ON projects BEGIN "
            f"INSERT INTO project_search(project_search, rowid, {columns}) VALUES ('delete', old.rowid, {old}); END"
        )
        op.execute(
            f"CREATE TRIGGER project_search_update AFTER UPDATE OF {columns} ON projects BEGIN "
            f"INSERT INTO project_search(project_search, rowid, {columns}) VALUES ('delete', old.rowid, {old}); "
            f"INSERT INTO project_search(rowid, {columns}) VALUES (new.rowid, {new}); END"
        )
        op.execute("INSERT INTO project_search(project_search) VALUES ('rebuild')")  # the projects already there
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in SEARCHED:
            op.execute(f"CREATE INDEX ix_projects_{column}_trgm ON projects USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS project_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS project_search")
    elif dialect == "postgresql":
        for column in SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS ix_projects_{column}_trgm")
