"""Project facts and running totals, programme membership and plans; the summaries, plan coverage and approval
lead time read from them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import String, bindparam, func, literal, select, update

from .. import orm
from ..domain import STATUS_AFTER, plan_coverage, supersedes
from .base import _FUND_KNOWN, AREA, TOTAL_DIMENSIONS, _instant, _remember_fund


def record_fund(uow, event) -> None:
    data = event.data
    if uow.session.execute(_FUND_KNOWN, {"b_fund_code": data["fund_code"]}).first() is None:
        uow.session.execute(
            orm.fund_facts.insert(),
            {"fund_code": data["fund_code"], "name_th": data["name_th"], **{key: data[key] for key in AREA}},
        )


_FACTS = orm.project_facts


_TOTALED = ("province", "region", "fiscal_year", "status", "requested_amount", "approved_amount", *TOTAL_DIMENSIONS)


_SELECT_FACT = select(_FACTS.c.status_time, *(getattr(_FACTS.c, name) for name in _TOTALED)).where(
    _FACTS.c.project_id == bindparam("project_id")
)


_TOTALS = orm.project_totals


_TOTALS_KEY = ("dimension", "value", "province", "fiscal_year", "status")


_ADD_TOTALS = (
    update(_TOTALS)
    .where(*(getattr(_TOTALS.c, name) == bindparam(f"k_{name}") for name in _TOTALS_KEY))
    .values(
        projects=_TOTALS.c.projects + bindparam("d_projects"),
        requested_amount=_TOTALS.c.requested_amount + bindparam("d_requested"),
        approved_amount=_TOTALS.c.approved_amount + bindparam("d_approved"),
    )
)


def _count_in_totals(uow, facts, sign: int) -> None:
    """Add (sign 1) or take out (sign -1) one project's facts from the running totals.  A rebuild
    (``uow.totals_later``) skips them and recomputes the totals once from the facts at the end."""
    if getattr(uow, "totals_later", False):
        return
    for dimension in ("", *TOTAL_DIMENSIONS):
        value = "" if not dimension or facts[dimension] is None else str(facts[dimension])
        key = {
            "dimension": dimension,
            "value": value,
            "province": facts["province"],
            "fiscal_year": facts["fiscal_year"],
            "status": facts["status"],
        }
        delta = {
            "d_projects": sign,
            "d_requested": sign * facts["requested_amount"],
            "d_approved": sign * (facts["approved_amount"] or 0),
        }
        changed = uow.session.execute(_ADD_TOTALS, {**{f"k_{k}": v for k, v in key.items()}, **delta}).rowcount
        if changed == 0:
            uow.session.execute(
                _TOTALS.insert().values(
                    **key,
                    region=facts["region"],
                    projects=delta["d_projects"],
                    requested_amount=delta["d_requested"],
                    approved_amount=delta["d_approved"],
                )
            )


_UPDATE_FACTS = update(_FACTS).where(_FACTS.c.project_id == bindparam("b_project_id"))


def record_project(uow, event, status: str | None = None) -> None:
    """Upsert a project's facts from any project lifecycle event; the newest event sets status and amounts."""
    data = event.data
    status = status or STATUS_AFTER[event.name]
    event_time = _instant(event.time)
    current = uow.session.execute(_SELECT_FACT, {"project_id": data["project_id"]}).first()
    moments = {}
    if event.name == "ProjectSubmitted":
        moments["submitted_at"] = _instant(data.get("submitted_at"))
    if event.name == "ProjectApproved":
        moments["approved_at"] = _instant(data.get("approved_at"))
    if data.get("project_code"):
        moments["project_code"] = data["project_code"]
    if current is not None and not supersedes(current.status_time, current.status, event_time, status):
        if moments:  # an older event still tells when things happened
            uow.session.execute(_UPDATE_FACTS, {"b_project_id": data["project_id"], **moments})
        return
    values = {
        "fund_code": data["fund_code"],
        "fund_name": data.get("fund_name"),
        **{key: data[key] for key in AREA},
        "title": data.get("title"),
        "owner_name": data["owner"]["name"],
        "fiscal_year": data["fiscal_year"],
        "issue": data["issue"],
        "spending_type": data["spending_type"],
        "owner_kind": data["owner"]["kind"],
        "status": status,
        "status_time": event_time,
        "requested_amount": data["requested_amount_satang"],
        "approved_amount": None if event.name == "ProjectApprovalRevoked" else data.get("approved_amount_satang"),
        "start_date": date.fromisoformat(data["start_date"]) if data.get("start_date") else None,
        "end_date": date.fromisoformat(data["end_date"]) if data.get("end_date") else None,
        **moments,
    }
    if current is None:
        uow.session.execute(_FACTS.insert(), {"project_id": data["project_id"], **values})
    else:
        _count_in_totals(uow, current._mapping, -1)
        uow.session.execute(_UPDATE_FACTS, {"b_project_id": data["project_id"], **values})
    _count_in_totals(uow, values, 1)


