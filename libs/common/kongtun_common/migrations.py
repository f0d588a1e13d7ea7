"""Alembic helpers: every service migrates its own database the same way."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def alembic_config(database_url: str, script_location: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, script_location: Path, revision: str = "head") -> None:
    """Bring the database to ``revision``; creates a SQLite file's folder if needed."""
    if database_url.startswith("sqlite:///"):
        Path(database_url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url, script_location), revision)


def _render_item(type_, obj, autogen_context):
    """Autogenerate writes UtcDateTime as the plain column type it stores: migrations stay framework-free."""
    from .engine import UtcDateTime

    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_env(context, metadata) -> None:
    """The body of every service's ``migrations/env.py``."""
    from .engine import make_engine

    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=metadata, render_as_batch=True, render_item=_render_item
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
