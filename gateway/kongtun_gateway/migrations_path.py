"""Where the gateway's Alembic migrations are (for ``kongtun-admin tokens``)."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