def record_programme_member(uow, event) -> None:
    """FundJoinedProgramme: the fund is in the programme (plan coverage counts it)."""
    data = event.data
    table = orm.programme_funds
    exists = uow.session.execute(
        select(table.c.fund_code).where(
            table.c.programme_id == data["programme_id"], table.c.fund_code == data["fund_code"]
        )
    ).first()
    if exists is None:
        uow.session.execute(
            table.insert().values(
                programme_id=data["programme_id"],
                fund_code=data["fund_code"],
                programme_name=data["programme_name"],
                taxonomy_code=data["taxonomy_code"],
            )
        )
    _remember_fund(uow, data["fund_code"], data["fund_name"], data)


def record_plan(uow, event) -> None:
    """PlanApproved: the fund has an approved plan for one issue of a programme in a fiscal year."""
    data = event.data
    table = orm.plan_facts
    if uow.session.execute(select(table.c.plan_id).where(table.c.plan_id == data["plan_id"])).first() is not None:
        return
    uow.session.execute(
        table.insert().values(
            plan_id=data["plan_id"],
            fund_code=data["fund_code"],
            programme_id=data["programme_id"],
            issue=data["issue"],
            fiscal_year=data["fiscal_year"],
            approved_on=date.fromisoformat(data["approved_on"]),
            late=1 if data.get("late") else 0,
        )
    )
    members = orm.programme_funds
    member = uow.session.execute(
        select(members.c.fund_code).where(
            members.c.programme_id == data["programme_id"], members.c.fund_code == data["fund_code"]
        )
    ).first()
    if member is None:  # the plan arrived before the agreement (another queue): the plan says it is a member
        uow.session.execute(
            members.insert().values(
                programme_id=data["programme_id"],
                fund_code=data["fund_code"],
                programme_name=data["programme_name"],
                taxonomy_code=data["taxonomy_code"],
            )
        )


FUND_FILTERS = ("fund_code", *AREA)


_TOTALS_FILTERS = ("region", "province", "fiscal_year", "status")


def _totals_dimension(wanted: dict, group_by: str | None) -> str | None:
    """The running-totals dimension that answers this summary, or None when only the facts can."""
    if any(key not in _TOTALS_FILTERS and key not in TOTAL_DIMENSIONS for key in wanted):
        return None
    if group_by is not None and group_by not in _TOTALS_FILTERS and group_by not in TOTAL_DIMENSIONS:
        return None
    dimensions = {key for key in wanted if key in TOTAL_DIMENSIONS}
    if group_by in TOTAL_DIMENSIONS:
        dimensions.add(group_by)
    if len(dimensions) > 1:
        return None
    return dimensions.pop() if dimensions else ""


def _dimension_value(dimension: str, value: str):
    if dimension == "spending_type":
        return int(value)
    return value if value != "" else None


