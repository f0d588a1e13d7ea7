"""Helpers shared by the funds service's use cases: ids, today (Asia/Bangkok), paging, looking funds up."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import and_, func, select

from kongtun_common.errors import InvalidInput, NotFound
from kongtun_common.thai import BANGKOK

from .. import domain, orm
from ..domain import Fund

PLACE_KEYS = ("fund_code", "fund_name", "subdistrict", "district", "province", "region")


FUND_FIELDS = ("code", "name_th", "name_en", "subdistrict", "district", "province", "region", "registered_at")


def today() -> date:
    return datetime.now(BANGKOK).date()


def new_id() -> str:
    return str(uuid.uuid4())


def _uuid_or_404(value, resource: str, field: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(resource, str(value), field=field) from None


def paginate(session, statement, page: int, per_page: int, mapper=dict) -> dict:
    total = session.execute(select(func.count()).select_from(statement.order_by(None).subquery())).scalar()
    rows = session.execute(statement.limit(per_page).offset((page - 1) * per_page)).mappings().all()
    return {"items": [mapper(row) for row in rows], "page": page, "per_page": per_page, "total": total}


def _place_filters(statement, table, filters: dict):
    for name in ("region", "province", "district"):
        if filters.get(name) is not None and name in table.c:
            statement = statement.where(table.c[name] == filters[name])
    return statement


def _insert_missing(session, table, key: dict, values: dict | None = None) -> bool:
    condition = and_(*(table.c[name] == value for name, value in key.items()))
    if session.execute(select(func.count()).select_from(table).where(condition)).scalar():
        return False
    session.execute(table.insert().values(**key, **(values or {})))
    return True


def _lao_out(row) -> dict:
    return {**dict(row), "kind_th": domain.LAO_KINDS[row["kind"]]}


def _fund(session, code: str, field: str = "fund_code", lock: bool = False) -> Fund:
    statement = select(orm.funds).where(orm.funds.c.code == code)
    if lock:
        statement = statement.with_for_update()
    row = session.execute(statement).mappings().first()
    if row is None:
        raise NotFound("fund", code, field=field)
    return Fund(**dict(row))


def _known_fund(session, code: str, field: str = "fund_code", lock: bool = False) -> Fund:
    """A fund named in a request body: unknown is invalid input naming the field."""
    try:
        return _fund(session, code, field, lock)
    except NotFound:
        raise InvalidInput({field: [f"Fund {code} is not registered."]}) from None
