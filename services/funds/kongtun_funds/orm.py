"""The funds service's tables (its own database)."""

from sqlalchemy import Column, Integer, MetaData, String, Table

from kongtun_common.db import backbone_tables
from kongtun_common.engine import UtcDateTime

metadata = MetaData()

funds = Table(
    "funds",
    metadata,
    Column("code", String(5), primary_key=True),
    Column("name_th", String(300), nullable=False),
    Column("name_en", String(300), nullable=True),
    Column("subdistrict", String(300), nullable=False),
    Column("district", String(300), nullable=False, index=True),
    Column("province", String(300), nullable=False, index=True),
    Column("region", Integer, nullable=False, index=True),
    Column("registered_at", UtcDateTime, nullable=False),
)

outbox, processed_events = backbone_tables(metadata)
