"""Mentors per fund: the assignments and the mentors report."""

from __future__ import annotations

from sqlalchemy import select

from .. import orm
from ..domain import DEFAULT_MENTOR_MAX_FUNDS
from .base import _AREA_FILTERS, LABELS, _instant, _page, _place, _remember_fund


def record_mentor(uow, event) -> None:
    """MentorAssigned: one row per mentor and fund (a redelivery or a second assignment adds nothing)."""
    data = event.data
    table = orm.mentor_assignments
    exists = uow.session.execute(
        select(table.c.mentor_id).where(table.c.mentor_id == data["mentor_id"], table.c.fund_code == data["fund_code"])
    ).first()
    if exists is None:
        uow.session.execute(
            table.insert().values(
                mentor_id=data["mentor_id"],
                mentor_name=data["mentor_name"],
                level=data["level"],
                **_place(data),
                assigned_at=_instant(data["assigned_at"]),
            )
        )
    _remember_fund(uow, data["fund_code"], data["fund_name"], data)


def mentors_report(session, filters: dict, max_funds: int = DEFAULT_MENTOR_MAX_FUNDS) -> dict:
    """Mentors per fund (every known fund under the filters, with or without a mentor), the funds without one,
    the mentors with more than ``max_funds`` funds, and per-area counts when ``group_by`` is given."""
    funds, table = orm.fund_facts, orm.mentor_assignments
    known: dict[str, dict] = {}
    query = select(funds).order_by(funds.c.fund_code)
    for key in _AREA_FILTERS:
        if filters.get(key) is not None:
            query = query.where(getattr(funds.c, key) == filters[key])
    for row in session.execute(query).mappings():
        known[row["fund_code"]] = {**_place(row), "fund_name": row["name_th"], "mentors": []}
    assignments = select(table).order_by(table.c.fund_code, table.c.mentor_name, table.c.mentor_id)
    for key in _AREA_FILTERS:
        if filters.get(key) is not None:
            assignments = assignments.where(getattr(table.c, key) == filters[key])
    by_mentor: dict[str, dict] = {}
    for row in session.execute(assignments).mappings():
        fund = known.setdefault(row["fund_code"], {**_place(row), "mentors": []})
        fund["mentors"].append(
            {
                "mentor_id": row["mentor_id"],
                "mentor_name": row["mentor_name"],
                "level": row["level"],
                "level_th": LABELS["level"][row["level"]],
            }
        )
        mentor = by_mentor.setdefault(
            row["mentor_id"],
            {"mentor_id": row["mentor_id"], "mentor_name": row["mentor_name"], "level": row["level"], "funds": []},
        )
        mentor["funds"].append(row["fund_code"])
    items = []
    for code in sorted(known):
        fund = known[code]
        fund["mentor_count"] = len(fund["mentors"])
        if filters.get("without_mentor") is None or (fund["mentor_count"] == 0) == filters["without_mentor"]:
            items.append(fund)
    overloaded = [
        {**mentor, "fund_count": len(mentor["funds"])}
        for mentor in sorted(by_mentor.values(), key=lambda mentor: (mentor["mentor_name"], mentor["mentor_id"]))
        if len(mentor["funds"]) > max_funds
    ]
    result = {
        **_page(items, filters),
        "funds": len(known),
        "mentors": len(by_mentor),
        "funds_without_mentor": sorted(code for code, fund in known.items() if not fund["mentors"]),
        "max_funds_per_mentor": max_funds,
        "mentors_over_limit": overloaded,
    }
    group_by = filters.get("group_by")
    if group_by is not None:
        groups: dict = {}
        for fund in known.values():
            group = groups.setdefault(
                fund[group_by], {"key": fund[group_by], "funds": 0, "funds_without_mentor": 0, "assignments": 0}
            )
            group["funds"] += 1
            group["funds_without_mentor"] += 0 if fund["mentors"] else 1
            group["assignments"] += len(fund["mentors"])
        result["group_by"] = group_by
        result["groups"] = [groups[key] for key in sorted(groups, key=str)]
    return result
