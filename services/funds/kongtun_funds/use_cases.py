"""Use cases of the funds service: each runs in one unit of work."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kongtun_common.engine import utcnow
from kongtun_common.errors import InvalidInput, NotFound

from . import orm
from .domain import Fund, register_fund


def register(uow, details: dict) -> Fund:
    fund = register_fund(details, uow.region, utcnow())
    exists = uow.session.execute(select(orm.funds.c.code).where(orm.funds.c.code == fund.code)).first()
    if exists:
        raise InvalidInput({"code": [f"Fund {fund.code} is already registered."]})
    try:
        uow.session.execute(orm.funds.insert().values(**_row(fund)))
        uow.session.flush()
    except IntegrityError:
        raise InvalidInput({"code": [f"Fund {fund.code} is already registered."]}) from None
    uow.publish("FundRegistered", fund.registered_event(), subject=fund.code)
    return fund


def get(session, code: str) -> Fund:
    row = session.execute(select(orm.funds).where(orm.funds.c.code == code)).mappings().first()
    if row is None:
        raise NotFound("fund", code, field="fund_code")
    return Fund(**dict(row))


def _row(fund: Fund) -> dict:
    return {
        "code": fund.code,
        "name_th": fund.name_th,
        "name_en": fund.name_en,
        "subdistrict": fund.subdistrict,
        "district": fund.district,
        "province": fund.province,
        "region": fund.region,
        "registered_at": fund.registered_at,
    }