def summary(session, filters: dict, use_totals: bool = True) -> dict:
    """Projects and budgets under ``filters`` (any of GROUP_BY), optionally grouped by one of GROUP_BY.

    Province-level questions (national, regional, provincial; by year, status and one more dimension) read the
    running totals; questions about a fund or subdistrict, or crossing two dimensions, read the project facts
    through their indexes.  Both give the same numbers (tested)."""
    facts = orm.project_facts
    funds = orm.fund_facts
    filters = dict(filters)
    group_by = filters.pop("group_by", None)
    wanted = {key: value for key, value in filters.items() if value is not None}
    fund_conditions = [getattr(funds.c, key) == value for key, value in wanted.items() if key in FUND_FILTERS]
    fund_count = session.execute(select(func.count()).select_from(funds).where(*fund_conditions)).scalar()
    dimension = _totals_dimension(wanted, group_by) if use_totals else None
    if dimension is not None:
        table = orm.project_totals
        conditions = [table.c.dimension == dimension, table.c.projects > 0]
        for key, value in wanted.items():
            column = table.c.value if key in TOTAL_DIMENSIONS else getattr(table.c, key)
            conditions.append(column == (str(value) if key in TOTAL_DIMENSIONS else value))
        totals = (
            func.sum(table.c.projects),
            func.sum(table.c.requested_amount),
            func.sum(table.c.approved_amount),
        )
        if group_by in (None, "status"):
            keys = [table.c.status]
        elif group_by in TOTAL_DIMENSIONS:
            keys = [table.c.status, table.c.value]
        else:
            keys = [table.c.status, getattr(table.c, group_by)]
        rows = [
            (row[0], _dimension_value(dimension, row[1]), *row[2:])
            if len(row) == 5 and group_by == dimension
            else tuple(row)
            for row in session.execute(select(*keys, *totals).where(*conditions).group_by(*keys)).all()
        ]
    else:
        project_conditions = [getattr(facts.c, key) == value for key, value in wanted.items()]
        totals = (
            func.count(),
            func.coalesce(func.sum(facts.c.requested_amount), 0),
            func.coalesce(func.sum(facts.c.approved_amount), 0),
        )
        keys = [facts.c.status] if group_by in (None, "status") else [facts.c.status, getattr(facts.c, group_by)]
        rows = session.execute(select(*keys, *totals).where(*project_conditions).group_by(*keys)).all()
    by_status: dict[str, int] = {}
    groups: dict = {}
    requested = approved = 0
    for row in rows:
        status, count, row_requested, row_approved = row[0], int(row[-3]), int(row[-2]), int(row[-1])
        by_status[status] = by_status.get(status, 0) + count
        requested += row_requested
        approved += row_approved
        if group_by is not None:
            key = row[1] if len(row) == 5 else status
            group = groups.setdefault(key, {"key": key, "projects": 0, "requested_amount": 0, "approved_amount": 0})
            group["projects"] += count
            group["requested_amount"] += row_requested
            group["approved_amount"] += row_approved
    result = {
        "funds": fund_count,
        "projects": sum(by_status.values()),
        "projects_by_status": by_status,
        "requested_amount": requested,
        "approved_amount": approved,
    }
    if group_by is not None:
        result["group_by"] = group_by
        result["groups"] = sorted(groups.values(), key=lambda group: (group["key"] is None, str(group["key"])))
    return result


