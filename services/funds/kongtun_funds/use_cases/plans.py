"""Use cases of programmes and plans: issue taxonomies, programmes, agreements (MOUs), annual plans."""

from __future__ import annotations

from datetime import date

from sqlalchemy import false, or_, select

from kongtun_common.engine import utcnow
from kongtun_common.errors import Conflict, InvalidInput, NotFound

from .. import domain, orm
from ..domain import Plan
from .base import _fund, _insert_missing, _known_fund, _lao_out, _place_filters, _uuid_or_404, new_id, paginate, today
from .registry import ensure_lao

# ------------------------------------------------------------------ taxonomies, programmes, agreements


def load_taxonomy(uow, details: dict) -> dict:
    """Load an issue taxonomy; loading the same one again changes nothing."""
    session = uow.session
    existing = session.execute(select(orm.taxonomies).where(orm.taxonomies.c.code == details["code"])).first()
    if existing is not None:
        current = get_taxonomy(session, details["code"])
        wanted = [
            {"code": issue["code"], "name_th": issue["name_th"], "name_en": issue.get("name_en")}
            for issue in details["issues"]
        ]
        if current["issues"] != wanted or current["name_th"] != details["name_th"]:
            raise Conflict(f"Taxonomy {details['code']} is already loaded with other issues.", "loaded")
        return current
    session.execute(
        orm.taxonomies.insert().values(code=details["code"], name_th=details["name_th"], source=details["source"])
    )
    for position, issue in enumerate(details["issues"]):
        session.execute(
            orm.taxonomy_issues.insert().values(
                taxonomy_code=details["code"],
                code=issue["code"],
                position_no=position,
                name_th=issue["name_th"],
                name_en=issue.get("name_en"),
            )
        )
    return get_taxonomy(session, details["code"])


def get_taxonomy(session, code: str) -> dict:
    row = session.execute(select(orm.taxonomies).where(orm.taxonomies.c.code == code)).mappings().first()
    if row is None:
        raise NotFound("taxonomy", code, field="taxonomy_code")
    issues = session.execute(
        select(orm.taxonomy_issues.c.code, orm.taxonomy_issues.c.name_th, orm.taxonomy_issues.c.name_en)
        .where(orm.taxonomy_issues.c.taxonomy_code == code)
        .order_by(orm.taxonomy_issues.c.position_no)
    ).mappings()
    return {**dict(row), "issues": [dict(issue) for issue in issues]}


def list_taxonomies(session) -> dict:
    codes = session.execute(select(orm.taxonomies.c.code).order_by(orm.taxonomies.c.code)).scalars().all()
    return {"items": [get_taxonomy(session, code) for code in codes]}


def create_programme(uow, details: dict) -> dict:
    session = uow.session
    try:
        get_taxonomy(session, details["taxonomy_code"])
    except NotFound:
        raise InvalidInput({"taxonomy_code": [f"Taxonomy {details['taxonomy_code']} is not loaded."]}) from None
    province, district = details.get("province"), details.get("district")
    hub_id = None
    if details.get("hub"):
        hub = details["hub"]
        if not (hub.get("province") or province) or not (hub.get("district") or district):
            raise InvalidInput({"hub.province": ["Name the hub's province and district (or the programme's)."]})
        hub_id = ensure_lao(session, hub, province, district, None)
    programme_id = new_id()
    session.execute(
        orm.programmes.insert().values(
            id=programme_id,
            name_th=details["name_th"],
            kind=details["kind"],
            taxonomy_code=details["taxonomy_code"],
            province=province,
            district=district,
            hub_lao_id=hub_id,
            partners=list(details.get("partners", [])),
            created_at=utcnow(),
        )
    )
    for index, member in enumerate(details.get("members", [])):
        if not (member.get("province") or province) or not (member.get("district") or district):
            raise InvalidInput({f"members.{index}.province": ["Name the member's province and district."]})
        member_id = ensure_lao(session, member, province, district, None)
        _insert_missing(session, orm.programme_members, {"programme_id": programme_id, "lao_id": member_id})
    return get_programme(session, programme_id)


