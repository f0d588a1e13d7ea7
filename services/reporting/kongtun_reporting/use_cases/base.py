"""Helpers and constants shared by the reporting service's use cases: areas, labels, instants, notice sets, paging."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import bindparam, select, update

from kongtun_common.engine import utcnow

from .. import orm

TOTAL_DIMENSIONS = ("issue", "spending_type", "owner_kind", "district")


AREA = ("subdistrict", "district", "province", "region")


log = logging.getLogger(__package__)  # "kongtun_reporting.use_cases", as before the split


# Statements built once: building them per event costs more than running them (rebuild profile).
_FUND_KNOWN = select(orm.fund_facts.c.fund_code).where(orm.fund_facts.c.fund_code == bindparam("b_fund_code"))


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _remember_fund(uow, fund_code: str, name: str, data: dict) -> None:
    if uow.session.execute(_FUND_KNOWN, {"b_fund_code": fund_code}).first() is None:
        uow.session.execute(
            orm.fund_facts.insert(), {"fund_code": fund_code, "name_th": name, **{key: data[key] for key in AREA}}
        )


def _text(values) -> str:
    return ",".join(str(value) for value in sorted(values))


def _leads(text: str) -> frozenset[int]:
    return frozenset(int(value) for value in text.split(",") if value)


def _claim_notice(session, table, row, column: str, now_sent) -> bool:
    """Record the notices in ``column`` (``notices_sent`` or ``overdue_notices_sent``) as sent, unless another
    process changed them since ``row`` was read: the claim is in the transaction that puts the notice in the outbox,
    so a notice is published once whatever restarts or runs beside it."""
    claimed = session.execute(
        update(table)
        .where(table.c.id == row["id"], getattr(table.c, column) == row[column])
        .values({column: _text(now_sent), "last_notice_at": utcnow()})
    )
    return claimed.rowcount == 1


LABELS = json.loads((Path(__file__).parent.parent / "data" / "labels.json").read_text("utf-8"))


_FUND_PLACE = ("fund_code", "fund_name", *AREA)


def _place(data: dict) -> dict:
    """A fund's code, name and area from an event (FundRegistered calls the name ``name_th``)."""
    return {
        "fund_code": data["fund_code"],
        "fund_name": data.get("fund_name") or data.get("name_th"),
        **{key: data[key] for key in AREA},
    }


_AREA_FILTERS = ("fund_code", "subdistrict", "district", "province", "region")


def _page(items: list, filters: dict) -> dict:
    page, per_page = filters.get("page") or 1, filters.get("per_page") or 50
    start = (page - 1) * per_page
    return {"items": items[start : start + per_page], "page": page, "per_page": per_page, "total": len(items)}