def coverage(session, fiscal_year: int, programme_id: str | None = None, issues: list[str] | None = None) -> dict:
    """Plan coverage: funds with an approved plan for every issue of their programme ÷ the programme's funds.

    The events do not carry a programme's issue list; unless ``issues`` is given, a programme's issues are
    those any of its funds has an approved plan for in the year (the whole taxonomy once one fund covers it).
    """
    members_table, plans_table = orm.programme_funds, orm.plan_facts
    query = select(members_table)
    if programme_id:
        query = query.where(members_table.c.programme_id == programme_id)
    programmes: dict[str, dict] = {}
    for row in session.execute(query).mappings():
        entry = programmes.setdefault(
            row["programme_id"],
            {"programme_id": row["programme_id"], "programme_name": row["programme_name"], "members": set()},
        )
        entry["members"].add(row["fund_code"])
    plans_query = select(plans_table.c.programme_id, plans_table.c.fund_code, plans_table.c.issue).where(
        plans_table.c.fiscal_year == fiscal_year
    )
    if programme_id:
        plans_query = plans_query.where(plans_table.c.programme_id == programme_id)
    planned: dict[str, dict[str, set[str]]] = {}
    for row in session.execute(plans_query):
        planned.setdefault(row.programme_id, {}).setdefault(row.fund_code, set()).add(row.issue)
    items = []
    total_covered = total_funds = 0
    for key, entry in sorted(programmes.items(), key=lambda item: item[1]["programme_name"]):
        plans = planned.get(key, {})
        programme_issues = set(issues) if issues else set().union(*plans.values()) if plans else set()
        covered, count = plan_coverage(entry["members"], plans, programme_issues)
        total_covered += covered
        total_funds += count
        items.append(
            {
                "programme_id": key,
                "programme_name": entry["programme_name"],
                "issues": sorted(programme_issues),
                "funds": count,
                "funds_covered": covered,
                "funds_not_covered": sorted(
                    fund for fund in entry["members"] if not programme_issues <= plans.get(fund, set())
                ),
                **_ratio(covered, count),
            }
        )
    return {
        "fiscal_year": fiscal_year,
        "funds": total_funds,
        "funds_covered": total_covered,
        **_ratio(total_covered, total_funds),
        "programmes": items,
    }


def _ratio(part: int, whole: int) -> dict:
    if not whole:
        return {"coverage": None, "coverage_percent": None}
    percent = (part * 10000) // whole  # hundredths of a percent, truncated: 13/14 → 92.85
    return {"coverage": part / whole, "coverage_percent": f"{percent // 100}.{percent % 100:02d}"}


def recompute_totals(session) -> None:
    """Rebuild the running totals from project_facts in one pass per dimension (for bulk loads)."""
    facts, table = orm.project_facts, orm.project_totals
    session.execute(table.delete())
    for dimension in ("", *TOTAL_DIMENSIONS):
        value = func.coalesce(func.cast(getattr(facts.c, dimension), String), "") if dimension else literal("")
        rows = session.execute(
            select(
                value,
                facts.c.province,
                facts.c.fiscal_year,
                facts.c.status,
                func.min(facts.c.region),
                func.count(),
                func.sum(facts.c.requested_amount),
                func.coalesce(func.sum(facts.c.approved_amount), 0),
            ).group_by(value, facts.c.province, facts.c.fiscal_year, facts.c.status)
        ).all()
        if rows:
            session.execute(
                table.insert(),
                [
                    {
                        "dimension": dimension,
                        "value": row[0],
                        "province": row[1],
                        "fiscal_year": row[2],
                        "status": row[3],
                        "region": row[4],
                        "projects": row[5],
                        "requested_amount": int(row[6]),
                        "approved_amount": int(row[7]),
                    }
                    for row in rows
                ],
            )


def approval_lead_time(session, filters: dict) -> dict:
    """Days from (first) submission to approval of the projects under ``filters`` that have both."""
    facts = orm.project_facts
    filters = {key: value for key, value in filters.items() if value is not None and key != "group_by"}
    conditions = [getattr(facts.c, key) == value for key, value in filters.items()]
    conditions += [facts.c.submitted_at.is_not(None), facts.c.approved_at.is_not(None)]
    if session.get_bind().dialect.name == "postgresql":
        days = func.extract("epoch", facts.c.approved_at - facts.c.submitted_at) / 86400.0
    else:
        days = func.julianday(facts.c.approved_at) - func.julianday(facts.c.submitted_at)
    count, average, longest = session.execute(
        select(func.count(), func.avg(days), func.max(days)).where(*conditions)
    ).one()
    return {
        "projects": int(count),
        "average_days": round(float(average), 1) if average is not None else None,
        "longest_days": round(float(longest), 1) if longest is not None else None,
    }