def get_programme(session, programme_id: str, field: str = "programme_id") -> dict:
    programme_id = _uuid_or_404(programme_id, "programme", field)
    row = session.execute(select(orm.programmes).where(orm.programmes.c.id == programme_id)).mappings().first()
    if row is None:
        raise NotFound("programme", programme_id, field=field)
    hub = None
    if row["hub_lao_id"]:
        hub = _lao_out(
            session.execute(select(orm.local_governments).where(orm.local_governments.c.id == row["hub_lao_id"]))
            .mappings()
            .first()
        )
    members = session.execute(
        select(orm.local_governments)
        .join(orm.programme_members, orm.programme_members.c.lao_id == orm.local_governments.c.id)
        .where(orm.programme_members.c.programme_id == programme_id)
        .order_by(orm.local_governments.c.name_th)
    ).mappings()
    funds = session.execute(
        select(orm.programme_funds.c.fund_code, orm.programme_funds.c.agreement_id, orm.programme_funds.c.joined_on)
        .where(orm.programme_funds.c.programme_id == programme_id)
        .order_by(orm.programme_funds.c.fund_code)
    ).mappings()
    return {
        **{key: value for key, value in dict(row).items() if key != "hub_lao_id"},
        "taxonomy": get_taxonomy(session, row["taxonomy_code"]),
        "hub": hub,
        "members": [_lao_out(member) for member in members],
        "funds": [dict(fund) for fund in funds],
    }


def list_programmes(session, filters: dict) -> dict:
    table = orm.programmes
    statement = select(table.c.id).order_by(table.c.created_at, table.c.id)
    if filters.get("province"):
        statement = statement.where(table.c.province == filters["province"])
    if filters.get("kind"):
        statement = statement.where(table.c.kind == filters["kind"])
    return paginate(
        session, statement, filters["page"], filters["per_page"], lambda row: get_programme(session, row["id"])
    )


def sign_agreement(uow, programme_id: str, details: dict) -> dict:
    """Record a signed agreement (MOU); its funds join the programme (FundJoinedProgramme each)."""
    session = uow.session
    programme = get_programme(session, programme_id)
    funds = [_known_fund(session, code, field=f"fund_codes.{i}") for i, code in enumerate(details["fund_codes"])]
    if len({fund.code for fund in funds}) != len(funds):
        raise InvalidInput({"fund_codes": ["Each fund appears once."]})
    agreement_id, now = new_id(), utcnow()
    session.execute(
        orm.agreements.insert().values(
            id=agreement_id,
            programme_id=programme["id"],
            title=details["title"],
            signed_on=details["signed_on"],
            place=details["place"],
            parties=list(details["parties"]),
            recorded_at=now,
        )
    )
    joined = []
    for fund in funds:
        key = {"programme_id": programme["id"], "fund_code": fund.code}
        if _insert_missing(
            session, orm.programme_funds, key, {"agreement_id": agreement_id, "joined_on": details["signed_on"]}
        ):
            joined.append(fund)
            uow.publish(
                "FundJoinedProgramme",
                {
                    **fund.place(),
                    "programme_id": programme["id"],
                    "programme_name": programme["name_th"],
                    "programme_kind": programme["kind"],
                    "taxonomy_code": programme["taxonomy_code"],
                    "agreement_id": agreement_id,
                    "joined_on": details["signed_on"].isoformat(),
                },
                subject=fund.code,
            )
    agreement = get_agreement(session, agreement_id)
    uow.publish(
        "AgreementSigned",
        {
            "agreement_id": agreement_id,
            "programme_id": programme["id"],
            "programme_name": programme["name_th"],
            "programme_kind": programme["kind"],
            "title": details["title"],
            "signed_on": details["signed_on"].isoformat(),
            "place": details["place"],
            "parties": list(details["parties"]),
            "funds": [fund.place() for fund in funds],
            "recorded_at": now.isoformat(),
        },
        subject=agreement_id,
    )
    return {**agreement, "newly_joined": [fund.code for fund in joined]}


