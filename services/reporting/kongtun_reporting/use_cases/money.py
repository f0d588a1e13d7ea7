"""A fund's money per fiscal year from the ledger events; the spending pace and idle balance reports."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, select, update

from .. import orm
from ..domain import (
    DEFAULT_IDLE_MAX_PERCENT,
    DEFAULT_PACE_PERCENTS,
    carried_balances,
    idle_flagged,
    percent_text,
    quarter_of,
    spending_pace,
)
from .base import _AREA_FILTERS, _FUND_PLACE, _page, _place

_MONEY = orm.fund_money


_MONEY_COLUMNS = ("income", "committed", "spent_q1", "spent_q2", "spent_q3", "spent_q4", "spent_q5")


_ADD_MONEY = (
    update(_MONEY)
    .where(_MONEY.c.fund_code == bindparam("k_fund_code"), _MONEY.c.fiscal_year == bindparam("k_fiscal_year"))
    .values(**{name: getattr(_MONEY.c, name) + bindparam(f"d_{name}") for name in _MONEY_COLUMNS})
)


def _add_money(uow, data: dict, **deltas: int) -> None:
    """Add to a fund's money of a fiscal year.  A rebuild collects the sums in memory (``uow.money_batch``) and
    writes them once at the end: the same numbers, one insert per fund and year instead of one per event."""
    key = (data["fund_code"], data["fiscal_year"])
    batch = getattr(uow, "money_batch", None)
    if batch is not None:
        entry = batch.get(key)
        if entry is None:
            entry = batch[key] = {**_place(data), "fiscal_year": key[1], **dict.fromkeys(_MONEY_COLUMNS, 0)}
        for name, value in deltas.items():
            entry[name] += value
        return
    full = {name: deltas.get(name, 0) for name in _MONEY_COLUMNS}
    changed = uow.session.execute(
        _ADD_MONEY,
        {"k_fund_code": key[0], "k_fiscal_year": key[1], **{f"d_{name}": value for name, value in full.items()}},
    ).rowcount
    if changed == 0:
        uow.session.execute(_MONEY.insert().values(**_place(data), fiscal_year=key[1], **full))


def flush_money_batch(uow) -> None:
    batch = getattr(uow, "money_batch", None)
    if batch:
        uow.session.execute(_MONEY.insert(), list(batch.values()))
        batch.clear()


def record_ledger_entry(uow, event) -> None:
    """LedgerEntryRecorded: income and refunds add to the year's income; a disbursement is spent in the quarter
    of its date, and one paid against a commitment leaves the committed money."""
    data = event.data
    amount = data["amount_satang"]
    if data["kind"] in ("income", "refund"):
        _add_money(uow, data, income=amount)
        return
    quarter = quarter_of(data["fiscal_year"], date.fromisoformat(data["entry_date"]))
    deltas = {f"spent_q{quarter}": amount}
    if data.get("commitment_id"):
        deltas["committed"] = -amount
    _add_money(uow, data, **deltas)


def record_commitment(uow, event) -> None:
    _add_money(uow, event.data, committed=event.data["amount_satang"])


def record_release(uow, event) -> None:
    _add_money(uow, event.data, committed=-event.data["amount_satang"])


def _baht(satang: int | None) -> str | None:
    if satang is None:
        return None
    sign = "-" if satang < 0 else ""
    whole, fraction = divmod(abs(satang), 100)
    return f"{sign}{whole}.{fraction:02d}"


def fund_years(session, filters: dict) -> list[dict]:
    """Every fund × fiscal year with money under the area filters, with its carried balance (folded from the
    fund's earlier years, as the funds service does), money, spent, committed and available."""
    query = select(_MONEY).order_by(_MONEY.c.fund_code, _MONEY.c.fiscal_year)
    for key in _AREA_FILTERS:
        if filters.get(key) is not None:
            query = query.where(getattr(_MONEY.c, key) == filters[key])
    by_fund: dict[str, list[dict]] = {}
    for row in session.execute(query).mappings():
        by_fund.setdefault(row["fund_code"], []).append(dict(row))
    years = []
    for rows in by_fund.values():
        totals = {}
        for row in rows:
            row["spent"] = sum(row[f"spent_q{quarter}"] for quarter in range(1, 6))
            totals[row["fiscal_year"]] = (row["income"], row["committed"], row["spent"])
        carried = carried_balances(totals)
        for row in rows:
            row["carried"] = carried[row["fiscal_year"]]
            row["money"] = row["carried"] + row["income"]
            row["available"] = row["money"] - row["committed"] - row["spent"]
            if filters.get("fiscal_year") is None or row["fiscal_year"] == filters["fiscal_year"]:
                years.append(row)
    return years


def _fund_part(row: dict) -> dict:
    return {key: row[key] for key in (*_FUND_PLACE, "fiscal_year")}


def _rollup(items: list[dict], group_by: str | None, flag: str) -> list[dict] | None:
    """Funds and flagged funds per area (and fiscal year)."""
    if group_by is None:
        return None
    groups: dict = {}
    for item in items:
        key = (item[group_by], item["fiscal_year"])
        group = groups.setdefault(key, {"key": key[0], "fiscal_year": key[1], "funds": 0, flag: 0})
        group["funds"] += 1
        group[flag] += 1 if item[flag] else 0
    return [groups[key] for key in sorted(groups, key=lambda key: (str(key[0]), key[1]))]


def spending_pace_report(session, filters: dict, as_of: date, thresholds=DEFAULT_PACE_PERCENTS) -> dict:
    """Spending pace per fund × fiscal year as of a day: spent by the end of each ended quarter (Q2, Q3, Q4)
    against the year's money (carried balance + income, as the funds service's rule); ``behind`` when the latest
    ended quarter is under its threshold."""
    items = []
    for row in fund_years(session, filters):
        spent_by_quarter = {quarter: row[f"spent_q{quarter}"] for quarter in range(1, 6)}
        checks = spending_pace(row["fiscal_year"], row["money"], spent_by_quarter, as_of, thresholds)
        latest = checks[-1] if checks else None
        item = {
            **_fund_part(row),
            "income": _baht(row["income"]),
            "carried": _baht(row["carried"]),
            "money": _baht(row["money"]),
            "spent": _baht(row["spent"]),
            "committed": _baht(row["committed"]),
            "quarters": [
                {
                    "quarter": check.quarter,
                    "ends_on": check.ends_on.isoformat(),
                    "threshold_percent": check.threshold_percent,
                    "spent": _baht(check.spent),
                    "spent_percent": check.percent,
                    "behind": check.behind,
                }
                for check in checks
            ],
            "evaluated_quarter": latest.quarter if latest else None,
            "spent_percent": latest.percent if latest else None,
            "threshold_percent": latest.threshold_percent if latest else None,
            "behind": bool(latest and latest.behind),
        }
        if filters.get("behind") is None or item["behind"] == filters["behind"]:
            items.append(item)
    result = {"as_of": as_of.isoformat(), **_page(items, filters)}
    groups = _rollup(items, filters.get("group_by"), "behind")
    if groups is not None:
        result["group_by"], result["groups"] = filters["group_by"], groups
    return result


def idle_balance_report(session, filters: dict, max_percent: int = DEFAULT_IDLE_MAX_PERCENT) -> dict:
    """Available money (neither committed nor spent) per fund × fiscal year; ``flagged`` above ``max_percent`` of
    the year's money (carried balance + income), exactly as the funds service's idle_balance check."""
    items = []
    for row in fund_years(session, filters):
        item = {
            **_fund_part(row),
            "income": _baht(row["income"]),
            "carried": _baht(row["carried"]),
            "money": _baht(row["money"]),
            "committed": _baht(row["committed"]),
            "spent": _baht(row["spent"]),
            "available": _baht(row["available"]),
            "available_percent": percent_text(row["available"], row["money"]),
            "threshold_percent": max_percent,
            "flagged": idle_flagged(row["available"], row["money"], max_percent),
        }
        if filters.get("flagged") is None or item["flagged"] == filters["flagged"]:
            items.append(item)
    result = _page(items, filters)
    groups = _rollup(items, filters.get("group_by"), "flagged")
    if groups is not None:
        result["group_by"], result["groups"] = filters["group_by"], groups
    return result
