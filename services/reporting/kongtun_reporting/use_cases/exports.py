"""The streamed exports of project facts."""

from __future__ import annotations

from sqlalchemy import select

from .. import orm

FUNDED = ("approved", "running", "suspended", "completed", "terminated")


EXPORT_COLUMNS = (
    "project_id",
    "project_code",
    "title",
    "fund_code",
    "fund_name",
    "subdistrict",
    "district",
    "province",
    "region",
    "fiscal_year",
    "issue",
    "spending_type",
    "owner_kind",
    "owner_name",
    "status",
    "requested_amount",
    "approved_amount",
    "start_date",
    "end_date",
    "submitted_at",
    "approved_at",
)


def export_page(session, filters: dict, after: str | None, limit: int) -> list[dict]:
    """One page of project facts (keyset on the project id) for the streamed exports; money in satang."""
    facts = orm.project_facts
    filters = dict(filters)
    funded = filters.pop("funded", False)
    filters.pop("group_by", None)
    query = select(*(getattr(facts.c, name) for name in EXPORT_COLUMNS)).order_by(facts.c.project_id).limit(limit)
    for key, value in filters.items():
        if value is not None:
            query = query.where(getattr(facts.c, key) == value)
    if funded:
        query = query.where(facts.c.status.in_(FUNDED))
    if after:
        query = query.where(facts.c.project_id > after)
    rows = []
    for row in session.execute(query).mappings():
        item = dict(row)
        for key in ("start_date", "end_date", "submitted_at", "approved_at"):
            item[key] = item[key].isoformat() if item[key] else None
        rows.append(item)
    return rows