def get_agreement(session, agreement_id: str) -> dict:
    row = session.execute(select(orm.agreements).where(orm.agreements.c.id == agreement_id)).mappings().first()
    if row is None:
        raise NotFound("agreement", agreement_id, field="agreement_id")
    codes = session.execute(
        select(orm.programme_funds.c.fund_code)
        .where(orm.programme_funds.c.agreement_id == agreement_id)
        .order_by(orm.programme_funds.c.fund_code)
    ).scalars()
    return {**dict(row), "fund_codes": list(codes)}


def list_agreements(session, programme_id: str) -> dict:
    programme = get_programme(session, programme_id)
    ids = session.execute(
        select(orm.agreements.c.id)
        .where(orm.agreements.c.programme_id == programme["id"])
        .order_by(orm.agreements.c.signed_on)
    ).scalars()
    return {"items": [get_agreement(session, agreement_id) for agreement_id in ids]}


# ------------------------------------------------------------------ plans


def create_plan(uow, details: dict) -> dict:
    session = uow.session
    details = {**details, "programme_id": str(details["programme_id"])}
    fund = _known_fund(session, details["fund_code"])
    domain.check_fiscal_year(details["fiscal_year"], today())
    try:
        programme = get_programme(session, details["programme_id"])
    except NotFound:
        raise InvalidInput({"programme_id": [f"Programme {details['programme_id']} does not exist."]}) from None
    if fund.code not in {member["fund_code"] for member in programme["funds"]}:
        raise InvalidInput({"fund_code": [f"Fund {fund.code} has not joined the programme (no agreement)."]})
    issues = [issue["code"] for issue in programme["taxonomy"]["issues"]]
    plan = domain.new_plan(new_id(), details, issues, new_id)
    taken = session.execute(
        select(orm.plans.c.id).where(
            orm.plans.c.fund_code == plan.fund_code,
            orm.plans.c.programme_id == plan.programme_id,
            orm.plans.c.issue == plan.issue,
            orm.plans.c.fiscal_year == plan.fiscal_year,
        )
    ).first()
    if taken:
        raise InvalidInput(
            {"issue": [f"The fund already has a plan for this issue in {plan.fiscal_year} ({taken.id})."]}
        )
    session.execute(
        orm.plans.insert().values(
            id=plan.id,
            fund_code=plan.fund_code,
            programme_id=plan.programme_id,
            issue=plan.issue,
            fiscal_year=plan.fiscal_year,
            situation=plan.situation,
            objectives=plan.objectives,
            status=plan.status,
            created_at=utcnow(),
        )
    )
    for position, indicator in enumerate(plan.indicators):
        session.execute(
            orm.plan_indicators.insert().values(
                id=indicator.id,
                plan_id=plan.id,
                position_no=position,
                name=indicator.name,
                unit=indicator.unit,
                baseline=indicator.baseline,
                target=indicator.target,
            )
        )
    return plan_details(session, plan.id)


def _load_plan(session, plan_id: str) -> Plan:
    plan_id = _uuid_or_404(plan_id, "plan", "plan_id")
    row = session.execute(select(orm.plans).where(orm.plans.c.id == plan_id)).mappings().first()
    if row is None:
        raise NotFound("plan", plan_id, field="plan_id")
    indicators = session.execute(
        select(orm.plan_indicators)
        .where(orm.plan_indicators.c.plan_id == plan_id)
        .order_by(orm.plan_indicators.c.position_no)
    ).mappings()
    return Plan(
        id=row["id"],
        fund_code=row["fund_code"],
        programme_id=row["programme_id"],
        issue=row["issue"],
        fiscal_year=row["fiscal_year"],
        situation=row["situation"],
        objectives=list(row["objectives"]),
        indicators=[
            domain.Indicator(item["id"], item["name"], item["unit"], item["baseline"], item["target"])
            for item in indicators
        ],
        status=row["status"],
        approved_on=row["approved_on"],
        approved_by=row["approved_by"],
        meeting_ref=row["meeting_ref"],
    )


def get_plan(session, plan_id: str) -> dict:
    """The plan as the projects service reads it (agreed shape)."""
    plan = _load_plan(session, plan_id)
    return {
        "id": plan.id,
        "fund_code": plan.fund_code,
        "fiscal_year": plan.fiscal_year,
        "issue": plan.issue,
        "programme_id": plan.programme_id,
        "status": plan.status,
        "indicators": [_indicator_out(indicator) for indicator in plan.indicators],
    }


def _indicator_out(indicator) -> dict:
    return {
        "id": indicator.id,
        "name": indicator.name,
        "unit": indicator.unit,
        "baseline": indicator.baseline,
        "target": indicator.target,
    }


def plan_details(session, plan_id: str, on: date | None = None) -> dict:
    plan = _load_plan(session, plan_id)
    return _plan_out(plan, on or today())


def _plan_out(plan: Plan, on: date) -> dict:
    return {
        "id": plan.id,
        "fund_code": plan.fund_code,
        "programme_id": plan.programme_id,
        "issue": plan.issue,
        "fiscal_year": plan.fiscal_year,
        "situation": plan.situation,
        "objectives": plan.objectives,
        "indicators": [_indicator_out(indicator) for indicator in plan.indicators],
        "status": plan.status,
        "approved_on": plan.approved_on,
        "approved_by": plan.approved_by,
        "meeting_ref": plan.meeting_ref,
        "approval_deadline": domain.plan_approval_deadline(plan.fiscal_year),
        "late": plan.late(on),
    }


def approve_plan(uow, plan_id: str, details: dict) -> dict:
    session = uow.session
    plan = _load_plan(session, plan_id)
    approved = plan.approve(details["approved_on"], details["approved_by"], details["meeting_ref"])
    session.execute(
        orm.plans.update()
        .where(orm.plans.c.id == plan.id, orm.plans.c.status == "draft")
        .values(
            status=approved.status,
            approved_on=approved.approved_on,
            approved_by=approved.approved_by,
            meeting_ref=approved.meeting_ref,
        )
    )
    fund = _fund(session, plan.fund_code)
    programme = get_programme(session, plan.programme_id)
    issue = next(item for item in programme["taxonomy"]["issues"] if item["code"] == plan.issue)
    uow.publish(
        "PlanApproved",
        {
            "plan_id": plan.id,
            **fund.place(),
            "programme_id": plan.programme_id,
            "programme_name": programme["name_th"],
            "taxonomy_code": programme["taxonomy_code"],
            "issue": plan.issue,
            "issue_name": issue["name_th"],
            "fiscal_year": plan.fiscal_year,
            "approved_on": approved.approved_on.isoformat(),
            "approved_at": utcnow().isoformat(),
            "approved_by": approved.approved_by,
            "meeting_ref": approved.meeting_ref or "",
            "late": approved.late(today()),
            "indicators": [_indicator_out(indicator) for indicator in approved.indicators],
        },
        subject=plan.id,
    )
    return _plan_out(approved, today())


def list_plans(session, filters: dict) -> dict:
    table = orm.plans
    statement = select(table.c.id).join(orm.funds, orm.funds.c.code == table.c.fund_code)
    statement = _place_filters(statement, orm.funds, filters)
    for name in ("fund_code", "fiscal_year", "status"):
        if filters.get(name) is not None:
            statement = statement.where(table.c[name] == filters[name])
    if filters.get("programme_id") is not None:
        statement = statement.where(table.c.programme_id == str(filters["programme_id"]))
    if filters.get("late") is not None:
        # late: still a draft after 31 December of its fiscal year, or approved after it
        on = today()
        years = session.execute(select(table.c.fiscal_year).distinct()).scalars().all()
        conditions = []
        for year in years:
            deadline = domain.plan_approval_deadline(year)
            late_here = table.c.approved_on > deadline
            if on > deadline:
                late_here = late_here | (table.c.status == "draft")
            conditions.append((table.c.fiscal_year == year) & late_here)
        late = or_(*conditions) if conditions else false()
        statement = statement.where(late if filters["late"] else ~late)
    statement = statement.order_by(table.c.fiscal_year.desc(), table.c.fund_code, table.c.issue)
    return paginate(
        session, statement, filters["page"], filters["per_page"], lambda row: plan_details(session, row["id"])
    )
